import Batching
import Foundation
import NN
import Store

/// One task's evaluation: the full report for its kind, its headline metric, and every
/// metric as a flat name → value table (what `--select` and the log read).
public struct TaskEvaluation: Sendable, Codable, Equatable {
    public enum Report: Sendable, Codable, Equatable {
        case classification(ClassificationReport)
        case multilabel(MultilabelReport)
        /// Tagging without spans (POS-style): per-tag scores over tokens.
        case tokens(ClassificationReport)
        case spans(SpanReport)
        /// Seq2seq: sequence and token error rates, BLEU and chrF over decoded targets.
        case sequences(SequenceMetrics)
        /// Regression: correlations and errors.
        case regression(RegressionReport)
    }
    public var task: String
    public var kind: TaskKind
    /// Examples of the part that carry a label for the task.
    public var examples: Int
    /// The metric that stands for the task in the `mean` aggregate.
    public var mainMetric: String
    public var metrics: [String: Double]
    public var report: Report

    public var main: Double { metrics[mainMetric] ?? 0 }
}

/// An evaluation of every task on one part at one step.
public struct Evaluation: Sendable, Codable, Equatable {
    public var step: Int
    public var part: String
    public var tasks: [TaskEvaluation]
    /// The `--select` aggregate (higher is better).
    public var aggregate: Double
    public var select: String
    /// Examples without tokens, predicted from the empty pooled vector.
    public var emptyExamples: Int

    public func task(_ name: String) -> TaskEvaluation? { tasks.first { $0.task == name } }
}

/// Runs the model over a part of the split and scores every task.
public enum Evaluator {
    /// Scores `model` on `part` of `source` (batches of `config.batchSize`, every example once).
    public static func evaluate(model: MultiTaskModel, source: ExampleSource, part: SplitPart, config: LoaderConfig,
                                step: Int, selection: Selection) throws -> Evaluation {
        let specs = model.config.tasks
        var classification = specs.map { ClassificationMetrics(labels: $0.labels) }
        var multilabel = specs.map { MultilabelMetrics(labels: $0.labels) }
        var spans = specs.map { _ in SpanMetrics() }
        var sequences = specs.map { _ in SequenceMetricCounts() }
        var regression = specs.map { _ in RegressionMetrics() }
        var examples = [Int](repeating: 0, count: specs.count)
        var lossSums = [Double](repeating: 0, count: specs.count), lossWeights = [Double](repeating: 0, count: specs.count)
        var empty = 0
        let batches = EvalBatches(source: source, part: part, config: config)
        while let batch = try batches.next() {
            let input = try ModelInput(batch: batch)
            empty += input.emptyRows
            let outputs = try model.forward(input, training: false)
            for (t, spec) in specs.enumerated() {
                guard let output = outputs[t] else { continue }
                let target = batch.targets[t]
                let present = target.present
                if let l = try model.loss(task: t, output: output, loss: TaskLoss(), classWeights: nil, scale: 1) {
                    lossSums[t] += Double(l) * Double(present); lossWeights[t] += Double(present)
                }
                examples[t] += present
                switch spec.kind {
                case .classification:
                    let predicted = model.predictedClasses(output)
                    for r in 0..<batch.size where target.mask[r] { classification[t].add(gold: Int(target.classes[r]), predicted: predicted[r]) }
                case .multilabel:
                    let predicted = model.predictedSets(output)
                    let L = target.labelCount
                    for r in 0..<batch.size where target.mask[r] {
                        let gold = (0..<L).filter { target.multiHot[r * L + $0] > 0 }
                        multilabel[t].add(gold: gold, predicted: predicted[r])
                    }
                case .regression:
                    if case let .rows(predictions) = output {
                        for r in 0..<batch.size where target.mask[r] { regression[t].add(gold: target.values[r], predicted: predictions.data[r]) }
                    }
                case .seq2seq:
                    // Decoded as at prediction time (greedy, or the configured beam), scored on the
                    // target tokens: `<unk>` in a reference stays a token no output can match.
                    let decoded = try model.predictedSequences(task: t, output)
                    let names = spec.labels
                    for (i, r) in input.encodedRows.enumerated() where target.mask[r] {
                        let reference = spec.decoderIDs(target.sequences[r]).map(Int.init)
                        let hypothesis = decoded[i].first?.tokens ?? []
                        sequences[t].add(hypothesis: hypothesis.map { names[Int($0)] }, reference: reference.map { names[$0] })
                    }
                case .tagging, .spans:
                    let predicted = try model.predictedTags(task: t, output)
                    let T = batch.paddedLength
                    for (i, r) in input.encodedRows.enumerated() where target.mask[r] {
                        let n = Int(batch.lengths[r])
                        let gold = (0..<n).map { Int(target.tags[r * T + $0]) }
                        let guess = predicted[i].map(Int.init)
                        if spec.hasSpans {
                            spans[t].add(gold: gold.map { spec.labels[$0] }, predicted: guess.map { spec.labels[$0] })
                        } else {
                            for k in 0..<n { classification[t].add(gold: gold[k], predicted: guess[k]) }
                        }
                    }
                }
            }
        }
        var tasks: [TaskEvaluation] = []
        for (t, spec) in specs.enumerated() {
            var m: [String: Double] = [:]
            let report: TaskEvaluation.Report, main: String
            switch spec.kind {
            case .classification:
                let r = classification[t].report()
                m = ["accuracy": r.accuracy, "macro_f1": r.macro.f1, "weighted_f1": r.weighted.f1]
                report = .classification(r); main = "accuracy"
            case .multilabel:
                let r = multilabel[t].report()
                m = ["micro_f1": r.micro.f1, "macro_f1": r.macro.f1, "weighted_f1": r.weighted.f1, "samples_f1": r.samples.f1, "subset_accuracy": r.subsetAccuracy]
                report = .multilabel(r); main = "micro_f1"
            case .regression:
                let r = regression[t].report()
                m = ["pearson": r.pearson, "spearman": r.spearman, "rmse": r.rmse, "mae": r.mae, "mse": r.mse]
                report = .regression(r); main = "pearson"
            case .seq2seq:
                let r = sequences[t].metrics
                m = ["sequence_accuracy": r.sequenceAccuracy, "sequence_error_rate": r.sequenceErrorRate,
                     "token_error_rate": r.tokenErrorRate, "bleu": r.bleu, "chrf": r.chrF]
                report = .sequences(r); main = "sequence_accuracy"
            case .tagging, .spans:
                if spec.hasSpans {
                    let r = spans[t].report()
                    m = ["f1": r.f1, "precision": r.precision, "recall": r.recall, "token_accuracy": r.tokenAccuracy, "macro_f1": r.macro.f1]
                    report = .spans(r); main = "f1"
                } else {
                    let r = classification[t].report()
                    m = ["accuracy": r.accuracy, "macro_f1": r.macro.f1]
                    report = .tokens(r); main = "accuracy"
                }
            }
            if lossWeights[t] > 0 { m["loss"] = lossSums[t] / lossWeights[t] }
            if let bad = m.first(where: { !$0.value.isFinite }) {
                throw TrainingError(.nonFinite, "step \(step): the \(part) \(bad.key) of task '\(spec.name)' is \(bad.value): the weights have diverged (the last good checkpoint is kept; lower --lr or set --clip)")
            }
            tasks.append(TaskEvaluation(task: spec.name, kind: spec.kind, examples: examples[t], mainMetric: main, metrics: m, report: report))
        }
        var e = Evaluation(step: step, part: part.description, tasks: tasks, aggregate: 0, select: selection.text, emptyExamples: empty)
        e.aggregate = try selection.aggregate(e)
        return e
    }
}

