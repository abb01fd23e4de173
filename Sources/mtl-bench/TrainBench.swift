import ArgumentParser
import Batching
import Foundation
import NN
import Training

/// `mtl-bench train`: the whole run — a store built by `mtl-prep` from the same rows
/// `train_torch.py` reads, the loader, the trainer's steps and its evaluations — against
/// `../shared/bench/train_torch.py` with the same sizes, tokens (characters), data, epochs and
/// threads, and beside it `train-step`'s bare step on the same batches. Prints one JSON object
/// per figure.
struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "End-to-end training throughput and dev accuracy through mtl-train's Trainer, against the PyTorch reference.")

    @Option(help: "seed (emb 16, LSTM 32, batch 32), realistic (emb 128, BiLSTM 256, batch 64) or both.")
    var size: TrainStepBench.Size = .both
    @Option(help: "CSV with columns cat,label,review (default: $MTL_CORPORA or ../shared/corpora, chinese/online_shopping_10_cats.csv).")
    var corpus: String?
    @Option(name: .customLong("seed-limit"), help: "Rows per task at the seed size (train_torch.py --limit).") var seedLimit = 4000
    @Option(name: .customLong("realistic-limit"), help: "Rows per task at the realistic size.") var realisticLimit = 500
    @Option(help: "Epochs for both implementations.") var epochs = 3
    @Option(help: "Thread count for both implementations.") var threads = 2
    @Option(name: .customLong("max-len"), help: "Maximum sequence length (tokens are characters).") var maxLen = 128
    @Option(name: .customLong("torch-python"), help: "Python with torch installed; when given, train_torch.py runs in the same run.") var torchPython: String?
    @Option(name: .customLong("torch-script"), help: "Path of train_torch.py.") var torchScript = "../shared/bench/train_torch.py"
    @Flag(name: .customLong("skip-step"), help: "Do not run the bare step (train-step) beside it.") var skipStep = false
    @Option(name: .customLong("work-dir"), help: "Directory for the task files, stores and runs.") var workDir = "/tmp/mtl-bench-train"
    @Option(name: .customLong("rss-scale"), help: "Also measure mtl-train's peak RSS (/usr/bin/time) on a store and on one with N times its training rows (0: skip).") var rssScale = 0
    @Option(name: .customLong("rss-base"), help: "Copies of the seed-size training rows in the smaller RSS store (enough to fill the loader's shuffle window, so that the comparison shows the bound, not the fill).") var rssBase = 5
    @Option(name: .customLong("rss-steps"), help: "Steps of each RSS run.") var rssSteps = 400
    @Option(help: "Runs per implementation with seeds 0…N−1 (dev accuracy is reported as mean ± std over them; one run's accuracy on a few hundred dev rows moves by ±3 points with the seed).") var seeds = 1

    func run() throws {
        var stepBench = try TrainStepBench.parse(["--repeats", "\(epochs)", "--threads", "\(threads)", "--max-len", "\(maxLen)",
                                                  "--work-dir", workDir, "--torch-script", torchScript] + (corpus.map { ["--corpus", $0] } ?? []))
        stepBench.reexecWithSkylakeXIfNeeded()
        let csv = corpus ?? ((ProcessInfo.processInfo.environment["MTL_CORPORA"] ?? "../shared/corpora") + "/chinese/online_shopping_10_cats.csv")
        let tasks = try stepBench.prepareTaskFiles(corpus: csv)
        let sizes: [(String, Int, Int, Bool, Int, Int)] = [
            ("seed", 16, 32, false, 32, seedLimit), ("realistic", 128, 256, true, 64, realisticLimit),
        ].filter { size == .both || $0.0 == size.rawValue }
        for (name, emb, hid, bi, batch, limit) in sizes {
            let store = try buildStore(tasks: tasks, limit: limit, name: "\(name)-x1")
            var mine: [RunSummary] = []
            for seed in 0..<seeds { mine.append(try runTrainer(store: store, emb: emb, hid: hid, bi: bi, batch: batch, run: "\(name)-seed\(seed)", seed: UInt64(seed))) }
            let ourRate = median(mine.map(\.examplesPerSecond))
            let ourAccuracy = accuracies(mine)
            var figure: [String: Any] = ["bench": "train", "size": name, "impl": "mtl", "threads": threads, "batch": batch, "epochs": epochs,
                                         "rows_per_task": limit, "seeds": seeds, "examples_per_s": r1(ourRate), "runs": mine.map { r1($0.examplesPerSecond) },
                                         "wall_s": mine.map { r3($0.seconds) }, "eval_and_checkpoint_s": mine.map { r3($0.evaluationSeconds) },
                                         "data_wait_share": r4(median(mine.map(\.dataWaitShare)))]
            for (task, values) in ourAccuracy { figure["dev_accuracy_\(task)"] = meanStd(values) }
            emit(figure)
            if !skipStep {
                stepBench.seedLimit = limit; stepBench.realisticLimit = limit
                let runs = try stepBench.runMine(TrainStepBench.Config(emb: emb, hid: hid, bi: bi, batch: batch, limit: limit, maxLen: maxLen), tasks: tasks)
                let med = median(runs.map(\.rate))
                emit(["bench": "train", "size": name, "impl": "mtl-step", "examples_per_s": r1(med), "runs": runs.map { r1($0.rate) },
                      "run_over_step": r3(ourRate / med)])
            }
            if let py = torchPython {
                var rates: [Double] = [], theirAccuracy: [String: [Double]] = [:]
                for seed in 0..<seeds {
                    let (r, acc) = try TorchReference.run(python: py, script: torchScript, tasks: tasks, emb: emb, hid: hid, bi: bi, batch: batch,
                                                          epochs: epochs, threads: threads, maxLen: maxLen, limit: limit, seed: seed)
                    rates += r
                    for (k, v) in acc { theirAccuracy[k, default: []].append(v) }
                }
                let med = median(rates)
                var t: [String: Any] = ["bench": "train", "size": name, "impl": "torch", "seeds": seeds, "examples_per_s": r1(med), "runs": rates.map(r1)]
                for (k, v) in theirAccuracy { t["dev_accuracy_\(k)"] = meanStd(v) }
                emit(t)
                var ratio: [String: Any] = ["bench": "train", "size": name, "ratio_mtl_over_torch": r3(ourRate / med),
                                            "ratio_mtl_over_torch_best": r3(ourRate / (rates.max() ?? med))]
                for (task, ours) in ourAccuracy {
                    if let theirs = theirAccuracy[task] { ratio["accuracy_points_\(task)"] = r3(100 * (mean(ours) - mean(theirs))) }
                }
                emit(ratio)
            }
        }
        if rssScale > 1 {
            let small = try buildStore(tasks: tasks, limit: seedLimit, name: "rss-x1", repeatRows: rssBase)
            let large = try buildStore(tasks: tasks, limit: seedLimit, name: "rss-x\(rssScale)", repeatRows: rssBase * rssScale)
            let a = try peakRSS(store: small, run: "rss-x1"), b = try peakRSS(store: large, run: "rss-x\(rssScale)")
            emit(["bench": "train-rss", "training_rows_x1": Int(Double(seedLimit) * 0.9) * rssBase, "scale": rssScale, "steps": rssSteps, "store_bytes_x1": fileSize(small),
                  "store_bytes_scaled": fileSize(large), "peak_rss_mb_x1": r1(a), "peak_rss_mb_scaled": r1(b), "growth": r3(b / a - 1)])
        }
    }

    // MARK: our run

    /// Writes train.csv and dev.csv (the first 90% and the last 10% of the first `limit` rows, as
    /// train_torch.py cuts them) and imports them with characters as tokens; split and vocabulary follow.
    func buildStore(tasks: [TrainStepBench.Task], limit: Int, name: String, repeatRows: Int = 1) throws -> String {
        let dir = workDir + "/" + name
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let n = min(limit, tasks[0].texts.count), cut = Int(Double(n) * 0.9)
        func q(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        func write(_ rows: Range<Int>, _ path: String, copies: Int) throws {
            var s = "text,topic,sentiment\n"
            for copy in 0..<copies {
                // Copies differ by a suffix so that they are distinct examples, not duplicates merged by the split.
                let tag = copy == 0 ? "" : " #\(copy)"
                for i in rows { s += q(tasks[0].texts[i] + tag) + "," + q(tasks[0].labels[i]) + "," + q(tasks[1].labels[i]) + "\n" }
            }
            try s.write(toFile: path, atomically: true, encoding: .utf8)
        }
        try write(0..<cut, dir + "/train.csv", copies: repeatRows)
        try write(cut..<n, dir + "/dev.csv", copies: 1)
        let store = dir + "/store.sqlite"
        let common = ["--store", store, "--text", "text", "--label", "topic=topic", "--label", "sentiment=sentiment",
                      "--normalize", "none", "--tokenizer", "graphemes", "--allow-empty-text"]
        try tool("mtl-prep", ["import", dir + "/train.csv"] + common)
        try tool("mtl-prep", ["import", dir + "/dev.csv", "--part", "dev"] + common)
        try tool("mtl-prep", ["split", "--store", store, "--name", "main", "--ratios", "1,0,0"])
        try tool("mtl-prep", ["vocab", "--store", store, "--name", "main", "--split", "main"])
        return store
    }

    /// The trainer with train_torch.py's settings: no dropout, last-state pooling, Dense(32, relu)
    /// heads, Adam 1e-3, no clipping, homogeneous batches carrying only the drawn task's labels.
    func runTrainer(store: String, emb: Int, hid: Int, bi: Bool, batch: Int, run: String, seed: UInt64) throws -> RunSummary {
        let plan = try RunPlan(store: store, vocabulary: "main", split: "main", fold: nil, tasks: ["topic", "sentiment"])
        var m = ModelConfig(vocabularySize: plan.vocabularySize, padID: plan.padID, tasks: plan.tasks)
        m.embeddingSize = emb; m.hiddenSize = hid; m.bidirectional = bi; m.dropout = 0; m.pooling = .last; m.headHidden = 32
        var loader = LoaderConfig()
        loader.batchSize = batch; loader.maxLength = maxLen; loader.allTaskTargets = false
        var t = TrainingConfig(store: store, vocabulary: "main", split: "main", fold: plan.fold, tasks: plan.tasks.map(\.name), loader: loader)
        t.epochs = epochs; t.clip = 0; t.threads = threads; t.keepLast = 1; t.seed = seed; m.seed = seed
        t.evalMaxLength = maxLen   // train_torch.py truncates dev texts too
        let folder = RunFolder(path: workDir + "/runs/" + run)
        try? FileManager.default.removeItem(atPath: folder.path)
        let trainer = try Trainer(model: m, training: t, folder: folder, resume: false)
        let summary = try trainer.run()
        FileHandle.standardError.write(Data("mtl \(run): \(Int(summary.examplesPerSecond)) ex/s over \(summary.steps) steps, wall \(String(format: "%.2f", summary.seconds)) s\n".utf8))
        return summary
    }

    func peakRSS(store: String, run: String) throws -> Double {
        let out = workDir + "/" + run + ".time"
        let args = ["-v", productsDirectory + "/mtl-train", "--store", store, "--run", run, "--runs-dir", workDir + "/rss-runs",
                    "--emb", "16", "--hidden", "32", "--bidirectional", "false", "--steps", "\(rssSteps)", "--eval-every", "\(rssSteps)",
                    "--threads", "\(threads)", "--batch-size", "32"]
        try? FileManager.default.removeItem(atPath: workDir + "/rss-runs/" + run)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        p.arguments = args
        FileManager.default.createFile(atPath: out, contents: nil)
        p.standardError = FileHandle(forWritingAtPath: out)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ValidationError("mtl-train under /usr/bin/time failed; see \(out)") }
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.contains("Maximum resident set size") }),
              let kb = Double(line.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) else {
            throw ValidationError("no peak RSS in \(out)")
        }
        return kb / 1024
    }

    // MARK: PyTorch

    // MARK: helpers

    var productsDirectory: String { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path }

    func tool(_ name: String, _ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: productsDirectory + "/" + name)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ValidationError("\(name) \(args.joined(separator: " ")) failed") }
    }

    func accuracies(_ runs: [RunSummary]) -> [String: [Double]] {
        var out: [String: [Double]] = [:]
        for r in runs { for t in r.last?.tasks ?? [] { out[t.task, default: []].append(t.metrics["accuracy"] ?? 0) } }
        return out
    }
    func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
    func meanStd(_ v: [Double]) -> [String: Any] {
        let m = mean(v)
        let sd = v.count > 1 ? (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot() : 0
        return ["mean": r4(m), "std": r4(sd), "runs": v.map(r4)]
    }
    func fileSize(_ path: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0 }
    func r1(_ x: Double) -> Double { (x * 10).rounded() / 10 }
    func r3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
    func r4(_ x: Double) -> Double { (x * 10000).rounded() / 10000 }
}

