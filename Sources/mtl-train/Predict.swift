import ArgumentParser
import CorpusImport
import Foundation
import NN
import Training

/// `mtl-train predict`: labels raw text with a checkpoint or an exported model, one JSON line
/// per input record, in input order. Records are read by `mtl-prep import`'s readers, so bad
/// input is reported the same way (file, line, what is wrong).
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Label raw text: one JSON line per record on standard output.",
        discussion: """
            --task (repeat) limits the tasks predicted, --batch (or --batch-size) sets the texts per forward pass, --threads the threads
            (mtl-train's own options, which may follow 'predict').
            --model is a checkpoint folder (runs/NAME/checkpoint-STEP) or a folder written by mtl-train export.
            Texts go through the model's own normalizer and tokenizer; token and span offsets point into the text as given
            (start/end in Unicode scalars, byte_start/byte_end in UTF-8). Spans are read from the tags as conlleval reads them
            (an I- tag after O or after another type opens a span).
            Example: printf 'Great phone\\n糟糕的酒店\\n' | mtl-train predict --model runs/first/checkpoint-36 --top-k 2
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case lines, csv, tsv, jsonl }
    enum OnError: String, ExpressibleByArgument, CaseIterable { case fail, skip }

    @ParentCommand var root: MtlTrain
    @Option(help: "A checkpoint folder or an exported model folder.") var model: String
    @Option(help: "The input file (default: standard input).") var input: String?
    @Option(help: "lines (one text per line), csv, tsv or jsonl.") var format: Format = .lines
    @Option(name: .customLong("text-field"), help: "The text's column or JSON key path (csv, tsv, jsonl; default: text).") var textField = "text"
    @Option(name: .customLong("id-field"), help: "A column or key path copied into each output line as its id.") var idField: String?
    @Option(name: .customLong("top-k"), help: "Classification: also list the k most probable labels.") var topK = 1
    @Option(help: "Multilabel: the score above which a label is predicted.") var threshold: Float = 0.5
    @Option(help: "Seq2seq: beam size (1 = greedy; default: the model's evaluation setting).") var beam: Int?
    @Option(name: .customLong("n-best"), help: "Seq2seq: write the N best targets with their scores (N ≤ --beam; default 1).") var nBest = 1
    @Option(name: .customLong("batch"), help: "Texts per forward pass (the same as mtl-train's --batch-size; default 64).") var batch: Int?
    @Option(name: .customLong("on-error"), help: "On a bad record (invalid UTF-8, a ragged row, invalid JSON, no text field): fail, or skip (write {\"record\", \"error\"} in its place and go on), as mtl-prep import. (default: fail)")
    var onError: OnError = .fail
    @Flag(help: "Also write the token ids read (token_ids) and each task's raw scores (logits: a list per text, a list per token for tagging; CRF emissions before decoding).")
    var logits = false

    func validate() throws {
        if let batch, batch < 1 { throw ValidationError("--batch must be at least 1") }
        if topK < 1 { throw ValidationError("--top-k must be at least 1") }
        if !(threshold > 0 && threshold < 1) { throw ValidationError("--threshold must be in (0, 1)") }
        if let beam, beam < 1 { throw ValidationError("--beam must be at least 1") }
        if nBest < 1 { throw ValidationError("--n-best must be at least 1") }
        if nBest > (beam ?? 1) { throw ValidationError("--n-best \(nBest) needs a beam at least as wide: give --beam \(nBest) or more") }
    }

    func run() throws {
        try reportingErrors {
            // One model copy per thread, each predicting whole batches: the same output for any --threads.
            let threads = max(1, root.threads ?? 2)
            BLAS.setThreads(1)
            let predictor = try PredictorPool(folder: model, workers: threads)
            let tasks = root.tasks, batchSize = batch ?? root.sampling.batchSize ?? 64
            let known = predictor.tasks.map(\.name)
            for t in tasks where !known.contains(t) {
                throw TrainingError(.configuration, "--task \(t): the model has no such task (it has: \(known.joined(separator: ", ")))")
            }
            let path = input ?? "/dev/stdin"
            let display = input ?? "<stdin>"
            let fields = [textField] + (idField.map { [$0] } ?? [])
            let reader: any RecordReader
            do {
                switch format {
                case .lines:
                    var options = CSVOptions(delimiter: 0, quote: nil, header: .none)
                    options.skipEmptyLines = false
                    reader = try CSVReader(path: path, columns: [.index(0)], options: options, displayName: display)
                case .csv: reader = try CSVReader(path: path, columns: fields.map { .name($0) }, options: .csv, displayName: display)
                case .tsv: reader = try CSVReader(path: path, columns: fields.map { .name($0) }, options: .tsv, displayName: display)
                case .jsonl: reader = try JSONLReader(path: path, fields: fields, displayName: display)
                }
            } catch {
                throw TrainingError(.configuration, "\(error)")
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            // A skipped record keeps its place: its line says why instead of what was predicted.
            var pending: [(record: Int, id: String?, text: String?, error: String?)] = []
            var count = 0, skipped = 0
            func flush() throws {
                guard !pending.isEmpty else { return }
                // Batches are runs of --batch records (skipped ones included), whatever the thread count.
                let batches = stride(from: 0, to: pending.count, by: batchSize).map { start in
                    pending[start..<min(start + batchSize, pending.count)].compactMap(\.text)
                }
                let results = Array(try predictor.predict(batches, only: tasks.isEmpty ? nil : tasks, topK: topK, threshold: threshold, logits: logits,
                                                                beam: beam, nBest: nBest).joined())
                var next = 0
                var out = Data()
                for p in pending {
                    if let error = p.error {
                        out += try encoder.encode(PredictionLine(record: p.record, id: p.id, error: error)) + Data([0x0A])
                    } else {
                        let r = results[next]
                        next += 1
                        out += try encoder.encode(PredictionLine(record: p.record, id: p.id, tasks: r.tasks, tokenIDs: r.tokenIDs, logits: r.logits)) + Data([0x0A])
                    }
                }
                FileHandle.standardOutput.write(out)
                pending.removeAll(keepingCapacity: true)
            }
            func bad(_ message: String) throws {
                guard onError == .skip else {
                    try flush()   // what was read before the bad record is still written
                    throw TrainingError(.data, message + " (--on-error skip writes an error line for it and goes on)")
                }
                skipped += 1
                Console.error("skipped: " + message)
            }
            while true {
                let record: RawRecord?
                do { record = try reader.next() } catch let error as ImportError {
                    let recoverable = [.raggedRow, .invalidUTF8, .invalidJSON].contains(error.kind)
                    guard recoverable else { throw TrainingError(.data, "\(error)") }
                    count += 1
                    try bad("\(error)")
                    pending.append((count, nil, nil, "\(error)"))
                    continue
                } catch {
                    throw TrainingError(.data, "\(error)")
                }
                guard let record else { break }
                count += 1
                let id = format == .lines ? nil : (idField == nil ? nil : record.fields[1].single)
                guard let text = record.fields[0].single else {
                    let what = record.fields[0] == .missing ? "has no field '\(textField)'" : "field '\(textField)' is not one string"
                    let message = "\(record.locator): the record \(what)"
                    try bad(message)
                    pending.append((count, id, nil, message))
                    continue
                }
                pending.append((count, id, text, nil))
                if pending.count >= batchSize * threads { try flush() }
            }
            try flush()
            if skipped > 0 { Console.error("\(skipped) of \(count) records skipped") }
        }
    }
}

/// One output line.
struct PredictionLine: Encodable {
    var record: Int
    var id: String?
    var tasks: [String: TaskPrediction]? = nil
    var tokenIDs: [Int32]? = nil
    var logits: [String: TaskLogits]? = nil
    var error: String? = nil
    enum CodingKeys: String, CodingKey { case record, id, tasks, tokenIDs = "token_ids", logits, error }
}

/// `mtl-train export`: a checkpoint as a model folder of its own.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint's model (weights without optimizer state, configuration, text pipeline, vocabulary) to a folder that predicts without the store.")

    @ParentCommand var root: MtlTrain
    @Option(help: "best, latest or a step number.") var checkpoint = "best"
    @Option(name: [.customShort("o"), .customLong("output")], help: "The folder to create (must not exist).") var output: String

    func run() throws {
        try reportingErrors {
            guard let name = root.runName else { throw TrainingError(.configuration, "name the run: mtl-train export --run NAME -o DIR") }
            let folder = RunFolder(path: root.runsDir + "/" + name)
            guard folder.exists else { throw TrainingError(.configuration, "no such run folder (see --runs-dir)", path: folder.path) }
            let step = try ModelExport.export(folder: folder, checkpoint: checkpoint, to: output)
            FileHandle.standardError.write(Data("\(output): model of \(RunFolder.checkpointName(step: step)) (predict with: mtl-train predict --model \(output))\n".utf8))
        }
    }
}
