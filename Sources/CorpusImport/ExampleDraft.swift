import Store
import Text

/// The labels of one record for one task, by name (ids are assigned by the writer).
enum LabelValue: Sendable, Hashable {
    case label(String)
    case set([String])
    case tags([String])
    /// regression: the value.
    case number(Float)
    /// seq2seq: the target's normalized tokens (the ids), its text and token blob (stored whole).
    case target(tokens: [String], text: String, blob: [UInt8])
}

/// A chunk of records made ready for the store by a worker, packed so that it crosses to the
/// writer thread as a few arrays (no per-example heap objects to free on the writer) and the
/// writer binds its bytes to SQLite in place.
struct PackedChunk: Sendable {
    /// One example: byte ranges in `bytes` (group: an empty range with `hasGroup == false` when
    /// there is no group key) and its range in `annotations`.
    typealias Row = ImportSession.RawExample
    struct Annotation: Sendable {
        /// Index of the task in the plan.
        var task: Int
        /// Range in `labelRefs`.
        var refs: Range<Int>
        /// seq2seq: the target text and token blob in `bytes` (empty otherwise).
        var targetText: Range<Int> = 0..<0
        var targetTokens: Range<Int> = 0..<0
    }
    enum Item: Sendable {
        case example(Int)      // index in rows
        case reject(ImportError)
        case fatal(ImportError)
    }
    /// Locators, texts, token blobs (layout 2) and group keys, concatenated.
    var bytes: [UInt8] = []
    var rows: [Row] = []
    var items: [Item] = []
    var annotations: [Annotation] = []
    /// Per annotation: indexes into `labelNames[task]` (chunk-local, first-seen order); the
    /// writer maps them to the store's label ids in place.
    var labelRefs: [Int32] = []
    /// Per task: the distinct label names of this chunk, in first-seen order.
    var labelNames: [[String]]
    /// Per task: span alignment counts over the chunk's examples.
    var spanCounts: [SpanCounts]
    /// Per seq2seq task: targets cut at `max_length`.
    var truncatedTargets: [Int]
    /// Spans not stored as written, with the row (index in `rows`) and task they belong to.
    var alignments: [(row: Int, task: Int, event: AlignmentEvent)] = []
    var bytesRead: Int64 = 0

    init(tasks: Int) {
        labelNames = Array(repeating: [], count: tasks)
        spanCounts = Array(repeating: SpanCounts(), count: tasks)
        truncatedTargets = Array(repeating: 0, count: tasks)
    }
}

/// Per-thread state of the import workers: a text processor, a token blob builder and
/// scratch space reused from record to record, so that a record costs no allocation of its own.
final class DraftBuilder {
    let plan: ReaderPlan
    let processor: TextProcessor
    private var blob = TokenBlob.Builder(capacity: 256)
    private let fixedLabels: [Set<String>?]
    /// Whether some task needs the tokens as values (tagging and spans tasks check or align them).
    private let labelsNeedTokens: Bool
    private let allowsEmptyText: Bool
    /// XML with a tagging task: the text field's node-set is the token list (`<w pos="n">我</w>`).
    private let xmlTokens: Bool
    /// A text joined from parts (`text_also`, `join`): where each part starts in it and how long
    /// it is, in every span unit (nil: the record lacks the part, and it was left out).
    private struct Part { var start: (scalars: Int, utf16: Int, utf8: Int); var length: (scalars: Int, utf16: Int, utf8: Int) }
    private var parts: [Part?] = []
    /// Per task: the text part a spans task's offsets count in (index into `Mapping.textFields`).
    private let spanPart: [Int]
    /// This record's labels, validated before any is interned (a rejected record must not leave
    /// label names behind).
    private var labels: [LabelValue?] = []
    private var spanCounts: [SpanCounts] = []
    /// This record's alignment events per task (kept only if the record is).
    private var alignmentEvents: [[AlignmentEvent]] = []
    /// Chunk-local label interning (per task), reused across chunks.
    private var interned: [[String: Int32]] = []
    /// Per task: the compiled `count` pattern (counted classification labels only).
    private let countPatterns: [Regex<AnyRegexOutput>?]
    /// Per task: the target pipeline's processor (seq2seq tasks only).
    private let targetProcessors: [TextProcessor?]
    private var truncated: [Bool] = []

    /// `ReaderLimits.tokensPerExample` (the limit) and the whole set (for its error).
    private let limits: ReaderLimits

