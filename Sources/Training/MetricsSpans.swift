import Foundation

// Chunk (span) evaluation as conlleval and seqeval's default mode count it. Where the two
// disagree this follows seqeval, except for tags without a prefix:
// - conlleval.pl (2004) knows no S- prefix and does not end a chunk at E- followed by B- of
//   the same type, so on BIOES it merges S-X S-X and E-X B-X into one chunk; seqeval ends a
//   chunk after every E-/S-, and so does this file (BIOES then scores exactly as its BIO source).
// - seqeval reads the first character of any tag as its prefix ("PER" is prefix P, type "ER",
//   and "ORG" counts as O); conlleval without -r reads "PER" as a prefix with no type, and with
//   -r as B-PER. Here an unprefixed tag is I-PER (the IO reading: a run of equal tags is one chunk).

/// A labelled chunk [start, end) over token positions.
public struct TagSpan: Sendable, Codable, Hashable {
    public var type: String
    public var start: Int
    public var end: Int

    public init(type: String, start: Int, end: Int) {
        self.type = type; self.start = start; self.end = end
    }
}

public enum SpanDecoding {
    /// Chunks of a tag sequence the way conlleval and seqeval's default (non-strict) mode read them:
    /// prefixes B, I, E, S (and O); a chunk starts at B-/S-, at an I-/E- after O, or at any change of type;
    /// it ends before O, B-, S-, a type change, and after E-/S-. Works for BIO, IOB1 and BIOES tags.
    /// Tags without a prefix other than "O" (e.g. "PER") are treated as I-PER; so is a tag whose text
    /// before the first "-" is not a known prefix (its whole text is the type). A bare prefix ("B",
    /// "I-") has type "_", as in seqeval; "O-anything" is outside.
    public static func spans(_ tags: [String]) -> [TagSpan] {
        var spans: [TagSpan] = []
        var open: (type: String, start: Int)?
        func close(at end: Int) {
            if let chunk = open { spans.append(TagSpan(type: chunk.type, start: chunk.start, end: end)) }
            open = nil
        }
        for (position, tag) in tags.enumerated() {
            let (prefix, type) = parse(tag)
            if let chunk = open, prefix == .outside || prefix == .begin || prefix == .single || type != chunk.type {
                close(at: position)
            }
            if prefix != .outside, open == nil { open = (type, position) }
            if prefix == .end || prefix == .single { close(at: position + 1) }
        }
        close(at: tags.count)
        return spans
    }

    enum Prefix: String { case begin = "B", inside = "I", end = "E", single = "S", outside = "O" }

    static func parse(_ tag: String) -> (prefix: Prefix, type: String) {
        let parts = tag.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let head = parts.first, let prefix = Prefix(rawValue: String(head)) else { return (.inside, tag) }
        if prefix == .outside { return (.outside, "") }
        let type = parts.count > 1 && !parts[1].isEmpty ? String(parts[1]) : "_"
        return (prefix, type)
    }
}

/// Token accuracy and chunk precision/recall/F1, overall and per type, as conlleval / seqeval (default mode) count them.
///
/// Each `add` is one sentence: chunks never cross sentences, as in conlleval (a blank line is an
/// O) and seqeval (which joins sentences with an "O" between them). A chunk is correct when a
/// predicted chunk has the same type, start and end.
public struct SpanMetrics: Sendable {
    private var countsByType: [String: MetricCounts] = [:]
    private var tokens = 0
    private var correctTokens = 0

    public init() {}

