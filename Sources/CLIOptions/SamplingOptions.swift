import ArgumentParser
import Batching
import Foundation

/// The batch-making flags `mtl-prep sample` and `mtl-train` share: one declaration and one
/// parser, so a strategy tried with `sample --report` means the same thing in training.
public struct SamplingOptions: ParsableArguments {
    public enum Strategy: String, ExpressibleByArgument, CaseIterable, Sendable {
        case proportional, uniform, temperature, t5, annealed, weights
        case roundRobin = "round-robin"
    }
    public enum Balance: String, ExpressibleByArgument, CaseIterable, Sendable { case none, inverse, effective }
    public enum Targets: String, ExpressibleByArgument, CaseIterable, Sendable { case all, drawn }

    // Optional, with the defaults in the help: `mtl-train --resume` lays only the flags given over
    // the run's recorded loader configuration.
    @Option(help: "Task sampling: \(Strategy.allCases.map(\.rawValue).joined(separator: ", ")) (default proportional).") public var strategy: Strategy?
    @Option(help: "Temperature T of temperature and t5 sampling (> 0; default 2).") public var temperature: Double?
    @Option(help: "t5: the cap K on examples per task (default 3000).") public var cap: Double?
    @Option(help: "t5: the scale applied to n_i before the cap (default 1).") public var scale: Double?
    @Option(name: .customLong("anneal-epochs"), help: "annealed: the number of epochs E (default 3).") public var annealEpochs: Int?
    @Option(help: "weights: one per task, TASK=W,… or W,… in task order.") public var weights: String?
    @Option(help: "Epoch: batches:N, first-exhausted or all-exhausted (default all-exhausted).") public var epoch: String?
    @Flag(inversion: .prefixedNo, help: "Mixed batches (each example's task drawn separately) instead of one task per batch (default: one task per batch).") public var mixed: Bool?

    @Option(name: .customLong("class-balance"), help: "Sampling within classification tasks: none, inverse (frequency) or effective (number, Cui et al.) (default none).") public var classBalance: Balance?
    @Option(help: "β of the effective number (default 0.999).") public var beta: Double?

    @Option(name: .customLong("batch-size"), help: "Examples per batch, the most with --max-tokens (default 32).") public var batchSize: Int?
    @Option(name: .customLong("max-tokens"), help: "Padded-token budget per batch.") public var maxTokens: Int?
    @Option(name: .customLong("max-length"), help: "Tokens kept per example (default 128).") public var maxLength: Int?
    @Option(help: "Truncation of longer examples: head (keep the first tokens) or tail (default head).") public var truncate: Truncation?
    @Option(help: "Length bucketing: sort within runs of this many batches (0: off, the default).") public var bucket: Int?
    @Option(help: "Labels a batch carries: all (every task its examples have; the default) or drawn (only the task each example was drawn for).") public var targets: Targets?

    public init() {}

    /// Whether homogeneous (one task per batch) after these flags over `base`.
    public var isMixed: Bool { mixed ?? false }

    /// The loader configuration these flags describe over `base` (the defaults, or a resumed run's
    /// recorded configuration), for tasks `taskNames` (in target order).
    public func loaderConfig(taskNames: [String], seed: UInt64, base: LoaderConfig = LoaderConfig()) throws -> LoaderConfig {
        var c = base
        c.seed = seed
        if let batchSize { c.batchSize = batchSize }
        if let maxTokens { c.maxTokens = maxTokens }
        if let maxLength { c.maxLength = maxLength }
        if let truncate { c.truncation = truncate }
        if let bucket { c.bucketBatches = bucket }
        if let mixed { c.homogeneous = !mixed }
        if let targets { c.allTaskTargets = targets == .all }
        if let strategy {
            switch strategy {
            case .proportional: c.taskSampling = .proportional
            case .uniform: c.taskSampling = .uniform
            case .temperature: c.taskSampling = .temperature(temperature ?? 2)
            case .t5: c.taskSampling = .cappedProportional(cap: cap ?? 3000, scale: scale ?? 1, temperature: temperature ?? 2)
            case .annealed: c.taskSampling = .annealed(epochs: annealEpochs ?? 3)
            case .roundRobin: c.taskSampling = .roundRobin
            case .weights:
                guard let weights else { throw ValidationError("--strategy weights needs --weights (one per task: \(taskNames.joined(separator: ", ")))") }
                c.taskSampling = .weights(try Self.parseWeights(weights, tasks: taskNames))
            }
        } else if temperature != nil || cap != nil || scale != nil || annealEpochs != nil || weights != nil {
            throw ValidationError("--temperature, --cap, --scale, --anneal-epochs and --weights go with --strategy (give it too)")
        }
        if weights != nil && strategy != .weights { throw ValidationError("--weights is only for --strategy weights") }
        if let classBalance {
            switch classBalance {
            case .none: c.classBalancing = .none
            case .inverse: c.classBalancing = .inverseFrequency
            case .effective: c.classBalancing = .effectiveNumber(beta: beta ?? 0.999)
            }
        } else if beta != nil {
            throw ValidationError("--beta goes with --class-balance effective")
        }
        if let epoch {
            switch epoch {
            case "first-exhausted": c.epoch = .firstExhausted
            case "all-exhausted": c.epoch = .allExhausted
            default:
                guard epoch.hasPrefix("batches:"), let n = Int(epoch.dropFirst(8)) else {
                    throw ValidationError("--epoch must be batches:N, first-exhausted or all-exhausted (got '\(epoch)')")
                }
                c.epoch = .batches(n)
            }
        }
        return c
    }

    /// `a=1,b=2` (by task name, every task once) or `1,2` (task order).
    public static func parseWeights(_ s: String, tasks: [String]) throws -> [Double] {
        let parts = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.allSatisfy({ $0.contains("=") }) {
            var byName: [String: Double] = [:]
            for p in parts {
                let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2, let w = Double(kv[1]) else { throw ValidationError("--weights: '\(p)' is not TASK=NUMBER") }
                guard tasks.contains(kv[0]) else { throw ValidationError("--weights names task '\(kv[0])', which is not one of the tasks (\(tasks.joined(separator: ", ")))") }
                byName[kv[0]] = w
            }
            let missing = tasks.filter { byName[$0] == nil }
            guard missing.isEmpty else { throw ValidationError("--weights gives no weight for \(missing.joined(separator: ", ")) (tasks: \(tasks.joined(separator: ", ")))") }
            return tasks.map { byName[$0]! }
        }
        return try parts.map { p in
            guard let w = Double(p) else { throw ValidationError("--weights: '\(p)' is not a number") }
            return w
        }
    }

    /// How class balancing is described in reports.
    public var classBalanceName: String {
        switch classBalance ?? .none {
        case .none: return "no balancing"
        case .inverse: return "inverse-frequency balancing"
        case .effective: return "effective-number balancing, β = \(beta ?? 0.999)"
        }
    }
}

extension Truncation: ExpressibleByArgument {}
