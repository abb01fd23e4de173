import ArgumentParser
import Foundation
import Splits
import Store
import Vocab

/// The ≥ 1M-example store both benchmarks run on, and the same file for the Python reference.
struct MillionStore: ParsableArguments {
    @Option(help: "Corpus repeated to ≥ 1M examples: sst2 (train.tsv ×15) or chinese (reviews ×16).")
    var corpus = "sst2"

    @Option(help: "Work directory for the repeated file and its store (reused between runs).")
    var workDir = "/tmp/mtl-bench-vocab"

    /// (file, text column, label column, store path), importing once.
    func prepare(_ options: BenchOptions) throws -> (file: String, text: String, label: String, store: String) {
        let (source, times, text, label): (String, Int, String, String) = corpus == "chinese"
            ? ("chinese/online_shopping_10_cats.csv", 16, "review", "cat")
            : ("sst2/train.tsv", 15, "sentence", "label")
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let ext = source.hasSuffix(".tsv") ? "tsv" : "csv"
        let file = "\(workDir)/\(corpus)x\(times).\(ext)"
        let store = "\(workDir)/\(corpus)x\(times).sqlite"
        if !FileManager.default.fileExists(atPath: store) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(options.corpora)/\(source)"))
            let firstNewline = bytes.firstIndex(of: 0x0A)! + 1
            var out = bytes.prefix(firstNewline)
            for _ in 0..<times { out.append(bytes.suffix(from: firstNewline)) }
            try out.write(to: URL(fileURLWithPath: file))
            let labels = corpus == "chinese" ? ["--label", "topic=cat", "--label", "sentiment=label", "--allow-empty-text"] : ["--label", "sentiment=label"]
            // Import beside it and rename on success, so a failed import leaves no half store behind.
            let partial = store + ".partial"
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: partial + suffix) }
            _ = try runProgram(options.mtlPrepPath, ["import", file, "--store", partial, "--text", text] + labels)
            try FileManager.default.moveItem(atPath: partial, toPath: store)
        }
        return (file, text, label, store)
    }
}

/// Runs vocab_split_py.py and returns its (vocab seconds, split seconds).
func pythonVocabSplit(_ options: BenchOptions, file: String, text: String, label: String) throws -> (vocab: Double, split: Double)? {
    guard let script = options.peerScript("vocab_split_py.py") else { return nil }
    let out = try runProgram(options.python, [script, file, text, label, "5"])
    func seconds(_ prefix: String) -> Double? {
        out.split(separator: "\n").first { $0.hasPrefix(prefix) }?.split(separator: "\t")
            .first { $0.hasPrefix("sec=") }.flatMap { Double($0.dropFirst(4)) }
    }
    guard let v = seconds("vocab(Counter)"), let s = seconds("split(") else { return nil }
    return (v, s)
}

struct VocabBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vocab",
        abstract: "Vocabulary counting on a ≥ 1M-example store against collections.Counter over tokenized lists (vocab_split_py.py).")

    @OptionGroup var options: BenchOptions
    @OptionGroup var million: MillionStore
    @Option(help: "Threads counting tokens.") var threads = 2

    func run() throws {
        let (file, text, label, storePath) = try million.prepare(options)
        let store = try ExampleStore(path: storePath)
        if try store.split(named: "bench") == nil {
            _ = try Splitter.run(store: store, name: "bench", spec: SplitSpec(kind: .kfold(folds: 5, test: 0), seed: 0, stratify: ["sentiment"]))
        }
        let membership = PartMembership.all
        // The token-type index is built once per store (on its first vocabulary) and extended
        // for later imports; timed here on a copy-free rebuild.
        try store.connection.execute("DELETE FROM token_type_chunks; DELETE FROM token_types")
        let indexStart = DispatchTime.now().uptimeNanoseconds
        try TokenTypeIndex.update(store: store)
        let indexSeconds = Double(DispatchTime.now().uptimeNanoseconds - indexStart) / 1e9
        var types = 0, tokens = 0, kept = 0
        let count = try medianSeconds(repeats: options.repeats) {
            let c = try VocabularyBuilder.countTokens(storePath: storePath, membership: membership, threads: threads)
            kept = VocabularyBuilder.select(c, minFreq: 2, maxSize: nil, specials: SpecialTokens.presets["default"]!).count
            types = c.distinct; tokens = c.tokens
        }
        let spec = VocabularySpec(name: "bench", split: "bench", fold: 0, minFreq: 2)
        var encoded = 0
        let build = try medianSeconds(repeats: max(1, options.repeats / 2)) {
            encoded = try VocabularyBuilder.build(store: store, spec: spec, replace: true, threads: threads).encodedExamples
        }
        var fields: [String: Any] = ["figure": "vocab count+order (all examples, min_freq 2)", "corpus": million.corpus, "threads": threads,
                                     "tokens": tokens, "types": types, "kept": kept, "seconds_median": count,
                                     "mtokens_per_s": Double(tokens) / count / 1e6]
        if let py = try pythonVocabSplit(options, file: file, text: text, label: label) {
            fields["counter_seconds"] = py.vocab
            fields["ratio_vs_counter"] = py.vocab / count
        }
        emit(fields)
        var index: [String: Any] = ["figure": "token-type index, built once per store (first vocab), every example", "corpus": million.corpus,
                                    "seconds": indexSeconds]
        if let c = fields["counter_seconds"] as? Double { index["ratio_vs_counter"] = c / indexSeconds }
        emit(index)
        emit(["figure": "vocab build (fold 0 training part counted, every example encoded and written)", "corpus": million.corpus,
              "examples_encoded": encoded, "seconds_median": build, "examples_per_s": Double(encoded) / build])
    }
}

struct SplitBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "5-fold stratified split of a ≥ 1M-example store (read, group, stratify, write) against scikit-learn's StratifiedKFold.")

    @OptionGroup var options: BenchOptions
    @OptionGroup var million: MillionStore

    func run() throws {
        let (file, text, label, storePath) = try million.prepare(options)
        let store = try ExampleStore(path: storePath)
        let spec = try SplitSpec(kind: .kfold(folds: 5, test: 0), seed: 0, stratify: ["sentiment"])
        var examples: Int64 = 0
        let total = try medianSeconds(repeats: options.repeats) {
            examples = try Splitter.run(store: store, name: "bench-split", spec: spec, replace: true).split.examples
        }
        let keys = try store.exampleKeys()
        let strata = [UInt64](repeating: 1, count: keys.count)
        let assign = medianSeconds(repeats: options.repeats) { _ = Splitter.assign(keys: keys, strata: strata, spec: spec) }
        var fields: [String: Any] = ["figure": "split --kfold 5 --stratify sentiment (end to end, written)", "corpus": million.corpus,
                                     "examples": examples, "seconds_median": total, "assign_only_seconds": assign, "target_seconds": 2.0]
        if let py = try pythonVocabSplit(options, file: file, text: text, label: label) {
            fields["sklearn_stratifiedkfold_seconds"] = py.split
            fields["ratio_vs_sklearn"] = py.split / total
        }
        emit(fields)
    }
}