    init(plan: ReaderPlan, pipeline: TextPipeline, limits: ReaderLimits = ReaderLimits()) throws {
        self.plan = plan
        self.limits = limits
        processor = try pipeline.makeProcessor()
        fixedLabels = plan.tasks.map { $0.mapping.labels.map(Set.init) }
        labelsNeedTokens = plan.tasks.contains { $0.mapping.kind == .tagging || $0.mapping.kind == .spans }
        allowsEmptyText = plan.mapping.allowEmptyText == true
        xmlTokens = plan.mapping.format == .xml && plan.tasks.contains { $0.mapping.kind == .tagging }
        let textFields = plan.mapping.textFields
        spanPart = plan.tasks.map { t in t.mapping.textPart.flatMap { textFields.firstIndex(of: $0) } ?? 0 }
        countPatterns = try plan.tasks.map { t in try t.mapping.count.map { try Regex($0) } }
        targetProcessors = try plan.tasks.map { t in
            guard t.mapping.kind == .seq2seq else { return nil }
            return try TaskMapping.targetPipeline(t.mapping).makeProcessor()
        }
    }

    /// Makes a packed chunk of records (in order) for the writer.
    func pack(_ chunk: RecordChunk) -> PackedChunk {
        let taskCount = plan.tasks.count
        var out = PackedChunk(tasks: taskCount)
        out.bytesRead = chunk.bytesRead
        out.items.reserveCapacity(chunk.items.count)
        out.rows.reserveCapacity(chunk.items.count)
        if interned.count != taskCount { interned = Array(repeating: [:], count: taskCount) }
        for k in 0..<taskCount { interned[k].removeAll(keepingCapacity: true) }
        for item in chunk.items {
            switch item {
            case .unreadable(let e, let fatal):
                out.items.append(fatal ? .fatal(e) : .reject(e))
            case .record(let r):
                let mark = out.bytes.count
                do throws(ImportError) {
                    try append(r, to: &out)
                    out.items.append(.example(out.rows.count - 1))
                } catch {
                    out.bytes.removeSubrange(mark...)
                    out.items.append(.reject(error))
                }
            }
        }
        return out
    }