/// The aggregate that picks the best checkpoint and drives early stopping (`--select`), as
/// jiant's metric aggregators: `mean` of every task's main metric, one `TASK:METRIC`, or
/// `weighted:A=2,B=1` (a weighted mean of main metrics). Higher is better; `TASK:loss` is
/// negated so that it is too.
public struct Selection: Sendable, Codable, Equatable {
    public enum Rule: Sendable, Codable, Equatable {
        case mean
        case metric(task: String, metric: String)
        case weighted([String: Double])
    }
    public var rule: Rule
    public var text: String

    public init(parsing text: String, tasks: [String]) throws(TrainingError) {
        self.text = text
        let lower = text.lowercased()
        if lower == "mean" { rule = .mean; return }
        if lower.hasPrefix("weighted:") {
            let w = try parseTaskWeights(text.dropFirst(9), flag: "--select weighted", tasks: tasks)
            guard w.values.reduce(0, +) > 0 else { throw TrainingError(.configuration, "--select weighted: the weights must not all be 0") }
            rule = .weighted(w); return
        }
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else {
            throw TrainingError(.configuration, "--select must be mean, TASK:METRIC or weighted:TASK=W,… (got '\(text)')")
        }
        guard tasks.contains(parts[0]) else {
            throw TrainingError(.configuration, "--select names '\(parts[0])', which is not a task of this run (\(tasks.joined(separator: ", ")))")
        }
        rule = .metric(task: parts[0], metric: parts[1])
    }

    public func aggregate(_ e: Evaluation) throws(TrainingError) -> Double {
        switch rule {
        case .mean:
            return e.tasks.isEmpty ? 0 : e.tasks.map(\.main).reduce(0, +) / Double(e.tasks.count)
        case let .metric(task, metric):
            guard let t = e.task(task), let v = t.metrics[metric] else {
                let known = e.task(task)?.metrics.keys.sorted().joined(separator: ", ") ?? ""
                throw TrainingError(.configuration, "--select \(task):\(metric): task '\(task)' has no metric '\(metric)' (it has: \(known))")
            }
            return metric == "loss" ? -v : v
        case let .weighted(w):
            var s = 0.0, z = 0.0
            for t in e.tasks { let a = w[t.task] ?? 0; s += a * t.main; z += a }
            return z > 0 ? s / z : 0
        }
    }
}

extension Evaluation {
    /// Every task's report as text tables (scikit-learn's `classification_report` shape for
    /// classes, conlleval's for spans), headed by the selection aggregate.
    public func table() -> String {
        func f(_ x: Double) -> String { String(format: "%.4f", x) }
        var s = "evaluation on \(part) at step \(step): \(select) = \(f(aggregate))"
        if emptyExamples > 0 { s += " (\(emptyExamples) examples without tokens, predicted from an empty encoding)" }
        s += "\n"
        for t in tasks {
            s += "\n\(t.task) (\(t.kind.rawValue), \(t.examples) examples): \(t.mainMetric) \(f(t.main))"
            if let l = t.metrics["loss"] { s += ", loss \(f(l))" }
            s += "\n"
            switch t.report {
            case .classification(let r), .tokens(let r): s += r.table()
            case .multilabel(let r): s += r.table()
            case .spans(let r): s += r.table()
            case .sequences(let r): s += r.summary + "\n"
            case .regression(let r): s += r.table()
            }
        }
        return s
    }
}
