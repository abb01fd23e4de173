import ArgumentParser
import Batching
import CLIOptions
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

    @Option(help: "The store.") var store = "mtl.sqlite"
    @Option(help: "The vocabulary (default: the store's only one).") var vocab: String?
    @Option(help: "The split (default: the vocabulary's).") var split: String?
    @Option(help: "The fold of a k-fold split (default: the vocabulary's, else 0).") var fold: Int?
    @Option(help: "Tasks, comma-separated, in target order (default: all).") var tasks: String?
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Seed.") var seed: UInt64 = 0

    @Option(help: "Batches to draw.") var steps = 1000
    @Flag(help: "Print per task and class the realized share against the target share (instead of one line per batch).") var report = false
    @Flag(help: "JSON output.") var json = false
    @Option(help: "Resume from a loader state saved with --save-state.") var resume: String?
    @Option(name: .customLong("save-state"), help: "Write the loader state after the last batch (JSON).") var saveState: String?

    func validate() throws {
        if steps < 0 { throw ValidationError("--steps must not be negative") }
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
            let c = try sampling.loaderConfig(taskNames: names, seed: seed)
            source = try StoreSource(path: store, vocabulary: vocab, split: split, fold: fold, tasks: taskList, config: c)
            var state: LoaderState? = nil
            if let resume { state = try LoaderState.decode(json: Data(contentsOf: URL(fileURLWithPath: resume))) }
            loader = try Loader(source: source, config: c, state: state)
        } catch let e as BatchingError {
            throw CLIError(e.message)
        } catch let e as CLIError {
            throw e
        } catch let e as ValidationError {
            throw CLIError(e.message)
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
            let unit = sampling.isMixed ? "examples" : "batches"
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
                                 "strategy": loader.config.taskSampling.name, "homogeneous": !sampling.isMixed, "share_of": unit, "batches": steps,
                                 "examples": examples, "epochs_started": loader.state.epoch + (loader.state.stepInEpoch > 0 ? 1 : 0),
                                 "padding_share": padded > 0 ? Double(padded - real) / Double(padded) : 0, "tasks": tasksOut])
            } else {
                func f(_ x: Double) -> String { String(format: "%.4f", x) }
                out += "\(store): split \(source.split.name)\(source.split.kind == .kfold ? " fold \(source.fold)" : ""), vocabulary \(source.vocabulary.name); "
                out += "\(steps) batches, \(examples) examples, epoch \(loader.state.epoch); strategy \(loader.config.taskSampling.name), \(sampling.isMixed ? "mixed" : "homogeneous") batches\n"
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
                    out += "class shares in \(info.name) (of its \(n) examples drawn; \(sampling.classBalanceName)):\n"
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

    func jsonLine(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}