    /// Appends one record's example to `out`: locator, text and token blob to `bytes`, then (once
    /// everything is known to be valid) its labels and row. On error only `bytes` has grown.
    private func append(_ record: RawRecord, to out: inout PackedChunk) throws(ImportError) {
        let loc = record.locator
        let locStart = out.bytes.count
        Self.appendLocator(loc, to: &out.bytes)
        let textStart = out.bytes.count
        var blobRange = 0..<0
        var normHash: Int64 = 0
        var tokenized: TokenizedText?
        switch try text(of: record) {
        case .text(let original):
            out.bytes.append(contentsOf: original.utf8)
            var text = original
            do {
                try text.withUTF8 { utf8 in
                    try processor.withTokens(utf8: utf8) { view in
                        if view.isEmpty && !allowsEmptyText { throw emptyText(loc) }
                        if view.count > limits.tokensPerExample { throw limits.tooManyTokens(view.count, loc) }
                        blobRange = appendBlob(view, to: &out.bytes)
                        normHash = StableHash.fnv1a64(view.normalizedUTF8)
                        if labelsNeedTokens {
                            tokenized = TokenizedText(original: original, normalized: String(decoding: view.normalizedUTF8, as: UTF8.self),
                                                      tokens: view.tokens)
                        }
                    }
                }
            } catch {
                throw Self.importError(error, loc)
            }
        case .words(let words):
            let t: TokenizedText
            do {
                switch record.sentence {
                case .success(let s)?: t = try processor.tokenize(s.text, words: words, at: s.words)
                case .failure(let e)?: throw e
                case nil: t = try processor.tokenize(pretokenized: words)
                }
            } catch { throw Self.importError(error, loc) }
            if t.tokens.isEmpty && !allowsEmptyText { throw emptyText(loc) }
            if t.tokens.count > limits.tokensPerExample { throw limits.tooManyTokens(t.tokens.count, loc) }
            out.bytes.append(contentsOf: t.original.utf8)
            blob.reset()
            var normalized = t.normalized
            normalized.withUTF8 { n in
                for token in t.tokens {
                    blob.append(Self.span(token), normalizedUTF8: UnsafeBufferPointer(rebasing: n[Int(token.normalizedStart)..<Int(token.normalizedEnd)]))
                }
                normHash = StableHash.fnv1a64(n)
            }
            let blobStart = out.bytes.count
            blob.appendCompact(to: &out.bytes)
            blobRange = blobStart..<out.bytes.count
            tokenized = t
        }
        let textEnd = blobRange.lowerBound

        labels.removeAll(keepingCapacity: true)
        spanCounts.removeAll(keepingCapacity: true)
        truncated.removeAll(keepingCapacity: true)
        if alignmentEvents.count != plan.tasks.count { alignmentEvents = Array(repeating: [], count: plan.tasks.count) }
        for k in alignmentEvents.indices { alignmentEvents[k].removeAll(keepingCapacity: true) }
        for (k, task) in plan.tasks.enumerated() {
            var counts = SpanCounts()
            var cut = false
            labels.append(try label(task, k, record, tokenized, &counts, &cut))
            spanCounts.append(counts)
            truncated.append(cut)
        }
        let groupStart = out.bytes.count
        var hasGroup = false
        if let g = plan.group {
            guard let s = record.fields[g].single else {
                throw ImportError(.missingField, loc, "missing group field '\(fieldName(g))'")
            }
            out.bytes.append(contentsOf: s.utf8)
            hasGroup = true
        }

        // Valid: intern the labels (chunk-local indexes, first-seen order) and add the row.
        let annotationStart = out.annotations.count
        for k in labels.indices {
            guard let label = labels[k] else { continue }
            let refStart = out.labelRefs.count
            var targetText = 0..<0, targetTokens = 0..<0
            switch label {
            case .label(let l): intern(l, task: k, into: &out)
            case .set(let s): for l in s { intern(l, task: k, into: &out) }
            case .tags(let t): for l in t { intern(l, task: k, into: &out) }
            case .number(let v): out.labelRefs.append(Int32(bitPattern: v.bitPattern))   // a value, not a label: never interned
            case .target(let t, let text, let blob):
                for l in t { intern(l, task: k, into: &out) }
                let a = out.bytes.count
                out.bytes.append(contentsOf: text.utf8)
                let b = out.bytes.count
                out.bytes.append(contentsOf: blob)
                targetText = a..<b; targetTokens = b..<out.bytes.count
                if truncated[k] { out.truncatedTargets[k] += 1 }
            }
            out.annotations.append(.init(task: k, refs: refStart..<out.labelRefs.count, targetText: targetText, targetTokens: targetTokens))
            out.spanCounts[k] += spanCounts[k]
        }
        for (k, events) in alignmentEvents.enumerated() {
            for e in events { out.alignments.append((out.rows.count, k, e)) }
        }
        out.rows.append(.init(locator: locStart..<textStart, text: textStart..<textEnd, tokens: blobRange,
                              group: groupStart..<out.bytes.count, hasGroup: hasGroup, normHash: normHash,
                              annotations: annotationStart..<out.annotations.count))
    }

    /// A seq2seq target through its own pipeline: its normalized tokens (cut at `max_length`, or
    /// the record refused, as `too_long` says) and its token blob with offsets into the text.
    private func target(_ text: String, task: ReaderPlan.TaskSlots, k: Int, loc: RecordLocator,
                        truncated: inout Bool) throws(ImportError) -> LabelValue {
        guard let processor = targetProcessors[k] else {
            throw ImportError(.invalidMapping, loc, "task '\(task.name)' has no target pipeline")
        }
        var tokens: [String] = []
        var spans: [TokenSpan] = []
        var utf8 = text
        do {
            try utf8.withUTF8 { bytes in
                try processor.withTokens(utf8: bytes) { view in
                    tokens.reserveCapacity(view.count)
                    for i in 0..<view.count {
                        let n = view.normalizedUTF8(of: i)
                        tokens.append(String(decoding: n, as: UTF8.self))
                        spans.append(Self.span(view[i]))
                    }
                }
            }
        } catch {
            throw Self.importError(error, loc)
        }
        if tokens.isEmpty {
            throw ImportError(.emptyValue, loc, "task '\(task.name)': empty target (field '\(fieldName(task.slots[0]))' has no tokens)")
        }
        if let limit = task.mapping.maxLength, tokens.count > limit {
            if task.mapping.tooLong == .reject {
                throw ImportError(.invalidLabel, loc, "task '\(task.name)': target of \(tokens.count) tokens is longer than max_length \(limit) (too_long: truncate keeps its first \(limit))")
            }
            tokens.removeSubrange(limit...); spans.removeSubrange(limit...)
            truncated = true
        }
        return .target(tokens: tokens, text: text, blob: TokenBlob.encodeCompact(spans: spans, tokens: tokens))
    }

