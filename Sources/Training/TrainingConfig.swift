import Batching
import Foundation
import NN

/// How task losses combine: Σ αᵢ Lᵢ with given α (the seed documents' static weights),
/// learned uncertainty weights (Kendall et al. 2018), or PCGrad projections (Yu et al. 2020)
/// of the shared parameters' per-task gradients.
public enum TaskWeightingSpec: Sendable, Codable, Equatable {
    case equal
    case weights([String: Float])
    case uncertainty
    case pcgrad

    /// Parses `static:A=1,B=0.5`, `equal`, `uncertainty` or `pcgrad` (`--task-weights`).
    public init(parsing text: String, tasks: [String]) throws(TrainingError) {
        switch text {
        case "equal", "static": self = .equal
        case "uncertainty": self = .uncertainty
        case "pcgrad": self = .pcgrad
        default:
            guard text.hasPrefix("static:") else {
                throw TrainingError(.configuration, "--task-weights must be static:TASK=W,…, equal, uncertainty or pcgrad (got '\(text)')")
            }
            self = .weights(try parseTaskWeights(text.dropFirst(7), flag: "--task-weights", tasks: tasks).mapValues(Float.init))
        }
    }

    /// αᵢ in task order (1 for tasks a static spec leaves out).
    public func staticWeights(tasks: [String]) -> [Float] {
        if case .weights(let w) = self { return tasks.map { w[$0] ?? 1 } }
        return tasks.map { _ in 1 }
    }

    public var name: String {
        switch self {
        case .equal: return "equal"
        case .weights(let w): return "static:" + w.keys.sorted().map { "\($0)=\(w[$0]!)" }.joined(separator: ",")
        case .uncertainty: return "uncertainty"
        case .pcgrad: return "pcgrad"
        }
    }
}

/// `A=1,B=0.5`: a finite weight ≥ 0 per named task (`--task-weights static:…`, `--select weighted:…`).
func parseTaskWeights(_ text: Substring, flag: String, tasks: [String]) throws(TrainingError) -> [String: Double] {
    var w: [String: Double] = [:]
    for item in text.split(separator: ",") {
        let kv = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard kv.count == 2, let x = Double(kv[1]), x >= 0, x.isFinite else {
            throw TrainingError(.configuration, "\(flag): '\(item)' is not TASK=WEIGHT with a finite weight ≥ 0")
        }
        guard tasks.contains(kv[0]) else {
            throw TrainingError(.configuration, "\(flag) names '\(kv[0])', which is not a task of this run (\(tasks.joined(separator: ", ")))")
        }
        w[kv[0]] = x
    }
    return w
}

/// Per-class loss weights from the training part's label counts (`--class-weights`).
public enum ClassWeighting: Sendable, Codable, Equatable {
    case none
    case inverse
    case effective(beta: Double)

    public init(parsing text: String) throws(TrainingError) {
        switch text {
        case "none": self = .none
        case "inverse": self = .inverse
        default:
            if text == "effective" { self = .effective(beta: 0.999); return }
            guard text.hasPrefix("effective("), text.hasSuffix(")"), let b = Double(text.dropFirst(10).dropLast()), b >= 0, b < 1 else {
                throw TrainingError(.configuration, "--class-weights must be none, inverse, effective or effective(β) with 0 ≤ β < 1 (got '\(text)')")
            }
            self = .effective(beta: b)
        }
    }

    var balancing: ClassBalancing? {
        switch self {
        case .none: return nil
        case .inverse: return .inverseFrequency
        case .effective(let b): return .effectiveNumber(beta: b)
        }
    }
}

public enum OptimizerKind: String, Sendable, Codable, CaseIterable { case adam, adamw, sgd }
public enum ScheduleKind: String, Sendable, Codable, CaseIterable { case constant, linear, cosine }

