import Foundation

/// How the next batch's task (or, in mixed batches, the next example's task) is chosen.
/// n_i is the number of training examples of task i in the chosen split and fold.
public enum TaskSampling: Sendable, Hashable, Codable {
    /// p_i = n_i / Σ n_j.
    case proportional
    /// p_i = 1 / #tasks.
    case uniform
    /// p_i ∝ n_i^(1/T), T > 0 (T = 1: proportional; T → ∞: uniform).
    case temperature(Double)
    /// T5 / seqio: p_i ∝ min(n_i · scale, cap)^(1/T).
    case cappedProportional(cap: Double, scale: Double, temperature: Double)
    /// Stickland & Murray 2019: p_i ∝ n_i^α, α = 1 − 0.8 · (e − 1) / (E − 1) for epoch e = 1…E
    /// (α stays at 0.2 after epoch E).
    case annealed(epochs: Int)
    /// p_i ∝ w_i, one weight per task in the loader's task order.
    case weights([Double])
    /// Tasks in turn: batch (or example, in mixed batches) k comes from task k mod #tasks.
    case roundRobin

    /// The probabilities for tasks with `counts` training examples in (1-based) epoch `epoch`.
    /// Round-robin returns the long-run shares (1 / #tasks).
    public func probabilities(counts: [Int64], epoch: Int = 1) -> [Double] {
        let n = counts.map { Double($0) }
        let raw: [Double]
        switch self {
        case .proportional: raw = n
        case .uniform, .roundRobin: raw = n.map { _ in 1 }
        case .temperature(let t): raw = n.map { Foundation.pow($0, 1 / t) }
        case .cappedProportional(let cap, let scale, let t): raw = n.map { Foundation.pow(Swift.min($0 * scale, cap), 1 / t) }
        case .annealed(let epochs):
            let alpha = Self.annealedAlpha(epoch: epoch, epochs: epochs)
            raw = n.map { Foundation.pow($0, alpha) }
        case .weights(let w): raw = w
        }
        let total = raw.reduce(0, +)
        return raw.map { $0 / total }
    }

    /// α of the annealed strategy in 1-based epoch `epoch` of `epochs`.
    public static func annealedAlpha(epoch: Int, epochs: Int) -> Double {
        guard epochs > 1 else { return 1 }
        let e = Swift.min(Swift.max(epoch, 1), epochs)
        return 1 - 0.8 * Double(e - 1) / Double(epochs - 1)
    }

    /// A short name (`proportional`, `temperature(T=2)`, …) for reports.
    public var name: String {
        switch self {
        case .proportional: return "proportional"
        case .uniform: return "uniform"
        case .temperature(let t): return "temperature(T=\(t))"
        case .cappedProportional(let k, let s, let t): return "t5(K=\(k), scale=\(s), T=\(t))"
        case .annealed(let e): return "annealed(E=\(e))"
        case .weights(let w): return "weights(\(w.map { "\($0)" }.joined(separator: ",")))"
        case .roundRobin: return "round-robin"
        }
    }
}

/// Sampling inside a task (classification tasks; other kinds are always drawn in stream order).
public enum ClassBalancing: Sendable, Hashable, Codable {
    /// Examples in their shuffled order: class c gets share n_c / n.
    case none
    /// With replacement, class c drawn with weight ∝ n_c · 1/n_c: every class present equally
    /// (PyTorch `WeightedRandomSampler` with inverse-frequency weights).
    case inverseFrequency
    /// With replacement, class c drawn ∝ n_c · (1 − β) / (1 − β^n_c) (Cui et al. 2019).
    case effectiveNumber(beta: Double)

    /// The share each class of a task gets, from its training counts (classes with no
    /// training example get 0).
    public func classShares(counts: [Int64]) -> [Double] {
        let w = ClassWeights.weights(counts: counts, balancing: self == .none ? .inverseFrequency : self)
        let raw: [Double] = counts.indices.map { c in
            counts[c] == 0 ? 0 : (self == .none ? Double(counts[c]) : Double(counts[c]) * w[c])
        }
        let total = raw.reduce(0, +)
        return total > 0 ? raw.map { $0 / total } : raw
    }
}

