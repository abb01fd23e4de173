import ArgumentParser
import Foundation
import Batching
import NN
import Training

/// `mtl-bench train-step`: times the trainer's step (`Training.TrainingStep`: forward + backward + Adam) of
/// the seed model (Embedding → (Bi)LSTM → per-task Dense(32, relu) → Dense) on the batches `../shared/bench/train_torch.py` trains on, and
/// optionally runs that PyTorch script in the same run. Prints one JSON object per figure.
struct TrainStepBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-step",
        abstract: "Training-step throughput of the NN core against the PyTorch reference.")

    enum Size: String, ExpressibleByArgument, CaseIterable { case seed, realistic, both }

    @Option(help: "seed (emb 16, LSTM 32, batch 32), realistic (emb 128, BiLSTM 256, batch 64) or both.")
    var size: Size = .both
    @Option(help: "CSV with columns cat,label,review (default: $MTL_CORPORA or ../shared/corpora, chinese/online_shopping_10_cats.csv).")
    var corpus: String?
    @Option(help: "Rows per task file at the seed size (train_torch.py --limit).")
    var seedLimit = 4000
    @Option(help: "Rows per task file at the realistic size (train_torch.py --limit).")
    var realisticLimit = 500
    @Option(help: "Repetitions (epochs); medians are reported.")
    var repeats = 3
    @Option(help: "Thread count for both implementations.")
    var threads = 2
    @Option(help: "Maximum sequence length (tokens are characters).")
    var maxLen = 128
    @Option(help: "Python with torch installed; when given, train_torch.py runs in the same run.")
    var torchPython: String?
    @Option(help: "Path of train_torch.py (default: ../shared/bench/train_torch.py).")
    var torchScript = "../shared/bench/train_torch.py"
    @Option(help: "OpenBLAS kernel set (e.g. SkylakeX, Haswell). Default: keep $OPENBLAS_CORETYPE if set, else SkylakeX on AVX-512 CPUs.")
    var openblasCoretype: String?
    @Option(help: "Write the trained model (last size run) and Adam state to this safetensors file.")
    var saveCheckpoint: String?
    @Option(help: "Directory for the two task CSVs given to both implementations.")
    var workDir = "/tmp/mtl-bench-train-step"

    func run() throws {
        reexecWithSkylakeXIfNeeded()
        // sgemm peak: best of several 1024³ products, measured before and after the runs (shared machine).
        func peaks() -> (Double, Double) {
            BLAS.setThreads(1); let p1 = BLAS.measurePeakGFLOPS(repeats: 10)
            BLAS.setThreads(threads); let pn = BLAS.measurePeakGFLOPS(repeats: 10)
            return (p1, pn)
        }
        var (peak1, peakN) = peaks()
        let csv = corpus ?? ((ProcessInfo.processInfo.environment["MTL_CORPORA"] ?? "../shared/corpora") + "/chinese/online_shopping_10_cats.csv")
        let tasks = try prepareTaskFiles(corpus: csv)
        let sizes: [(String, Int, Int, Bool, Int, Int)] = [
            ("seed", 16, 32, false, 32, seedLimit), ("realistic", 128, 256, true, 64, realisticLimit),
        ].filter { size == .both || $0.0 == size.rawValue }
        for (name, emb, hid, bi, batch, limit) in sizes {
            let cfg = Config(emb: emb, hid: hid, bi: bi, batch: batch, limit: limit, maxLen: maxLen)
            let mine = try runMine(cfg, tasks: tasks)
            let (p1, pn) = peaks()
            peak1 = max(peak1, p1); peakN = max(peakN, pn)
            let mineMed = median(mine.map { $0.rate })
            let gflops = median(mine.map { $0.gflops })
            emit(["bench": "train-step", "size": name, "impl": "mtl", "threads": threads, "batch": batch,
                  "examples_per_s": r1(mineMed), "runs": mine.map { r1($0.rate) }, "gflops": r1(gflops),
                  "sgemm_peak_gflops": r1(peakN), "share_of_peak": r3(gflops / peakN),
                  "loss_first": r3(mine.first!.firstLoss), "loss_last": r3(mine.last!.lastLoss)])
            if let py = torchPython {
                let runs = try runTorch(py, cfg, tasks: tasks)
                let med = median(runs)
                let flopsPerEx = mine[0].flops / Double(mine[0].examples)
                emit(["bench": "train-step", "size": name, "impl": "torch", "threads": threads, "batch": batch,
                      "examples_per_s": r1(med), "runs": runs.map(r1), "gflops": r1(med * flopsPerEx / 1e9)])
                // On a shared machine PyTorch's 2-thread runs suffer most from contention; the ratio of our
                // median to PyTorch's best repetition is the conservative figure.
                emit(["bench": "train-step", "size": name, "ratio_mtl_over_torch": r3(mineMed / med),
                      "ratio_mtl_median_over_torch_best": r3(mineMed / runs.max()!)])
            }
        }
        emit(["bench": "sgemm-peak", "threads": 1, "gflops": r1(peak1), "blas_core": BLAS.coreName])
        emit(["bench": "sgemm-peak", "threads": threads, "gflops": r1(peakN), "blas_core": BLAS.coreName])
    }

    // MARK: data

    struct Config { let emb, hid: Int; let bi: Bool; let batch, limit, maxLen: Int }
    struct Task { let path: String; let texts: [String]; let labels: [String] }

    /// Writes topic.csv (review, cat) and sentiment.csv (review, label) with rows shuffled by a fixed seed,
    /// newlines in reviews replaced by spaces so Python's csv module reads exactly the same texts.
    func prepareTaskFiles(corpus: String) throws -> [Task] {
        guard let raw = FileManager.default.contents(atPath: corpus) else {
            throw ValidationError("cannot read \(corpus); set MTL_CORPORA or pass --corpus")
        }
        var rows = parseCSV(String(decoding: raw, as: UTF8.self))
        guard rows.first == ["cat", "label", "review"] else { throw ValidationError("\(corpus): expected header cat,label,review") }
        rows.removeFirst()
        rows = rows.filter { $0.count == 3 }
        var rng = SplitMix64(seed: 42)
        rows.shuffle(using: &rng)
        let texts = rows.map { $0[2].replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ") }
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        func q(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        var out: [Task] = []
        for (name, col) in [("topic", 0), ("sentiment", 1)] {
            let labels = rows.map { $0[col] }
            var s = "text,label\n"
            for (t, l) in zip(texts, labels) { s += q(t) + "," + q(l) + "\n" }
            let path = workDir + "/\(name).csv"
            try s.write(toFile: path, atomically: true, encoding: .utf8)
            out.append(Task(path: path, texts: texts, labels: labels))
        }
        return out
    }

    func parseCSV(_ s: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = String.UnicodeScalarView()
        var inQuotes = false, it = s.unicodeScalars.makeIterator(), pending: Unicode.Scalar? = nil
        while let c = pending ?? it.next() {
            pending = nil
            if inQuotes {
                if c == "\"" {
                    if let n = it.next() { if n == "\"" { field.append("\"") } else { inQuotes = false; pending = n } } else { inQuotes = false }
                } else { field.append(c) }
            } else if c == "\"" { inQuotes = true }
            else if c == "," { row.append(String(field)); field = .init() }
            else if c == "\n" { row.append(String(field)); field = .init(); rows.append(row); row = [] }
            else if c != "\r" { field.append(c) }
        }
        if !field.isEmpty || !row.isEmpty { row.append(String(field)); rows.append(row) }
        return rows
    }

    // MARK: our step

    struct Run { let rate, gflops, flops: Double; let examples: Int; let firstLoss, lastLoss: Double }

    func runMine(_ c: Config, tasks: [Task]) throws -> [Run] {
        // Mirror train_torch.py: first `limit` rows, first 90% train, vocab over train chars ≤ maxLen.
        var vocab: [Unicode.Scalar: Int32] = [:]
        var train: [[(String, Int32)]] = []
        var classes: [Int] = []
        for t in tasks {
            let n = min(c.limit, t.texts.count), cut = Int(Double(n) * 0.9)
            let labels = Array(Set(t.labels[0..<n])).sorted()
            let lid = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, Int32($0)) })
            classes.append(labels.count)
            train.append((0..<cut).map { (t.texts[$0], lid[t.labels[$0]]!) })
        }
        for task in train { for (s, _) in task { for u in s.unicodeScalars.prefix(c.maxLen) where vocab[u] == nil { vocab[u] = Int32(vocab.count + 2) } } }
        // The model and step the trainer uses (Training), fed the fixed batches below.
        let specs = classes.enumerated().map { k, n in
            TaskSpec(name: "task\(k)", kind: .classification, labels: (0..<n).map { "c\($0)" }, tagScheme: nil, head: .softmax)
        }
        var modelConfig = ModelConfig(vocabularySize: vocab.count + 2, padID: 0, tasks: specs)
        modelConfig.embeddingSize = c.emb; modelConfig.hiddenSize = c.hid; modelConfig.bidirectional = c.bi
        modelConfig.dropout = 0; modelConfig.pooling = .last; modelConfig.headHidden = 32
        let model = try MultiTaskModel(config: modelConfig)
        let adam = Adam(learningRate: 1e-3)
        let trainStep = TrainingStep(model: model, optimizer: adam, weighting: .equal, losses: specs.map { _ in TaskLoss() },
                                     classWeights: specs.map { _ in nil }, clip: 0, seed: 0)
        let flopsPerToken = Double(c.bi ? 2 : 1) * 3 * 2 * Double(4 * c.hid * (c.emb + c.hid))
        var runs: [Run] = []
        var ids = [Int32](), lens = [Int32](), ys = [Int32]()
        for rep in 0..<repeats {
            var batches: [(Int, ArraySlice<(String, Int32)>)] = []
            for (k, t) in train.enumerated() {
                var r = t
                var srng = SplitMix64(seed: 1000 + UInt64(rep * 10 + k))
                r.shuffle(using: &srng)
                for i in stride(from: 0, to: r.count, by: c.batch) { batches.append((k, r[i..<min(i + c.batch, r.count)])) }
            }
            var brng = SplitMix64(seed: 7 + UInt64(rep))
            batches.shuffle(using: &brng)
            var examples = 0, tokens = 0, first = 0.0, last = 0.0
            let t0 = Clock.now()
            for (bi, (k, b)) in batches.enumerated() {
                // Batch construction (tokenise by character, look up, pad) is timed, as in train_torch.py.
                let seqs: [[Int32]] = b.map { (s, _) in
                    let q = s.unicodeScalars.prefix(c.maxLen).map { vocab[$0] ?? 1 }
                    return q.isEmpty ? [1] : q
                }
                let T = seqs.map(\.count).max()!
                ids.removeAll(keepingCapacity: true); lens.removeAll(keepingCapacity: true); ys.removeAll(keepingCapacity: true)
                for (q, (_, y)) in zip(seqs, b) {
                    ids.append(contentsOf: q); ids.append(contentsOf: repeatElement(0, count: T - q.count))
                    lens.append(Int32(q.count)); ys.append(y)
                }
                let targets = specs.indices.map { t in
                    TaskTargets(task: specs[t].name, kind: .classification, mask: [Bool](repeating: t == k, count: b.count),
                                classes: t == k ? ys : [Int32](repeating: -1, count: b.count), labelCount: classes[t])
                }
                let batch = Batch(task: k, size: b.count, paddedLength: T, tokenIDs: ids, lengths: lens,
                                  exampleIDs: [Int64](repeating: 0, count: b.count), drawnFor: [Int32](repeating: Int32(k), count: b.count), targets: targets)
                let input = try ModelInput(batch: batch)
                let loss = try trainStep(input, learningRate: 1e-3, step: bi + 1)[k] ?? .nan
                if bi == 0 { first = Double(loss) }
                last = Double(loss)
                examples += b.count; tokens += input.layout?.tokenCount ?? 0
            }
            let dt = Clock.now() - t0
            let flops = Double(tokens) * flopsPerToken
            runs.append(Run(rate: Double(examples) / dt, gflops: flops / dt / 1e9, flops: flops, examples: examples, firstLoss: first, lastLoss: last))
            FileHandle.standardError.write("mtl rep \(rep): \(Int(Double(examples) / dt)) ex/s, \(examples) ex in \(String(format: "%.2f", dt)) s, loss \(first) -> \(last)\n".data(using: .utf8)!)
        }
        if let path = saveCheckpoint {
            try Checkpoint.save(parameters: model.parameters, optimizer: adam, metadata: ["bench": "train-step", "step": "\(adam.stepCount)"], to: path)
        }
        return runs
    }

    // MARK: PyTorch reference

    func runTorch(_ python: String, _ c: Config, tasks: [Task]) throws -> [Double] {
        try TorchReference.run(python: python, script: torchScript, tasks: tasks, emb: c.emb, hid: c.hid, bi: c.bi, batch: c.batch,
                               epochs: repeats, threads: threads, maxLen: c.maxLen, limit: c.limit).rates
    }

    // MARK: helpers

    /// OpenBLAS 0.3.21 does not recognise some AVX-512 CPUs and falls back to Haswell kernels; the core
    /// type must be in the environment before the library loads, so re-exec once with it set.
    func reexecWithSkylakeXIfNeeded() { Self.reexecWithSkylakeXIfNeeded(openblasCoretype) }

    static func reexecWithSkylakeXIfNeeded(_ openblasCoretype: String?) {
        let current = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        let wanted: String
        if let o = openblasCoretype { wanted = o }
        else if current == nil, BLAS.cpuHasAVX512F { wanted = "SkylakeX" }
        else { return }
        guard current?.lowercased() != wanted.lowercased() else { return }
        setenv("OPENBLAS_CORETYPE", wanted, 1)
        let args = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", args)
    }

    func r1(_ x: Double) -> Double { (x * 10).rounded() / 10 }
    func r3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
}
