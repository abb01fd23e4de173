import ArgumentParser
import Batching
import Foundation
import Store

/// `mtl-bench batches`: training batches per second from a store of ≥ 1M examples (the SST-2
/// sentences and the Chinese reviews, imported once with `mtl-prep import` and copied through
/// the Store API), one thread and through the background loader, with the loader's peak RSS.
/// Sequences ≤ 64 tokens, batch 32, proportional homogeneous batches over `sentiment` (both
/// corpora) and `topic` (the reviews).
struct BatchBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batches",
        abstract: "Loader throughput (examples/s) and peak RSS on a large store.",
        discussion: """
            Build a store once:  mtl-bench batches --make-store /tmp/b1m.sqlite --examples 1000000
            Then measure:        mtl-bench batches --store /tmp/b1m.sqlite
            Peak RSS of a run is printed (getrusage); compare stores with /usr/bin/time -v.
            """)

    @OptionGroup var options: BenchOptions

    @Option(help: "Measure this store (built by --make-store).")
    var store: String?

    @Option(help: "Build a store here (then measure it unless --build-only).")
    var makeStore: String?

    @Option(help: "Examples in the built store (copies of both corpora, alternately).")
    var examples = 1_000_000

    @Flag(help: "Only build the store.")
    var buildOnly = false

    @Option(help: "Examples drawn per repetition.")
    var draw = 1_000_000

    @Option(help: "Batch size.")
    var batchSize = 32

    @Option(help: "Maximum sequence length (tokens).")
    var maxLength = 64

    @Flag(help: "Skip the background-loader figure.")
    var noBackground = false

    func run() throws {
        var path = store
        if let target = makeStore {
            try build(at: target)
            path = target
            if buildOnly { return }
        }
        guard let path else { throw ValidationError("give --store PATH (or --make-store PATH)") }
        var config = LoaderConfig()
        config.batchSize = batchSize
        config.maxLength = maxLength
        config.taskSampling = .proportional
        config.seed = 1
        let t0 = DispatchTime.now().uptimeNanoseconds
        let source = try StoreSource(path: path, config: config)
        let indexSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let storeExamples = try source.store.exampleIDBounds().map { $0.upperBound - $0.lowerBound + 1 } ?? 0
        let loader = try Loader(source: source, config: config)
        let batches = max(1, draw / batchSize)
        var drawn = 0, tokens = 0
        let seconds = try medianSeconds(repeats: options.repeats) {
            for _ in 0..<batches { let b = try loader.next(); drawn += b.size; tokens += b.size * b.paddedLength }
        }
        let perRun = Double(drawn) / Double(max(1, options.repeats))
        emit(["bench": "batches", "impl": "loader-1-thread", "store_examples": storeExamples, "batch_size": batchSize, "max_length": maxLength,
              "examples_per_s": perRun / seconds, "batches_per_s": Double(batches) / seconds, "seconds_median": seconds, "runs": options.repeats,
              "index_seconds": indexSeconds, "training_examples": loader.taskCounts.reduce(0, +),
              "mean_padded_length": Double(tokens) / Double(max(1, drawn)), "target_examples_per_s": 200_000])
        if !noBackground {
            let bg = BackgroundLoader(try Loader(source: StoreSource(path: path, config: config), config: config), capacity: 16)
            var n = 0
            let s = try medianSeconds(repeats: options.repeats) {
                for _ in 0..<batches { n += try bg.next().size }
            }
            bg.stop()
            emit(["bench": "batches", "impl": "background-loader", "store_examples": storeExamples,
                  "examples_per_s": Double(n) / Double(max(1, options.repeats)) / s, "seconds_median": s, "runs": options.repeats])
        }
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        emit(["bench": "batches", "figure": "peak_rss", "store_examples": storeExamples, "peak_rss_mb": Double(usage.ru_maxrss) / 1024])
    }

    // MARK: - Building the store

    struct BaseExample {
        var text: String, tokens: [UInt8], normHash: Int64
        var labels: [(task: String, label: String)]
        var ids: [Int32]
    }

    private func build(at path: String) throws {
        let fm = FileManager.default
        for s in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: path + s) }
        let work = fm.temporaryDirectory.appendingPathComponent("mtl-bench-batches-\(getpid())")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }
        let corpora = URL(fileURLWithPath: options.corpora)
        let base = work.appendingPathComponent("base.sqlite").path
        let t0 = Date()
        _ = try runProgram(options.mtlPrepPath, ["import", corpora.appendingPathComponent("sst2/train.tsv").path, "--store", base,
                                                 "--text", "sentence", "--label", "sentiment=label"])
        _ = try runProgram(options.mtlPrepPath, ["import", corpora.appendingPathComponent("chinese/online_shopping_10_cats.csv").path, "--store", base,
                                                 "--text", "review", "--label", "topic=cat", "--label", "sentiment=label", "--allow-empty-text"])
        // The base examples, per source, with labels by name.
        let b = try ExampleStore(path: base, readOnly: true)
        let tasks = try b.tasks()
        var labelNames: [Int64: [String]] = [:]
        for t in tasks { labelNames[t.id] = try b.labels(taskID: t.id).map(\.name) }
        var annotations: [Int64: [(String, String)]] = [:]
        for t in tasks {
            try b.forEachAnnotation(taskID: t.id) { id, v in annotations[id, default: []].append((t.name, labelNames[t.id]![Int(v.ids[0])])) }
        }
        var corpusExamples: [[BaseExample]] = []
        var counts: [String: Int64] = [:]
        for src in try b.sources() {
            var list: [BaseExample] = []
            try b.forEachExample(sourceID: src.id) { e in
                list.append(BaseExample(text: e.text, tokens: e.tokens, normHash: e.normHash, labels: annotations[e.id] ?? [], ids: []))
                for t in try TokenBlob.decode(e.tokens, text: e.text).tokens { counts[t, default: 0] += 1 }
            }
            corpusExamples.append(list)
        }
        // Vocabulary: <pad>, <unk>, then tokens seen twice or more by frequency (ties alphabetical).
        let kept = counts.filter { $0.value >= 2 }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        var entries = [VocabEntry(token: "<pad>", count: 0), VocabEntry(token: "<unk>", count: 0)]
        var idOf: [String: Int32] = [:]
        for (t, c) in kept { idOf[t] = Int32(entries.count); entries.append(VocabEntry(token: t, count: c)) }
        for c in corpusExamples.indices {
            for i in corpusExamples[c].indices {
                corpusExamples[c][i].ids = try TokenBlob.decode(corpusExamples[c][i].tokens, text: corpusExamples[c][i].text).tokens.map { idOf[$0] ?? 1 }
            }
        }
        // Copies, one import transaction each, alternating corpora until `examples` are stored.
        let s = try ExampleStore(path: path)
        var written = 0, copy = 0
        var order: [(corpus: Int, index: Int)] = []
        order.reserveCapacity(examples)
        while written < examples {
            let c = copy % corpusExamples.count
            let list = corpusExamples[c]
            let n = min(list.count, examples - written)
            let sha = String(format: "%064x", copy)
            guard case .started(let session) = try s.beginImport(SourceInfo(path: "copy-\(copy)", format: "csv", contentSHA256: sha)) else { fatalError() }
            var taskIDs: [String: Int64] = [:]
            for t in tasks { taskIDs[t.name] = try session.task(t.name, kind: t.kind).id }
            for i in 0..<n {
                let e = list[i]
                var ann: [(taskID: Int64, value: AnnotationValue)] = []
                for (task, label) in e.labels { ann.append((taskIDs[task]!, .label(try session.labelID(label, task: taskIDs[task]!)))) }
                try session.add(NewExample(locator: "copy-\(copy):\(i)", text: e.text, tokens: e.tokens, normHash: e.normHash, annotations: ann))
                order.append((c, i))
            }
            _ = try session.commit()
            written += n
            copy += 1
        }
        // Split: 80 / 10 / 10 by a hash of the id.
        guard let bounds = try s.exampleIDBounds() else { return }
        var a = SplitAssignments()
        for id in bounds {
            let h = ((UInt64(bitPattern: id) &* 0x9E37_79B9_7F4A_7C15) >> 40) % 10
            a.append(id, h < 8 ? .train : h == 8 ? .dev : .test)
        }
        let (split, _) = try s.saveSplit(name: "bench", kind: .ratio, folds: 0, seed: 1, paramsJSON: #"{"train":0.8,"dev":0.1,"test":0.1}"#, assignments: a)
        a = SplitAssignments()
        let w = try s.beginVocabulary(NewVocabulary(name: "bench", splitID: split.id, fold: nil, paramsJSON: #"{"min_count":2}"#, tokens: entries))
        for (k, id) in bounds.enumerated() {
            let (c, i) = order[k]
            try w.addEncoded(exampleID: id, ids: corpusExamples[c][i].ids)
        }
        _ = try w.commit()
        try s.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        emit(["bench": "batches", "figure": "store_built", "path": path, "examples": written, "copies": copy,
              "vocabulary": entries.count, "seconds": Date().timeIntervalSince(t0)])
    }
}