/// When a loader epoch ends (and the next one begins: every task starts a fresh pass in a
/// new order). Exhaustion is counted per task in examples drawn from it during the epoch.
public enum EpochDefinition: Sendable, Hashable, Codable {
    /// After this many batches.
    case batches(Int)
    /// After the batch in which some task has given as many examples as it has
    /// (HF `stopping_strategy="first_exhausted"`).
    case firstExhausted
    /// After the batch in which every task has given at least as many examples as it has;
    /// tasks exhausted earlier start a new pass and keep being sampled (oversampling, HF
    /// `stopping_strategy="all_exhausted"`).
    case allExhausted
}

/// What happens to tokens past `maxLength`. Tag targets are cut the same way.
public enum Truncation: String, Sendable, Hashable, Codable, CaseIterable {
    /// Keep the first `maxLength` tokens.
    case head
    /// Keep the last `maxLength` tokens.
    case tail
}

/// Everything that decides which batches a loader produces. Two loaders with equal
/// configurations over the same store produce the same batches.
public struct LoaderConfig: Sendable, Hashable, Codable {
    /// The tasks, by name, in the order batches list their targets; nil = every task of the store.
    public var tasks: [String]?
    public var taskSampling: TaskSampling = .proportional
    public var classBalancing: ClassBalancing = .none
    public var epoch: EpochDefinition = .allExhausted
    /// true: every batch from one task (MT-DNN); false: each example's task drawn separately.
    public var homogeneous = true
    /// Examples per batch (the most, with `maxTokens`).
    public var batchSize = 32
    /// Padded-token budget per batch (B × T ≤ maxTokens, at least one example); nil = none.
    public var maxTokens: Int?
    /// Tokens kept per example.
    public var maxLength = 128
    public var truncation: Truncation = .head
    /// Sort examples by length inside runs of `bucketBatches` batches, so that a batch holds
    /// examples of similar length; the runs' batches are then shuffled. 0 = no bucketing.
    public var bucketBatches = 0
    /// Example-id blocks: a block is `blockSize` consecutive example ids.
    public var blockSize = 1024
    /// The shuffle buffer, in blocks: a task's examples are shuffled within runs of this many
    /// blocks taken in a per-pass random block order.
    public var shuffleBlocks = 16
    /// Fill the targets of every task an example carries (true), or only of the task whose
    /// stream it came from.
    public var allTaskTargets = true
    public var seed: UInt64 = 0
    /// The padding token id (nil: the id of `<pad>` in the vocabulary, else 0).
    public var padID: Int32?

    public init() {}

    /// Checks the values that do not depend on the store.
    public func validate() throws(BatchingError) {
        func bad(_ m: String) -> BatchingError { BatchingError(.invalidConfiguration, m) }
        if batchSize < 1 { throw bad("batch size must be at least 1, not \(batchSize)") }
        if maxLength < 1 { throw bad("maximum length must be at least 1, not \(maxLength)") }
        if let m = maxTokens, m < 1 { throw bad("--max-tokens must be at least 1, not \(m)") }
        if blockSize < 1 || shuffleBlocks < 1 { throw bad("block size and shuffle buffer must be at least 1") }
        if bucketBatches < 0 { throw bad("bucket size must not be negative") }
        switch taskSampling {
        case .temperature(let t) where !(t > 0 && t.isFinite):
            throw bad("temperature must be > 0 (got \(t)); T = 1 is proportional sampling, larger T flattens towards uniform")
        case .cappedProportional(let k, let s, let t):
            if !(t > 0 && t.isFinite) { throw bad("temperature must be > 0 (got \(t))") }
            if !(k > 0) || !(s > 0) { throw bad("the T5 cap and scale must be > 0 (got cap \(k), scale \(s))") }
        case .annealed(let e) where e < 1:
            throw bad("annealed sampling needs the number of epochs E ≥ 1 (got \(e))")
        case .weights(let w):
            if w.contains(where: { !($0 >= 0 && $0.isFinite) }) || !(w.reduce(0, +) > 0) {
                throw bad("task weights must be finite, ≥ 0 and not all 0 (got \(w))")
            }
        default: break
        }
        if case .batches(let n) = epoch, n < 1 { throw bad("an epoch must have at least one batch") }
        if case .effectiveNumber(let beta) = classBalancing, !(beta >= 0 && beta < 1) {
            throw bad("the effective-number β must be in [0, 1) (got \(beta))")
        }
    }
}
