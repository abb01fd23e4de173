import Store
import Text

/// How the spans of a spans task fared against the tokenizer's tokens.
public struct SpanCounts: Sendable, Hashable, Codable {
    /// Spans read.
    public var spans = 0
    /// On token boundaries: every token is wholly inside or wholly outside the span.
    public var aligned = 0
    /// Not on token boundaries, widened to the tokens they touch (`unaligned: expand`).
    public var expanded = 0
    /// Not on token boundaries and left out (`unaligned: drop`).
    public var dropped = 0
    /// Left out because they share a token with an earlier span of the same record.
    public var overlapping = 0
    /// Left out because they cover no token (only whitespace or dropped characters).
    public var noTokens = 0
    /// Left out because they are empty (`start == end`: SemEval's `target="NULL" from="0" to="0"`
    /// marks an opinion without a target that way).
    public var empty = 0
    /// Left out as exact repeats (same offsets, same label) of an earlier span of the record.
    public var duplicates = 0
    /// Left out because an earlier span of the record has the same offsets and another label
    /// (`duplicates: first`; with `error` such a record is bad).
    public var conflicting = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case spans, aligned, expanded, dropped, overlapping, empty, duplicates, conflicting
        case noTokens = "no_tokens"
    }

    public static func += (a: inout SpanCounts, b: SpanCounts) {
        a.spans += b.spans; a.aligned += b.aligned; a.expanded += b.expanded
        a.dropped += b.dropped; a.overlapping += b.overlapping; a.noTokens += b.noTokens
        a.empty += b.empty; a.duplicates += b.duplicates; a.conflicting += b.conflicting
    }
}

/// A span that did not go into the tags as it was written: widened to token boundaries, or left
/// out. Stored per source (`span_alignments`) so that `mtl-prep stats --alignment` can list them.
public struct AlignmentEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case expanded, dropped, overlapping, noTokens = "no_tokens", conflicting
    }
    public var kind: Kind
    /// The span as read (offsets in the task's unit) and its label.
    public var start: Int, end: Int, label: String
    /// `expanded`: the scalar range of the tokens it now covers; nil for spans left out.
    public var stored: Range<Int>?
}

/// Turns character spans into one tag per token (BIO or BIOES) over a tokenizer's tokens,
/// using the tokens' offsets into the ORIGINAL text.
public enum SpanAligner {
    /// One span as read: `[start, end)` in `unit`, and its label.
    public struct Span: Sendable, Hashable {
        /// `[start, end)` in the task's unit; `label` without a B-/I- prefix.
        public var start: Int, end: Int, label: String
        public init(start: Int, end: Int, label: String) { self.start = start; self.end = end; self.label = label }
    }

    /// The tags (`O`, `B-x`, `I-x`, and for BIOES `E-x`, `S-x`) of every token.
    /// Throws `invalidSpan` at `locator` for a span that ends before it starts or is out of the
    /// text's range, and (`duplicates: .error`) for two spans with the same offsets and
    /// different labels. Empty spans and exact repeats are left out and counted.
    public static func tags(locator: RecordLocator, text: String, tokens: [Token], spans: [Span], unit: TaskMapping.SpanUnit,
                            scheme: TagScheme, unaligned: TaskMapping.UnalignedPolicy,
                            duplicates: TaskMapping.DuplicatePolicy = .error,
                            counts: inout SpanCounts) throws(ImportError) -> [String] {
        var events: [AlignmentEvent] = []
        return try tags(locator: locator, text: text, tokens: tokens, spans: spans, unit: unit, scheme: scheme, unaligned: unaligned,
                        duplicates: duplicates, counts: &counts, events: &events)
    }

