import ArgumentParser
import Batching
import Foundation
import Store

/// `mtl-prep sample`: draws training batches without training, to see what a sampling
/// strategy does (`--report`: realized against target shares per task and class).
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw training batches without training; --report compares realized and target shares per task and class.",
        discussion: """
            Strategies (n_i = training examples of task i in the split and fold):
              proportional  n_i / Σn          uniform      1 / #tasks
              temperature   n_i^(1/T)         t5           min(n_i·scale, K)^(1/T)
              annealed      n_i^α, α = 1 − 0.8(e−1)/(E−1)     weights   given per task
              round-robin   tasks in turn
            Example: mtl-prep sample --strategy temperature --temperature 2 --class-balance inverse --steps 2000 --report
            """)

    enum Strategy: String, ExpressibleByArgument, CaseIterable {
        case proportional, uniform, temperature, t5, annealed, weights
        case roundRobin = "round-robin"
    }
    enum Balance: String, ExpressibleByArgument, CaseIterable { case none, inverse, effective }

    @Option(help: "The store.") var store = "mtl.sqlite"
    @Option(help: "The vocabulary (default: the store's only one).") var vocab: String?
    @Option(help: "The split (default: the vocabulary's).") var split: String?
    @Option(help: "The fold of a k-fold split (default: the vocabulary's, else 0).") var fold: Int?
    @Option(help: "Tasks, comma-separated, in target order (default: all).") var tasks: String?

    @Option(help: "Task sampling: \(Strategy.allCases.map(\.rawValue).joined(separator: ", ")).") var strategy: Strategy = .proportional
    @Option(help: "Temperature T of temperature and t5 sampling (> 0).") var temperature: Double = 2
    @Option(help: "t5: the cap K on examples per task.") var cap: Double = 3000
    @Option(help: "t5: the scale applied to n_i before the cap.") var scale: Double = 1
    @Option(name: .customLong("anneal-epochs"), help: "annealed: the number of epochs E.") var annealEpochs = 3
    @Option(help: "weights: one per task, TASK=W,… or W,… in task order.") var weights: String?
    @Option(help: "Epoch: batches:N, first-exhausted or all-exhausted.") var epoch = "all-exhausted"
    @Flag(help: "Mixed batches (each example's task drawn separately) instead of one task per batch.") var mixed = false

    @Option(name: .customLong("class-balance"), help: "Within classification tasks: none, inverse (frequency) or effective (number, Cui et al.).") var classBalance: Balance = .none
    @Option(help: "β of the effective number.") var beta: Double = 0.999

    @Option(name: .customLong("batch-size"), help: "Examples per batch (the most, with --max-tokens).") var batchSize = 32
    @Option(name: .customLong("max-tokens"), help: "Padded-token budget per batch.") var maxTokens: Int?
    @Option(name: .customLong("max-length"), help: "Tokens kept per example.") var maxLength = 128
    @Option(help: "Truncation of longer examples: head (keep the first tokens) or tail.") var truncate: Truncation = .head
    @Option(help: "Length bucketing: sort within runs of this many batches (0: off).") var bucket = 0
    @Option(help: "Seed.") var seed: UInt64 = 0

    @Option(help: "Batches to draw.") var steps = 1000
    @Flag(help: "Print per task and class the realized share against the target share (instead of one line per batch).") var report = false
    @Flag(help: "JSON output.") var json = false
    @Option(help: "Resume from a loader state saved with --save-state.") var resume: String?
    @Option(name: .customLong("save-state"), help: "Write the loader state after the last batch (JSON).") var saveState: String?

    func validate() throws {
        if steps < 0 { throw ValidationError("--steps must not be negative") }
    }

    func config(taskNames: [String]) throws -> LoaderConfig {
        var c = LoaderConfig()
        c.batchSize = batchSize; c.maxTokens = maxTokens; c.maxLength = maxLength; c.truncation = truncate
        c.bucketBatches = bucket; c.seed = seed; c.homogeneous = !mixed
        switch strategy {
        case .proportional: c.taskSampling = .proportional
        case .uniform: c.taskSampling = .uniform
        case .temperature: c.taskSampling = .temperature(temperature)
        case .t5: c.taskSampling = .cappedProportional(cap: cap, scale: scale, temperature: temperature)
        case .annealed: c.taskSampling = .annealed(epochs: annealEpochs)
        case .roundRobin: c.taskSampling = .roundRobin
        case .weights:
            guard let weights else { throw CLIError("--strategy weights needs --weights (one per task: \(taskNames.joined(separator: ", ")))") }
            c.taskSampling = .weights(try Self.parseWeights(weights, tasks: taskNames))
        }
        if weights != nil && strategy != .weights { throw CLIError("--weights is only for --strategy weights") }
        switch classBalance {
        case .none: c.classBalancing = .none
        case .inverse: c.classBalancing = .inverseFrequency
        case .effective: c.classBalancing = .effectiveNumber(beta: beta)
        }
        switch epoch {
        case "first-exhausted": c.epoch = .firstExhausted
        case "all-exhausted": c.epoch = .allExhausted
        default:
            guard epoch.hasPrefix("batches:"), let n = Int(epoch.dropFirst(8)) else {
                throw CLIError("--epoch must be batches:N, first-exhausted or all-exhausted (got '\(epoch)')")
            }
            c.epoch = .batches(n)
        }
        return c
    }

    /// `a=1,b=2` (by task name, every task once) or `1,2` (task order).
    static func parseWeights(_ s: String, tasks: [String]) throws -> [Double] {
        let parts = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.allSatisfy({ $0.contains("=") }) {
            var byName: [String: Double] = [:]
            for p in parts {
                let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2, let w = Double(kv[1]) else { throw CLIError("--weights: '\(p)' is not TASK=NUMBER") }
                guard tasks.contains(kv[0]) else { throw CLIError("--weights names task '\(kv[0])', which is not one of the tasks (\(tasks.joined(separator: ", ")))") }
                byName[kv[0]] = w
            }
            let missing = tasks.filter { byName[$0] == nil }
            guard missing.isEmpty else { throw CLIError("--weights gives no weight for \(missing.joined(separator: ", ")) (tasks: \(tasks.joined(separator: ", ")))") }
            return tasks.map { byName[$0]! }
        }
        return try parts.map { p in
            guard let w = Double(p) else { throw CLIError("--weights: '\(p)' is not a number") }
            return w
        }
    }

    func run() throws {
        guard FileManager.default.fileExists(atPath: store) else { throw CLIError("\(store): no such store") }
        let taskList = tasks?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let loader: Loader
        let source: StoreSource
        do {
            // The task names are needed to read --weights; open with the default config first
            // only when the tasks are not given.
            var names = taskList ?? []
            if taskList == nil {
                let s = try ExampleStore(path: store, readOnly: true)
                names = try s.tasks().map(\.name)
            }
            let c = try config(taskNames: names)
            source = try StoreSource(path: store, vocabulary: vocab, split: split, fold: fold, tasks: taskList, config: c)
            var state: LoaderState? = nil
            if let resume { state = try LoaderState.decode(json: Data(contentsOf: URL(fileURLWithPath: resume))) }
            loader = try Loader(source: source, config: c, state: state)
        } catch let e as BatchingError {
            throw CLIError(e.message)
        } catch let e as CLIError {
            throw e
        } catch {
            throw CLIError("\(store): \(error)")
        }
        let T = loader.tasks.count
        var batchShares = [Double](repeating: 0, count: T)   // realized, homogeneous: batches; mixed: examples
        var targetShares = [Double](repeating: 0, count: T)
        var classCounts: [[Int]] = loader.tasks.map { [Int](repeating: 0, count: $0.labelCount) }
        var examples = 0, padded = 0, real = 0
        var out = ""
        for _ in 0..<steps {
            let b: Batch
            do { b = try loader.next() } catch let e as BatchingError { throw CLIError(e.message) }
            let p = loader.taskProbabilities(epoch: b.epoch)
            if let t = b.task {
                batchShares[t] += 1
                for k in 0..<T { targetShares[k] += p[k] }
            } else {
                for d in b.drawnFor { batchShares[Int(d)] += 1; for k in 0..<T { targetShares[k] += p[k] } }
            }
            for r in 0..<b.size {
                let t = Int(b.drawnFor[r])
                if loader.tasks[t].kind == .classification { classCounts[t][Int(b.targets[t].classes[r])] += 1 }
            }
            examples += b.size; padded += b.size * b.paddedLength; real += Int(b.lengths.reduce(0, +))
            if !report {
                if json {
                    out += jsonLine(["step": b.step, "epoch": b.epoch, "task": b.task.map { loader.tasks[$0].name } ?? NSNull(), "size": b.size,
                                     "padded_length": b.paddedLength, "example_ids": b.exampleIDs, "fingerprint": String(b.fingerprint, radix: 16)])
                } else {
                    out += "step \(b.step) epoch \(b.epoch) \(b.task.map { loader.tasks[$0].name } ?? "mixed") \(b.size)×\(b.paddedLength) ids \(b.exampleIDs.map(String.init).joined(separator: ","))\n"
                }
                if out.utf8.count > 1 << 16 { try StandardOutput.write(Array(out.utf8)); out = "" }
            }
        }
        if let saveState {
            try loader.state.json().write(to: URL(fileURLWithPath: saveState), options: .atomic)
        }
        if report {
            let total = batchShares.reduce(0, +)
            let unit = mixed ? "examples" : "batches"
            if json {
                var tasksOut: [[String: Any]] = []
                for (t, info) in loader.tasks.enumerated() {
                    var entry: [String: Any] = ["task": info.name, "kind": info.kind.rawValue, "training_examples": loader.taskCounts[t],
                                                "target_share": total > 0 ? targetShares[t] / total : 0, "realized_share": total > 0 ? batchShares[t] / total : 0]
                    if info.kind == .classification {
                        let target = loader.classShares(task: t), n = classCounts[t].reduce(0, +)
                        entry["classes"] = info.labels.enumerated().map { c, name -> [String: Any] in
                            ["label": name, "training_examples": loader.source.index.classTotals[t][c], "target_share": target[c],
                             "realized_share": n > 0 ? Double(classCounts[t][c]) / Double(n) : 0]
                        }
                    }
                    tasksOut.append(entry)
                }
                out += jsonLine(["store": store, "split": source.split.name, "fold": source.fold, "vocabulary": source.vocabulary.name,
                                 "strategy": loader.config.taskSampling.name, "homogeneous": !mixed, "share_of": unit, "batches": steps,
                                 "examples": examples, "epochs_started": loader.state.epoch + (loader.state.stepInEpoch > 0 ? 1 : 0),
                                 "padding_share": padded > 0 ? Double(padded - real) / Double(padded) : 0, "tasks": tasksOut])
            } else {
                func f(_ x: Double) -> String { String(format: "%.4f", x) }
                out += "\(store): split \(source.split.name)\(source.split.kind == .kfold ? " fold \(source.fold)" : ""), vocabulary \(source.vocabulary.name); "
                out += "\(steps) batches, \(examples) examples, epoch \(loader.state.epoch); strategy \(loader.config.taskSampling.name), \(mixed ? "mixed" : "homogeneous") batches\n"
                out += "padding: \(f(padded > 0 ? Double(padded - real) / Double(padded) : 0)) of \(padded) padded tokens\n"
                out += "task shares (of \(unit)):\n"
                let w = max(4, loader.tasks.map(\.name.count).max() ?? 4)
                out += "  " + "task".padding(toLength: w, withPad: " ", startingAt: 0) + "  training  target  realized\n"
                for (t, info) in loader.tasks.enumerated() {
                    out += "  " + info.name.padding(toLength: w, withPad: " ", startingAt: 0)
                    out += "  " + String(loader.taskCounts[t]).leftPad(8) + "  " + f(total > 0 ? targetShares[t] / total : 0) + "  " + f(total > 0 ? batchShares[t] / total : 0) + "\n"
                }
                for (t, info) in loader.tasks.enumerated() where info.kind == .classification {
                    let target = loader.classShares(task: t), n = classCounts[t].reduce(0, +)
                    out += "class shares in \(info.name) (of its \(n) examples drawn; \(classBalanceName)):\n"
                    let lw = max(5, info.labels.map(\.count).max() ?? 5)
                    out += "  " + "label".padding(toLength: lw, withPad: " ", startingAt: 0) + "  training  target  realized\n"
                    for (c, name) in info.labels.enumerated() {
                        out += "  " + name.padding(toLength: lw, withPad: " ", startingAt: 0) + "  " + String(loader.source.index.classTotals[t][c]).leftPad(8)
                        out += "  " + f(target[c]) + "  " + f(n > 0 ? Double(classCounts[t][c]) / Double(n) : 0) + "\n"
                    }
                }
            }
        }
        try StandardOutput.write(Array(out.utf8))
    }

    var classBalanceName: String {
        switch classBalance {
        case .none: return "no balancing"
        case .inverse: return "inverse-frequency balancing"
        case .effective: return "effective-number balancing, β = \(beta)"
        }
    }

    func jsonLine(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension Truncation: ExpressibleByArgument {}