    private func intern(_ name: String, task k: Int, into out: inout PackedChunk) {
        // Most tasks have a handful of labels: comparing a few (small) strings beats hashing one.
        let names = out.labelNames[k]
        if names.count <= 8 {
            for (i, known) in names.enumerated() where known == name { out.labelRefs.append(Int32(i)); return }
        } else if let i = interned[k][name] {
            out.labelRefs.append(i); return
        }
        let i = Int32(out.labelNames[k].count)
        interned[k][name] = i
        out.labelNames[k].append(name)
        out.labelRefs.append(i)
    }

    /// Writes the token blob (layout 2) straight from the processor's scratch buffers; text that
    /// normalization left unchanged stores its tokens as slices of itself (no string area).
    private func appendBlob(_ view: BorrowedTokens, to bytes: inout [UInt8]) -> Range<Int> {
        let start = bytes.count
        if view.isUnchanged {
            TokenBlob.appendCompactSlices(count: view.count, to: &bytes) { Self.span(view[$0]) }
        } else {
            Self.fill(&blob, view)   // one access to the builder for the whole text, not one per token
            blob.appendCompact(to: &bytes)
        }
        return start..<bytes.count
    }

    private static func fill(_ blob: inout TokenBlob.Builder, _ view: BorrowedTokens) {
        blob.reset()
        for i in 0..<view.count { blob.append(span(view[i]), normalizedUTF8: view.normalizedUTF8(of: i)) }
    }

    private static func span(_ t: Token) -> TokenSpan {
        TokenSpan(scalarStart: t.scalarStart, scalarEnd: t.scalarEnd, utf8Start: t.utf8Start, utf8End: t.utf8End)
    }

    private func emptyText(_ loc: RecordLocator) -> ImportError {
        ImportError(.emptyText, loc, "empty text in field '\(fieldName(plan.text))' (no tokens; allow_empty_text: true keeps such records)")
    }

    private static func importError(_ error: any Error, _ loc: RecordLocator) -> ImportError {
        if let e = error as? ImportError { return e }
        if let e = error as? TextError { return ImportError(.textPipeline, loc, e.message) }
        return ImportError(.textPipeline, loc, "\(error)")
    }

    private enum TextValue { case text(String), words([String]) }

    /// The parts' values joined with `join` (a node-set's values too); a missing or empty part is
    /// left out with its separator, so that a title without a description is not followed by one.
    private func joinedText(of record: RawRecord) throws(ImportError) -> TextValue {
        let separator = plan.mapping.join ?? " "
        var text = ""
        parts.removeAll(keepingCapacity: true)
        var at = (scalars: 0, utf16: 0, utf8: 0)
        for slot in [plan.text] + plan.textAlso {
            let value = record.fields[slot].strings.joined(separator: separator)
            guard !value.isEmpty else { parts.append(nil); continue }
            if !text.isEmpty {
                text += separator
                at.scalars += separator.unicodeScalars.count; at.utf16 += separator.utf16.count; at.utf8 += separator.utf8.count
            }
            let length = (scalars: value.unicodeScalars.count, utf16: value.utf16.count, utf8: value.utf8.count)
            parts.append(Part(start: at, length: length))
            text += value
            at.scalars += length.scalars; at.utf16 += length.utf16; at.utf8 += length.utf8
        }
        if text.isEmpty {
            let names = plan.mapping.textFields.map { "'\($0)'" }.joined(separator: ", ")
            throw ImportError(.missingField, record.locator, "missing text: none of the text fields \(names) has a value")
        }
        return .text(text)
    }

    private func text(of record: RawRecord) throws(ImportError) -> TextValue {
        if plan.mapping.joinsText { return try joinedText(of: record) }
        let loc = record.locator
        let value = record.fields[plan.text]
        switch value {
        case _ where plan.mapping.format.isCoNLL: return .words(value.strings)
        case .string(let s): return .text(s)
        // A JSON list is the tokens, one element each, whatever the tokenizer: a one-element
        // list went through the tokenizer as text, so ICU split `["粒砂"]` in two and
        // `pretokenized` split `["New York"]` at its space (and the tags no longer lined up).
        case .list(let l) where plan.mapping.format == .jsonl && !l.isEmpty: return .words(l)
        // Tags line up with nodes only if every node is one token, a single node too.
        case .list(let l) where xmlTokens && !l.isEmpty: return .words(l)
        case .list(let l) where l.count == 1: return .text(l[0])
        case .missing, .list([]): throw ImportError(.missingField, loc, "missing text field '\(fieldName(plan.text))'")
        case .list(let l): throw ImportError(.invalidMapping, loc, "text field '\(fieldName(plan.text))' matched \(l.count) values, expected one")
        }
    }