    /// As above, also appending to `events` every span not stored as written.
    public static func tags(locator: RecordLocator, text: String, tokens: [Token], spans: [Span], unit: TaskMapping.SpanUnit,
                            scheme: TagScheme, unaligned: TaskMapping.UnalignedPolicy,
                            duplicates: TaskMapping.DuplicatePolicy = .error,
                            counts: inout SpanCounts, events: inout [AlignmentEvent]) throws(ImportError) -> [String] {
        var tags = [String](repeating: "O", count: tokens.count)
        guard !spans.isEmpty else { return tags }
        // Offsets compared in scalars, or in UTF-8 bytes for unit utf8.
        let useUTF8 = unit == .utf8
        let length = useUTF8 ? text.utf8.count : text.unicodeScalars.count
        let utf16Length = unit == .utf16 ? text.utf16.count : 0
        var taken = [Bool](repeating: false, count: tokens.count)
        var seen: [SIMD2<Int>: Int] = [:]   // offsets → the first span with them
        for (n, span) in spans.enumerated() {
            counts.spans += 1
            var s = span.start, e = span.end
            let limit = unit == .utf16 ? utf16Length : length
            guard s >= 0, e >= s, e <= limit else {
                throw ImportError(.invalidSpan, locator, "span \(n + 1) [\(s), \(e)) '\(span.label)' is empty or outside the text (\(limit) \(unit.rawValue))")
            }
            if e == s { counts.empty += 1; continue }   // an empty span marks "no target": not a bad record
            if let m = seen[SIMD2(s, e)] {
                if spans[m].label == span.label { counts.duplicates += 1; continue }
                guard duplicates == .first else {
                    throw ImportError(.invalidSpan, locator, "spans \(m + 1) and \(n + 1) [\(s), \(e)) have different labels '\(spans[m].label)' and '\(span.label)' (duplicate spans policy: error; --duplicate-spans first keeps the first)")
                }
                counts.conflicting += 1
                events.append(AlignmentEvent(kind: .conflicting, start: s, end: e, label: span.label, stored: nil))
                continue
            }
            seen[SIMD2(s, e)] = n
            if unit == .utf16 {
                guard let a = scalarOffset(utf16: s, in: text), let b = scalarOffset(utf16: e, in: text) else {
                    throw ImportError(.invalidSpan, locator, "span \(n + 1) [\(span.start), \(span.end)) splits a UTF-16 surrogate pair")
                }
                s = a; e = b
            }
            var first = -1, last = -1
            for (i, t) in tokens.enumerated() {
                let ts = Int(useUTF8 ? t.utf8Start : t.scalarStart), te = Int(useUTF8 ? t.utf8End : t.scalarEnd)
                if ts >= e { break }
                if te > s && te > ts { if first < 0 { first = i }; last = i }
            }
            guard first >= 0 else {
                counts.noTokens += 1
                events.append(AlignmentEvent(kind: .noTokens, start: span.start, end: span.end, label: span.label, stored: nil))
                continue
            }
            let fs = Int(useUTF8 ? tokens[first].utf8Start : tokens[first].scalarStart)
            let le = Int(useUTF8 ? tokens[last].utf8End : tokens[last].scalarEnd)
            let partial = fs < s || le > e
            if partial && unaligned == .drop {
                counts.dropped += 1
                events.append(AlignmentEvent(kind: .dropped, start: span.start, end: span.end, label: span.label, stored: nil))
                continue
            }
            if taken[first...last].contains(true) {
                counts.overlapping += 1
                events.append(AlignmentEvent(kind: .overlapping, start: span.start, end: span.end, label: span.label, stored: nil))
                continue
            }
            if partial {
                counts.expanded += 1
                events.append(AlignmentEvent(kind: .expanded, start: span.start, end: span.end, label: span.label,
                                             stored: Int(tokens[first].scalarStart)..<Int(tokens[last].scalarEnd)))
            } else {
                counts.aligned += 1
            }
            for i in first...last {
                taken[i] = true
                let prefix: String
                if scheme == .bioes {
                    prefix = first == last ? "S-" : i == first ? "B-" : i == last ? "E-" : "I-"
                } else {
                    prefix = i == first ? "B-" : "I-"
                }
                tags[i] = prefix + span.label
            }
        }
        return tags
    }

    /// The scalar offset of a UTF-16 offset, nil inside a surrogate pair.
    static func scalarOffset(utf16 offset: Int, in text: String) -> Int? {
        var units = 0, scalars = 0
        for scalar in text.unicodeScalars {
            if units == offset { return scalars }
            if units > offset { return nil }
            units += scalar.utf16.count
            scalars += 1
        }
        return units == offset ? scalars : nil
    }
}
