import Foundation

// Evaluation metrics that reproduce scikit-learn's classification_report (single-label and
// multilabel) and conlleval / seqeval for chunks (MetricsSpans.swift), so that numbers logged
// here can be compared with published ones.
//
// Every ratio whose denominator is 0 is 0 (scikit-learn's and seqeval's `zero_division=0`):
// precision of a class never predicted, recall of a class never in gold, F1 when both are 0,
// accuracy of nothing. Accumulators keep integer counts only, so `merge` of shards gives a
// report equal (==) to the one of the whole, independent of order.

/// Per-class scores (a row of scikit-learn's classification_report).
public struct ClassScores: Sendable, Codable, Equatable {
    public var label: String
    public var precision, recall, f1: Double
    /// Gold occurrences of the class.
    public var support: Int

    public init(label: String, precision: Double, recall: Double, f1: Double, support: Int) {
        self.label = label; self.precision = precision; self.recall = recall; self.f1 = f1; self.support = support
    }
}

/// Averaged scores (the "micro avg" / "macro avg" / "weighted avg" / "samples avg" rows).
public struct AverageScores: Sendable, Codable, Equatable {
    public var precision, recall, f1: Double
    /// As scikit-learn reports it: the sum of the supports of the classes averaged over.
    public var support: Int

    public init(precision: Double, recall: Double, f1: Double, support: Int) {
        self.precision = precision; self.recall = recall; self.f1 = f1; self.support = support
    }
}

/// True positives, predictions and gold occurrences of one class (or of all classes pooled).
struct MetricCounts: Sendable, Codable, Equatable {
    var correct = 0, predicted = 0, gold = 0

    static func + (a: MetricCounts, b: MetricCounts) -> MetricCounts {
        MetricCounts(correct: a.correct + b.correct, predicted: a.predicted + b.predicted, gold: a.gold + b.gold)
    }
    /// Neither in gold nor predicted: scikit-learn leaves such classes out of its default label set.
    var isAbsent: Bool { predicted == 0 && gold == 0 }

    func scores(label: String) -> ClassScores {
        ClassScores(label: label, precision: precision, recall: recall, f1: f1, support: gold)
    }
    var micro: AverageScores { AverageScores(precision: precision, recall: recall, f1: f1, support: gold) }

    var precision: Double { MetricMath.ratio(correct, predicted) }
    var recall: Double { MetricMath.ratio(correct, gold) }
    /// scikit-learn's form 2·tp / (gold + predicted): one rounding, and 0 exactly when tp is 0.
    var f1: Double { MetricMath.ratio(2 * correct, gold + predicted) }
}

enum MetricMath {
    /// `numerator / denominator`, 0 when the denominator is 0 (`zero_division=0`).
    static func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator == 0 ? 0 : Double(numerator) / Double(denominator)
    }

    /// Unweighted mean of the rows; 0 for no rows (numpy would give NaN).
    static func macro(_ rows: [ClassScores]) -> AverageScores {
        let n = Double(rows.count)
        guard n > 0 else { return AverageScores(precision: 0, recall: 0, f1: 0, support: 0) }
        return AverageScores(precision: rows.map(\.precision).reduce(0, +) / n, recall: rows.map(\.recall).reduce(0, +) / n,
                             f1: rows.map(\.f1).reduce(0, +) / n, support: rows.map(\.support).reduce(0, +))
    }

    /// Mean of the rows weighted by support; 0 when no row has support (as scikit-learn with zero_division=0).
    static func weighted(_ rows: [ClassScores]) -> AverageScores {
        let total = rows.map(\.support).reduce(0, +)
        guard total > 0 else { return AverageScores(precision: 0, recall: 0, f1: 0, support: 0) }
        func mean(_ value: KeyPath<ClassScores, Double>) -> Double {
            rows.map { Double($0.support) * $0[keyPath: value] }.reduce(0, +) / Double(total)
        }
        return AverageScores(precision: mean(\.precision), recall: mean(\.recall), f1: mean(\.f1), support: total)
    }

    /// Python's `sorted` order for strings (by code point), which seqeval and conlleval use for types.
    static func codePointOrder(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }
}

// MARK: - Tables

/// Text tables in the layout of scikit-learn's classification_report.
enum ScoreTable {
    static func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