    /// Appends `locator.description` as UTF-8 (the common `file:line` without building a String).
    static func appendLocator(_ locator: RecordLocator, to bytes: inout [UInt8]) {
        guard locator.column == nil, locator.recordIndex == nil, let line = locator.line, line >= 0 else {
            bytes.append(contentsOf: locator.description.utf8)
            return
        }
        bytes.append(contentsOf: locator.file.utf8)
        bytes.append(UInt8(ascii: ":"))
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { d in
            var v = line, n = 0
            repeat { d[19 - n] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10; n += 1 } while v > 0
            bytes.append(contentsOf: d[(20 - n)...])
        }
    }

    private func fieldName(_ slot: Int) -> String { plan.fields[slot] }

    private func label(_ task: ReaderPlan.TaskSlots, _ k: Int, _ record: RawRecord, _ tokenized: TokenizedText?,
                       _ counts: inout SpanCounts, _ truncated: inout Bool) throws(ImportError) -> LabelValue? {
        let loc = record.locator
        let optional = task.mapping.optional == true
        let first = record.fields[task.slots[0]]
        func missing() throws(ImportError) -> LabelValue? {
            if optional { return nil }
            throw ImportError(.missingField, loc, "missing field '\(fieldName(task.slots[0]))' (task '\(task.name)')")
        }
        func check(_ name: String) throws(ImportError) {
            if let fixed = fixedLabels[k], !fixed.contains(name) {
                throw ImportError(.invalidLabel, loc, "unknown label '\(name)' for task '\(task.name)' (fixed labels: \(task.mapping.labels!.joined(separator: ", ")))")
            }
        }
        // The pair field's values, one per label, when the task carries one (`label#pair`).
        let pairSlot = task.mapping.kind == .spans ? (task.slots.count > 3 ? task.slots[3] : nil)
                                                   : (task.slots.count > 1 ? task.slots[1] : nil)
        func paired(_ names: [String]) throws(ImportError) -> [String] {
            guard let pairSlot else { return names }
            var pairs = record.fields[pairSlot].strings
            if let sep = task.mapping.separator, !sep.isEmpty, pairs.count == 1, names.count > 1 {
                pairs = pairs[0].split(separator: sep, omittingEmptySubsequences: false).map(String.init)
            }
            guard pairs.count == names.count else {
                throw ImportError(.invalidLabel, loc, "task '\(task.name)': \(names.count) value\(names.count == 1 ? "" : "s") of '\(fieldName(task.slots[task.mapping.kind == .spans ? 2 : 0]))' but \(pairs.count) of its pair '\(fieldName(pairSlot))' (each element needs both)")
            }
            var out: [String] = []
            out.reserveCapacity(names.count)
            for (k, (n, p)) in zip(names, pairs).enumerated() {
                if n.isEmpty { out.append(n); continue }   // left out by the caller, as without a pair
                if p.isEmpty {
                    throw ImportError(.emptyValue, loc, "task '\(task.name)': value \(k + 1) ('\(n)') has an empty pair (field '\(fieldName(pairSlot))')")
                }
                out.append(n + "#" + p)
            }
            return out
        }
        switch task.mapping.kind {
        case .regression:
            if case .missing = first { return try missing() }
            if case .list(let l) = first, l.isEmpty { return try missing() }
            guard let s = first.single else {
                throw ImportError(.invalidLabel, loc, "field '\(fieldName(task.slots[0]))' (task '\(task.name)') has \(first.strings.count) values, expected one number")
            }
            let trimmed = s.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty, optional || plan.mapping.format == .csv || plan.mapping.format == .tsv { return try missing() }
            guard let v = Float(trimmed), v.isFinite else {
                throw ImportError(.invalidLabel, loc, "task '\(task.name)': '\(s)' in field '\(fieldName(task.slots[0]))' is not a finite number")
            }
            return .number(v)
        case .seq2seq:
            if case .missing = first { return try missing() }
            if case .list(let l) = first, l.isEmpty { return try missing() }
            guard let text = first.single else {
                throw ImportError(.invalidLabel, loc, "field '\(fieldName(task.slots[0]))' (task '\(task.name)') has \(first.strings.count) values, expected one target text")
            }
            return try target(text, task: task, k: k, loc: loc, truncated: &truncated)
        case .classification:
            if case .missing = first { return try missing() }
            if case .list(let l) = first, l.isEmpty { return try missing() }   // XPath matched nothing
            guard let s = first.single else {
                throw ImportError(.invalidLabel, loc, "field '\(fieldName(task.slots[0]))' (task '\(task.name)') has \(first.strings.count) values, expected one")
            }
            if s.isEmpty {
                // A CSV cell cannot be absent: empty is how such files say "no label". XML and
                // JSON tell an absent attribute or key from an empty one, and say which.
                // Either way an optional task leaves the record unlabelled.
                if optional || plan.mapping.format == .csv || plan.mapping.format == .tsv { return try missing() }
                throw ImportError(.emptyValue, loc, "field '\(fieldName(task.slots[0]))' (task '\(task.name)') is present but empty; an empty value is not a label (optional: true leaves such records without one)")
            }
            if let pattern = countPatterns[k] { return .label(String(s.matches(of: pattern).count)) }
            let label = try paired([s])[0]
            try check(label)
            return .label(label)
        case .multilabel:
            if case .missing = first { return try missing() }
            var names = first.strings
            if let sep = task.mapping.separator, !sep.isEmpty, names.count == 1 {
                names = names[0].split(separator: sep, omittingEmptySubsequences: pairSlot == nil).map(String.init)
            }
            names = try paired(names).filter { !$0.isEmpty }
            for n in names { try check(n) }
            return .set(names)
        case .tagging:
            if case .missing = first { return try missing() }
            let tags = first.strings
            let tokenCount = tokenized?.tokens.count ?? 0
            guard tags.count == tokenCount else {
                throw ImportError(.tagCountMismatch, loc, "task '\(task.name)' has \(tags.count) tags for \(tokenCount) tokens")
            }
            for t in tags { try check(t) }
            return .tags(tags)
        case .spans:
            let starts = first, ends = record.fields[task.slots[1]], names = record.fields[task.slots[2]]
            if case .missing = starts { return try missing() }
            let s = starts.strings, e = ends.strings, l = names.strings
            guard s.count == e.count, s.count == l.count else {
                throw ImportError(.invalidSpan, loc, "task '\(task.name)': \(s.count) starts, \(e.count) ends and \(l.count) labels")
            }
            let labels = try paired(l)
            var spans: [SpanAligner.Span] = []
            let unit = task.mapping.unit ?? .scalars
            for i in s.indices {
                guard var a = Int(s[i]), var b = Int(e[i]) else {
                    throw ImportError(.invalidSpan, loc, "task '\(task.name)': span offsets '\(s[i])', '\(e[i])' are not integers")
                }
                if plan.mapping.joinsText {
                    // Offsets count in their own field: shift them to where it sits in the joined text.
                    let field = plan.mapping.textFields[spanPart[k]]
                    guard let part = parts[spanPart[k]] else {
                        throw ImportError(.invalidSpan, loc, "task '\(task.name)': span \(i + 1) counts in text field '\(field)', which this record lacks")
                    }
                    let (start, length) = switch unit {
                    case .scalars: (part.start.scalars, part.length.scalars)
                    case .utf16: (part.start.utf16, part.length.utf16)
                    case .utf8: (part.start.utf8, part.length.utf8)
                    }
                    guard a >= 0, b <= length else {
                        throw ImportError(.invalidSpan, loc, "task '\(task.name)': span \(i + 1) [\(a), \(b)) is outside text field '\(field)' (length \(length))")
                    }
                    a += start; b += start
                }
                if l[i].isEmpty {
                    throw ImportError(.emptyValue, loc, "task '\(task.name)': span \(i + 1) has an empty label (field '\(fieldName(task.slots[2]))')")
                }
                try check(labels[i])
                spans.append(.init(start: a, end: b, label: labels[i]))
            }
            let m = task.mapping
            guard let tokenized else { return nil }
            return .tags(try SpanAligner.tags(locator: loc, text: tokenized.original, tokens: tokenized.tokens, spans: spans,
                                              unit: m.unit ?? .scalars, scheme: m.scheme ?? .bio, unaligned: m.unaligned ?? .expand, duplicates: m.duplicates ?? .error,
                                              counts: &counts, events: &alignmentEvents[k]))
        }
    }
}