/// Everything about a run except the model's shape: data, loss, optimisation, evaluation,
/// checkpoints. Recorded with every checkpoint; `resumableChanges` lists what may differ on resume.
public struct TrainingConfig: Sendable, Codable, Equatable {
    public var store: String
    public var vocabulary: String
    public var split: String
    public var fold: Int
    public var tasks: [String]
    public var loader: LoaderConfig
    public var taskWeights: TaskWeightingSpec = .equal
    public var losses: [String: TaskLoss] = [:]
    public var classWeights: ClassWeighting = .none
    public var optimizer: OptimizerKind = .adam
    public var learningRate: Float = 1e-3
    public var weightDecay: Float = 0
    public var momentum: Float = 0.9
    public var schedule: ScheduleKind = .constant
    public var warmup = 0
    /// Global gradient-norm clip; 0 = none.
    public var clip: Float = 5
    /// Stop after this many loader epochs (nil: `steps` decides).
    public var epochs: Int?
    /// Stop after this many steps (nil: `epochs` decides).
    public var steps: Int?
    /// Evaluate (and checkpoint) every N steps, and at each epoch's end; 0 = epoch ends only.
    public var evalEvery = 0
    public var evalPart: String = "dev"
    /// Tokens kept per example in evaluations; nil = every token (span metrics then count every
    /// gold span, as seqeval would on the full sentences).
    public var evalMaxLength: Int?
    public var select = "mean"
    /// Stop after this many evaluations without improvement of the selection aggregate; 0 = never.
    public var patience = 0
    public var keepLast = 2
    public var keepBest = 1
    public var threads = 2
    public var seed: UInt64 = 0

    public init(store: String, vocabulary: String, split: String, fold: Int, tasks: [String], loader: LoaderConfig) {
        self.store = store; self.vocabulary = vocabulary; self.split = split; self.fold = fold; self.tasks = tasks; self.loader = loader
    }

    /// Settings that may change when a run resumes (accepted and logged): the store's path (its
    /// contents are checked by fingerprint), how long the run goes on,
    /// how often it evaluates, how patient it is, and how many checkpoints it keeps.
    public static let resumableChanges: Set<String> = ["store", "epochs", "steps", "evalEvery", "patience", "keepLast", "keepBest"]

    public func validate() throws(TrainingError) {
        func bad(_ m: String) -> TrainingError { TrainingError(.configuration, m) }
        if epochs == nil && steps == nil { throw bad("give --epochs or --steps") }
        if let e = epochs, e < 1 { throw bad("--epochs must be at least 1 (got \(e))") }
        if let s = steps, s < 1 { throw bad("--steps must be at least 1 (got \(s))") }
        if !(learningRate > 0 && learningRate.isFinite) { throw bad("--lr must be > 0 (got \(learningRate))") }
        if warmup < 0 { throw bad("--warmup must not be negative") }
        if !(weightDecay >= 0 && weightDecay.isFinite) { throw bad("--weight-decay must be a finite number ≥ 0 (got \(weightDecay))") }
        if !(momentum >= 0 && momentum < 1) { throw bad("--momentum must be in [0, 1) (got \(momentum))") }
        if !(clip >= 0) { throw bad("--clip must be ≥ 0 (0 = no clipping)") }
        if evalEvery < 0 { throw bad("--eval-every must not be negative") }
        if let m = evalMaxLength, m < 1 { throw bad("--eval-max-length must be at least 1 (got \(m))") }
        if patience < 0 { throw bad("--patience must not be negative") }
        if keepLast < 1 { throw bad("--keep-last must be at least 1 (the newest checkpoint is what a resume needs)") }
        if keepBest < 1 { throw bad("--keep-best must be at least 1") }
        if threads < 1 { throw bad("--threads must be at least 1") }
        if !["dev", "test"].contains(evalPart) { throw bad("--eval-part must be dev or test (got '\(evalPart)')") }
        for (name, l) in losses {
            guard tasks.contains(name) else { throw bad("--loss names '\(name)', which is not a task of this run (\(tasks.joined(separator: ", ")))") }
            if !(l.focalGamma >= 0) || !(l.labelSmoothing >= 0 && l.labelSmoothing < 1) { throw bad("--loss \(name): γ must be ≥ 0 and smoothing in [0, 1)") }
        }
        do { try loader.validate() } catch { throw bad(error.message) }
    }

    /// Parses `focal(2)`, `smoothing(0.1)`, `focal(2)+smoothing(0.1)` or `ce` (`--loss TASK=…`).
    public static func parseLoss(_ text: String) throws(TrainingError) -> TaskLoss {
        var l = TaskLoss()
        for part in text.split(separator: "+") {
            let p = part.trimmingCharacters(in: .whitespaces)
            if p == "ce" || p == "cross-entropy" { continue }
            func arg(_ name: String) -> Float? {
                guard p.hasPrefix(name + "("), p.hasSuffix(")") else { return nil }
                return Float(p.dropFirst(name.count + 1).dropLast())
            }
            if let g = arg("focal") { l.focalGamma = g } else if let s = arg("smoothing") { l.labelSmoothing = s } else {
                throw TrainingError(.configuration, "--loss: '\(p)' is not focal(γ), smoothing(ε) or ce")
            }
        }
        return l
    }
}