    static func padded(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    /// Rows, a blank line, an optional accuracy row, then the averages.
    static func render(rows: [ClassScores], accuracy: (value: Double, support: Int)?, averages: [(String, AverageScores)],
                       digits: Int) -> String {
        let width = max(rows.map(\.label.count).max() ?? 0, "weighted avg".count, digits)
        let column = max(9, digits + 3)
        func line(_ name: String, _ cells: [String]) -> String {
            padded(name, width) + " " + cells.map { " " + padded($0, column) }.joined() + "\n"
        }
        func scoreLine(_ name: String, _ p: Double, _ r: Double, _ f: Double, _ support: Int) -> String {
            line(name, [fixed(p, digits), fixed(r, digits), fixed(f, digits), String(support)])
        }
        var text = line("", ["precision", "recall", "f1-score", "support"]) + "\n"
        for row in rows { text += scoreLine(row.label, row.precision, row.recall, row.f1, row.support) }
        text += "\n"
        if let accuracy { text += line("accuracy", ["", "", fixed(accuracy.value, digits), String(accuracy.support)]) }
        for (name, average) in averages {
            text += scoreLine(name, average.precision, average.recall, average.f1, average.support)
        }
        return text
    }
}

// MARK: - Single-label classification

/// Accumulates single-label predictions; label ids index `labels`.
public struct ClassificationMetrics: Sendable {
    public let labels: [String]
    /// `confusion[gold][predicted]`.
    private var confusion: [[Int]]
    /// Examples added.
    public private(set) var count = 0

    public init(labels: [String]) {
        self.labels = labels
        confusion = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
    }

    /// Records one example. Both ids must index `labels`.
    public mutating func add(gold: Int, predicted: Int) {
        precondition(labels.indices.contains(gold) && labels.indices.contains(predicted),
                     "label id out of range: gold \(gold), predicted \(predicted), \(labels.count) labels")
        confusion[gold][predicted] += 1
        count += 1
    }

    /// Adds the counts of `other` (another shard of the same evaluation, with the same labels).
    public mutating func merge(_ other: ClassificationMetrics) {
        precondition(labels == other.labels, "merging classification metrics over different labels")
        for gold in confusion.indices {
            for predicted in confusion.indices { confusion[gold][predicted] += other.confusion[gold][predicted] }
        }
        count += other.count
    }

    public func report() -> ClassificationReport {
        let classes = labels.indices
        let counts = classes.map { k in
            MetricCounts(correct: confusion[k][k], predicted: classes.map { confusion[$0][k] }.reduce(0, +),
                         gold: confusion[k].reduce(0, +))
        }
        let perClass = classes.map { counts[$0].scores(label: labels[$0]) }
        // scikit-learn's default label set is unique_labels(y_true, y_pred): a class declared but
        // never seen in gold nor predicted would drag the macro mean down with a 0.
        let macro = MetricMath.macro(classes.filter { !counts[$0].isAbsent }.map { perClass[$0] })
        let correct = classes.map { confusion[$0][$0] }.reduce(0, +)
        return ClassificationReport(labels: labels, perClass: perClass, accuracy: MetricMath.ratio(correct, count),
                                    macroF1: macro.f1, macro: macro, weighted: MetricMath.weighted(perClass),
                                    confusion: confusion, support: count)
    }
}

/// scikit-learn's classification_report for single-label predictions, with the confusion matrix.
public struct ClassificationReport: Sendable, Codable, Equatable {
    public var labels: [String]
    /// One row per label, in label order, including labels with support 0.
    public var perClass: [ClassScores]
    public var accuracy: Double
    /// `macro.f1`.
    public var macroF1: Double
    /// Unweighted mean over the labels present in gold ∪ predictions (scikit-learn's default
    /// `labels=unique_labels(y_true, y_pred)`); labels never seen at all are left out.
    public var macro: AverageScores
    /// Mean weighted by support (labels with support 0 weigh nothing).
    public var weighted: AverageScores
    /// `confusion[gold][predicted]`.
    public var confusion: [[Int]]
    /// Examples.
    public var support: Int

    /// The classification_report layout (rows, accuracy, macro and weighted averages) followed
    /// by the confusion matrix, rows gold and columns predicted, columns numbered by label id.
    public func table() -> String { table(digits: 4) }

    /// `table()` with `digits` decimals (scikit-learn prints 2).
    public func table(digits: Int) -> String {
        var text = ScoreTable.render(rows: perClass, accuracy: (accuracy, support),
                                     averages: [("macro avg", macro), ("weighted avg", weighted)], digits: digits)
        let cellWidth = max(confusion.flatMap { $0 }.map { String($0).count }.max() ?? 1, String(labels.count - 1).count) + 1
        let nameWidth = labels.indices.map { "\($0) \(labels[$0])".count }.max() ?? 0
        text += "\nconfusion (rows gold, columns predicted):\n"
        text += String(repeating: " ", count: nameWidth)
            + labels.indices.map { ScoreTable.padded(String($0), cellWidth + 1) }.joined() + "\n"
        for (gold, row) in confusion.enumerated() {
            let name = "\(gold) \(labels[gold])"
            text += name + String(repeating: " ", count: nameWidth - name.count)
                + row.map { ScoreTable.padded(String($0), cellWidth + 1) }.joined() + "\n"
        }
        return text
    }
}

// MARK: - Multilabel classification

/// Accumulates multilabel predictions: each example has a set of label ids.
public struct MultilabelMetrics: Sendable {
    public let labels: [String]
    private var perLabel: [MetricCounts]
    /// Per-example (overlap, gold size, predicted size) with how many examples had it: enough
    /// for the `samples` average, and exact under merge (no floating sums carried).
    private var exampleShapes: [ExampleShape: Int] = [:]
    private var exactMatches = 0
    /// Examples added.
    public private(set) var count = 0