    /// Records one sentence; `gold` and `predicted` must have the same length.
    public mutating func add(gold: [String], predicted: [String]) {
        precondition(gold.count == predicted.count, "gold has \(gold.count) tags, predicted \(predicted.count)")
        tokens += gold.count
        // conlleval and seqeval both count every token, O included, comparing whole tags.
        correctTokens += zip(gold, predicted).filter { $0 == $1 }.count
        let goldSpans = SpanDecoding.spans(gold), predictedSpans = SpanDecoding.spans(predicted)
        let predictedSet = Set(predictedSpans)
        for span in goldSpans {
            countsByType[span.type, default: MetricCounts()].gold += 1
            if predictedSet.contains(span) { countsByType[span.type, default: MetricCounts()].correct += 1 }
        }
        for span in predictedSpans { countsByType[span.type, default: MetricCounts()].predicted += 1 }
    }

    /// Adds the counts of `other` (another shard of the same evaluation).
    public mutating func merge(_ other: SpanMetrics) {
        countsByType.merge(other.countsByType, uniquingKeysWith: +)
        tokens += other.tokens
        correctTokens += other.correctTokens
    }

    public func report() -> SpanReport {
        // Every type seen in gold or predictions, in Python's sorted order (seqeval's target_names).
        let types = countsByType.keys.sorted(by: MetricMath.codePointOrder)
        let counts = types.map { countsByType[$0] ?? MetricCounts() }
        let perType = zip(types, counts).map { $1.scores(label: $0) }
        let overall = counts.reduce(MetricCounts(), +)
        return SpanReport(tokens: tokens, correctTokens: correctTokens, tokenAccuracy: MetricMath.ratio(correctTokens, tokens),
                          goldSpans: overall.gold, predictedSpans: overall.predicted, correctSpans: overall.correct,
                          precision: overall.precision, recall: overall.recall, f1: overall.f1,
                          perType: perType, perTypePredicted: counts.map(\.predicted), micro: overall.micro,
                          macro: MetricMath.macro(perType), weighted: MetricMath.weighted(perType))
    }
}

/// Chunk scores as conlleval prints them and seqeval's classification_report returns them.
public struct SpanReport: Sendable, Codable, Equatable {
    public var tokens: Int
    /// Tokens whose predicted tag equals the gold tag (O included).
    public var correctTokens: Int
    public var tokenAccuracy: Double
    public var goldSpans: Int, predictedSpans: Int, correctSpans: Int
    public var precision: Double, recall: Double, f1: Double
    /// Sorted by type name (code point order); support = gold spans of the type. Types only
    /// predicted are included with support 0.
    public var perType: [ClassScores]
    /// Predicted spans of each type, parallel to `perType` (conlleval's "found" column).
    public var perTypePredicted: [Int]
    /// Same as overall.
    public var micro: AverageScores
    /// Unweighted over the types in gold ∪ predictions (seqeval's "macro avg").
    public var macro: AverageScores
    /// Weighted by gold spans (seqeval's "weighted avg").
    public var weighted: AverageScores

    /// conlleval's report: "processed N tokens with M phrases; found: K phrases; correct: C.", the
    /// overall line, one line per type (ending with the type's predicted count), then seqeval's
    /// macro and weighted averages (ending with their support).
    public func table() -> String {
        func percent(_ value: Double) -> String { String(format: "%6.2f", 100 * value) }
        func scores(_ p: Double, _ r: Double, _ f: Double) -> String {
            "precision: \(percent(p))%; recall: \(percent(r))%; FB1: \(percent(f))"
        }
        func named(_ name: String) -> String { ScoreTable.padded(name, 17) + ": " }
        var text = "processed \(tokens) tokens with \(goldSpans) phrases; found: \(predictedSpans) phrases; correct: \(correctSpans).\n"
        if tokens > 0 { text += "accuracy: \(percent(tokenAccuracy))%; " + scores(precision, recall, f1) + "\n" }
        for (row, found) in zip(perType, perTypePredicted) {
            text += named(row.label) + scores(row.precision, row.recall, row.f1) + "  \(found)\n"
        }
        for (name, average) in [("macro avg", macro), ("weighted avg", weighted)] {
            text += named(name) + scores(average.precision, average.recall, average.f1) + "  \(average.support)\n"
        }
        return text
    }
}
