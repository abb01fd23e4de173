import ArgumentParser
import Foundation

/// `mtl-bench predict`: records per second of `mtl-train predict` on raw text, one and two threads.
///
/// Imports the Chinese reviews with the default pipeline (NFKC, ICU words with the dictionary
/// segmenter), trains a model of the default size for a few steps (its accuracy does not change
/// the work a forward pass does), exports it, and times whole `mtl-train predict` processes on
/// the first `--lines` reviews as raw lines: reading, normalizing, tokenizing, the forward pass
/// and writing JSON lines, as a user runs it.
struct PredictBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Time mtl-train predict on raw Chinese reviews (records/s, 1 and 2 threads).")

    @Option(help: "CSV with columns cat,label,review (default: $MTL_CORPORA or ../shared/corpora, chinese/online_shopping_10_cats.csv).")
    var corpus: String?
    @Option(help: "Reviews to predict.") var lines = 10000
    @Option(help: "Training steps of the model (its weights, not its quality, matter here).") var steps = 100
    @Option(help: "Runs per thread count (the median is reported).") var repeats = 3
    @Option(name: .customLong("batch-size"), help: "Texts per forward pass.") var batchSize = 64
    @Option(help: "Model sizes as EMB:HIDDEN:BI (comma-separated); default: mtl-train's default and the seed size.")
    var sizes = "128:128:true,16:32:false"
    @Option(name: .customLong("work-dir"), help: "Directory for the store, runs and input.") var workDir = "/tmp/mtl-bench-predict"

    func run() throws {
        let csv = corpus ?? ((ProcessInfo.processInfo.environment["MTL_CORPORA"] ?? "../shared/corpora") + "/chinese/online_shopping_10_cats.csv")
        guard FileManager.default.fileExists(atPath: csv) else { throw ValidationError("no corpus at \(csv) (--corpus or $MTL_CORPORA)") }
        try? FileManager.default.removeItem(atPath: workDir)
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let store = workDir + "/store.sqlite"
        try tool("mtl-prep", ["import", csv, "--store", store, "--text", "review", "--label", "topic=cat", "--label", "sentiment=label", "--allow-empty-text"])
        try tool("mtl-prep", ["split", "--store", store, "--name", "main", "--ratios", "0.9,0.1,0"])
        try tool("mtl-prep", ["vocab", "--store", store, "--name", "main", "--split", "main"])

        // Raw lines: the reviews as the CSV holds them (line breaks inside a review become spaces).
        let input = workDir + "/reviews.txt"
        let texts = try readReviews(store: store, limit: lines)
        try (texts.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let bytes = texts.reduce(0) { $0 + $1.utf8.count + 1 }

        for size in sizes.split(separator: ",") {
            let p = size.split(separator: ":").map(String.init)
            guard p.count == 3 else { throw ValidationError("--sizes: '\(size)' is not EMB:HIDDEN:BI") }
            let run = "e\(p[0])-h\(p[1])-\(p[2] == "true" ? "bi" : "uni")"
            try tool("mtl-train", ["--store", store, "--run", run, "--runs-dir", workDir + "/runs", "--emb", p[0], "--hidden", p[1],
                                   "--bidirectional", p[2], "--steps", "\(steps)", "--eval-every", "\(steps)", "--batch-size", "32"])
            let model = workDir + "/model-" + run
            try tool("mtl-train", ["export", "--run", run, "--runs-dir", workDir + "/runs", "--checkpoint", "latest", "-o", model])
            var rates: [Int: Double] = [:]
            for threads in [1, 2] {
                var output = ""
                let seconds = try medianSeconds(repeats: repeats) {
                    output = try runProgram(productsDirectory + "/mtl-train", ["predict", "--model", model, "--input", input,
                                                                               "--threads", "\(threads)", "--batch-size", "\(batchSize)"])
                }
                let produced = output.split(separator: "\n").count
                guard produced == texts.count else { throw ValidationError("predict wrote \(produced) lines for \(texts.count) records") }
                rates[threads] = Double(texts.count) / seconds
                emit(["bench": "predict", "model": run, "threads": threads, "records": texts.count, "input_mb": r2(Double(bytes) / 1e6),
                      "batch": batchSize, "median_s": r3(seconds), "records_per_s": Int(rates[threads]!.rounded()),
                      "mb_per_s": r2(Double(bytes) / 1e6 / seconds)])
            }
            emit(["bench": "predict", "model": run, "two_threads_over_one": r3(rates[2]! / rates[1]!)])
        }
    }

    /// The first `limit` non-empty reviews as the store holds them (the original text), one per line.
    func readReviews(store: String, limit: Int) throws -> [String] {
        let sql = "SELECT replace(replace(text, char(13), ' '), char(10), ' ') FROM examples WHERE text <> '' ORDER BY id LIMIT \(limit)"
        return try runProgram("/usr/bin/sqlite3", [store, sql]).split(separator: "\n").map(String.init)
    }

    var productsDirectory: String { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path }

    func tool(_ name: String, _ args: [String]) throws {
        _ = try runProgram(productsDirectory + "/" + name, args)
    }

    func r2(_ x: Double) -> Double { (x * 100).rounded() / 100 }
    func r3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
}