/// `../shared/bench/train_torch.py`, run unchanged, as `train-step` and `train` measure against it.
enum TorchReference {
    /// Its training examples/s per epoch and dev accuracy per task file (`topic`, `sentiment`).
    /// The script hard-codes seed 0; with another `seed` its two seeding calls are redirected
    /// before it runs, so that both sides can average over the same seeds.
    static func run(python: String, script: String, tasks: [TrainStepBench.Task], emb: Int, hid: Int, bi: Bool, batch: Int,
                    epochs: Int, threads: Int, maxLen: Int, limit: Int, seed: Int = 0) throws -> (rates: [Double], accuracies: [String: Double]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        let reseed = "import random, runpy, sys, torch; s = int(sys.argv.pop(1)); ms = torch.manual_seed; rs = random.seed; " +
            "torch.manual_seed = lambda _: ms(s); random.seed = lambda *_: rs(s); sys.argv.pop(0); runpy.run_path(sys.argv[0], run_name='__main__')"
        let arguments = [script] + tasks.flatMap { ["--task", $0.path] } + [
            "--emb", "\(emb)", "--hid", "\(hid)", "--bi", bi ? "1" : "0", "--batch", "\(batch)", "--epochs", "\(epochs)",
            "--threads", "\(threads)", "--max-len", "\(maxLen)", "--tok", "char", "--limit", "\(limit)",
        ]
        p.arguments = seed == 0 ? arguments : ["-c", reseed, "\(seed)"] + arguments
        FileHandle.standardError.write(Data("running: \(python) \(p.arguments!.joined(separator: " "))\n".utf8))
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        FileHandle.standardError.write(Data(out.utf8))
        guard p.terminationStatus == 0 else { throw ValidationError("train_torch.py exited with \(p.terminationStatus)") }
        var rates: [Double] = [], accuracies: [String: Double] = [:]
        for line in out.split(separator: "\n") {
            if let r = line.range(of: "train examples/s=") {
                if let v = Double(line[r.upperBound...].prefix { $0.isNumber || $0 == "." }) { rates.append(v) }
            } else if line.hasPrefix("dev acc ") {
                // "dev acc topic.csv: 0.8125"
                let parts = line.dropFirst(8).split(separator: ":")
                if parts.count == 2, let v = Double(parts[1].trimmingCharacters(in: .whitespaces)) {
                    accuracies[String(parts[0]).replacingOccurrences(of: ".csv", with: "")] = v
                }
            }
        }
        guard !rates.isEmpty else { throw ValidationError("no examples/s in train_torch.py output") }
        return (rates, accuracies)
    }
}