    struct ExampleShape: Hashable, Sendable {
        var overlap, gold, predicted: Int
    }

    public init(labels: [String]) {
        self.labels = labels
        perLabel = Array(repeating: MetricCounts(), count: labels.count)
    }

    /// Records one example. Ids must index `labels`; order does not matter and repeats count once.
    public mutating func add(gold: [Int], predicted: [Int]) {
        let goldSet = Set(gold), predictedSet = Set(predicted)
        precondition(goldSet.union(predictedSet).allSatisfy(labels.indices.contains),
                     "label id out of range: gold \(gold), predicted \(predicted), \(labels.count) labels")
        let overlap = goldSet.intersection(predictedSet)
        for label in goldSet { perLabel[label].gold += 1 }
        for label in predictedSet { perLabel[label].predicted += 1 }
        for label in overlap { perLabel[label].correct += 1 }
        exampleShapes[ExampleShape(overlap: overlap.count, gold: goldSet.count, predicted: predictedSet.count), default: 0] += 1
        if goldSet == predictedSet { exactMatches += 1 }
        count += 1
    }

    /// Adds the counts of `other` (another shard of the same evaluation, with the same labels).
    public mutating func merge(_ other: MultilabelMetrics) {
        precondition(labels == other.labels, "merging multilabel metrics over different labels")
        for label in perLabel.indices { perLabel[label] = perLabel[label] + other.perLabel[label] }
        exampleShapes.merge(other.exampleShapes, uniquingKeysWith: +)
        exactMatches += other.exactMatches
        count += other.count
    }

    public func report() -> MultilabelReport {
        let rows = labels.indices.map { perLabel[$0].scores(label: labels[$0]) }
        let pooled = perLabel.reduce(MetricCounts(), +)
        // Summed in a fixed order so that equal counts give bit-equal averages.
        let shapes = exampleShapes.sorted { ($0.key.gold, $0.key.predicted, $0.key.overlap) < ($1.key.gold, $1.key.predicted, $1.key.overlap) }
        func samplesMean(_ score: (MetricCounts) -> Double) -> Double {
            let total = shapes.map { Double($0.value) * score(MetricCounts(correct: $0.key.overlap, predicted: $0.key.predicted, gold: $0.key.gold)) }
            return count == 0 ? 0 : total.reduce(0, +) / Double(count)
        }
        let samples = AverageScores(precision: samplesMean(\.precision), recall: samplesMean(\.recall), f1: samplesMean(\.f1),
                                    support: pooled.gold)
        return MultilabelReport(labels: labels, perLabel: rows, micro: pooled.micro, macro: MetricMath.macro(rows),
                                weighted: MetricMath.weighted(rows), samples: samples,
                                subsetAccuracy: MetricMath.ratio(exactMatches, count), support: count)
    }
}

/// scikit-learn's classification_report for a multilabel indicator matrix, plus subset accuracy.
public struct MultilabelReport: Sendable, Codable, Equatable {
    public var labels: [String]
    /// One row per label, in label order; support is the examples whose gold set has the label.
    public var perLabel: [ClassScores]
    /// Counts pooled over labels.
    public var micro: AverageScores
    /// Unweighted mean over all labels, including those never seen: with a multi-hot matrix
    /// scikit-learn averages over every column.
    public var macro: AverageScores
    public var weighted: AverageScores
    /// scikit-learn's `average='samples'`: per-example precision, recall and F1 averaged over
    /// examples. An example with empty gold and empty prediction scores 0 on all three, as
    /// scikit-learn does with zero_division=0 (a perfect empty prediction does not count as right).
    public var samples: AverageScores
    /// Examples whose predicted set equals the gold set (an empty prediction of an empty set counts).
    public var subsetAccuracy: Double
    /// Examples. (The averages' `support`, as in scikit-learn, is gold label occurrences.)
    public var support: Int

    /// The classification_report layout with micro, macro, weighted and samples averages,
    /// then subset accuracy.
    public func table() -> String { table(digits: 4) }

    /// `table()` with `digits` decimals (scikit-learn prints 2).
    public func table(digits: Int) -> String {
        ScoreTable.render(rows: perLabel, accuracy: nil,
                          averages: [("micro avg", micro), ("macro avg", macro), ("weighted avg", weighted), ("samples avg", samples)],
                          digits: digits)
            + "\nsubset accuracy: \(ScoreTable.fixed(subsetAccuracy, digits)) over \(support) examples\n"
    }
}
