import Batching
import Foundation
import NN
import Store
import Text

/// What prediction needs besides the weights, so that a checkpoint or an exported model runs on
/// raw text without the store: the text pipeline the training texts went through and the token
/// vocabulary. Written as `pipeline.json` and `vocab.json` beside `config.json` and
/// `model.safetensors` in every checkpoint and exported model folder.
public struct TextSide: Sendable, Codable, Equatable {
    /// The pipeline of the sources that gave the most training examples.
    public var pipeline: TextPipeline
    /// Other pipelines the store's sources used (path → pipeline), for information: prediction
    /// runs `pipeline` on every text.
    public var otherPipelines: [String: TextPipeline]
    /// Token strings in id order (normalized tokens, specials first).
    public var tokens: [String]
    public var unknownID: Int32
    public var padID: Int32

    /// Reads the pipeline and vocabulary a run trained with from its store.
    public init(store: ExampleStore, vocabulary: VocabularyRecord, padID: Int32) throws {
        var byPipeline: [String: (TextPipeline, Int64)] = [:]
        var paths: [String: TextPipeline] = [:]
        for s in try store.sources() {
            let p = try JSONDecoder().decode(TextPipeline.self, from: Data(s.info.pipelineJSON.utf8))
            let key = s.info.pipelineJSON
            byPipeline[key] = (p, (byPipeline[key]?.1 ?? 0) + s.records)
            paths[s.info.path] = p
        }
        guard let main = byPipeline.values.max(by: { ($0.1, $0.0.normalizerSpec + $0.0.tokenizerSpec) < ($1.1, $1.0.normalizerSpec + $1.0.tokenizerSpec) }) else {
            throw TrainingError(.data, "the store has no sources")
        }
        pipeline = main.0
        otherPipelines = paths.filter { $0.value != main.0 }
        tokens = try store.vocabEntries(vocabID: vocabulary.id).map(\.token)
        let roles = (try? JSONSerialization.jsonObject(with: Data(vocabulary.paramsJSON.utf8)) as? [String: Any])?["specials"] as? [[String: String]] ?? []
        let unk = roles.first { $0["role"] == "unk" }?["token"] ?? "<unk>"
        unknownID = Int32(tokens.firstIndex(of: unk) ?? 0)
        self.padID = padID
    }
}

/// A trained model ready to label raw text: weights, configuration, pipeline and vocabulary,
/// read from a checkpoint folder or an exported model folder (`mtl-train export`).
///
/// ```swift
/// let predictor = try Predictor(folder: "model/")
/// let results = try predictor.predict(["我很喜欢这本书", "Terrible hotel."])
/// ```
public final class Predictor {
    public let model: MultiTaskModel
    public let textSide: TextSide
    public var tasks: [TaskSpec] { model.config.tasks }
    private let processor: TextProcessor
    private let ids: [String: Int32]

    public init(folder: String) throws {
        let fm = FileManager.default
        func read(_ name: String) throws -> Data {
            guard let d = fm.contents(atPath: folder + "/" + name) else {
                throw TrainingError(.checkpoint, "no \(name): give --model a checkpoint folder (runs/NAME/checkpoint-STEP) or a folder written by mtl-train export", path: folder)
            }
            return d
        }
        if fm.fileExists(atPath: folder + "/" + RunFolder.manifestName) {
            _ = try RunFolder.verifyFolder(folder)
        }
        let config: ModelConfig
        do {
            config = try JSONDecoder().decode(RunConfiguration.self, from: read("config.json")).model
            textSide = try JSONDecoder().decode(TextSide.self, from: read("text.json"))
        } catch let e as TrainingError { throw e } catch {
            throw TrainingError(.checkpoint, "unreadable model files: \(error)", path: folder)
        }
        model = try MultiTaskModel(config: config)
        do { try Checkpoint.load(parameters: model.parameters, from: folder + "/model.safetensors") } catch {
            throw TrainingError(.checkpoint, "\(error)", path: folder)
        }
        guard textSide.tokens.count == config.vocabularySize else {
            throw TrainingError(.checkpoint, "text.json holds \(textSide.tokens.count) tokens, the model \(config.vocabularySize)", path: folder)
        }
        processor = try textSide.pipeline.makeProcessor()
        var map: [String: Int32] = [:]
        map.reserveCapacity(textSide.tokens.count)
        for (i, t) in textSide.tokens.enumerated() where map[t] == nil { map[t] = Int32(i) }
        ids = map
    }

    /// Labels `texts` (one result per text, in order) for the tasks `only` (names; nil = all).
    /// Texts go through the model's own normalizer and tokenizer; offsets point into the text as given.
    /// With `logits`, each result also carries the token ids the model read and every task's raw
    /// scores (the emissions, before any CRF), for checking the model elsewhere (`python/mtl_torch.py`).
    /// Seq2seq tasks decode with `beam` (nil: the model's setting; 1 = greedy) and return the
    /// `nBest` best targets with their scores.
    public func predict(_ texts: [String], only: [String]? = nil, topK: Int = 1, threshold: Float = 0.5,
                        logits: Bool = false, beam: Int? = nil, nBest: Int = 1) throws -> [TextPrediction] {
        guard !texts.isEmpty else { return [] }
        let tokenized = try texts.map { try processor.tokenize($0) }
        var ids = [Int32](), lengths = [Int32]()
        let T = tokenized.map(\.tokens.count).max() ?? 0
        for t in tokenized {
            let row = t.tokens.map { self.ids[String(t.text(of: $0))] ?? textSide.unknownID }
            ids += row + [Int32](repeating: textSide.padID, count: T - row.count)
            lengths.append(Int32(row.count))
        }
        let B = texts.count
        let targets = tasks.map { s in
            TaskTargets(task: s.name, kind: s.kind, mask: [Bool](repeating: false, count: B), labelCount: s.labels.count)
        }
        let batch = Batch(size: B, paddedLength: T, tokenIDs: ids, lengths: lengths, exampleIDs: [Int64](repeating: 0, count: B),
                          drawnFor: [Int32](repeating: -1, count: B), targets: targets)
        let input = try ModelInput(batch: batch)
        let outputs = try model.forward(input, training: false, allHeads: true)
        var results = texts.map { _ in TextPrediction(tasks: [:]) }
        if logits {
            for r in 0..<B { results[r].tokenIDs = Array(ids[r * T..<r * T + Int(lengths[r])]); results[r].logits = [:] }
        }
        for (t, spec) in tasks.enumerated() where only?.contains(spec.name) ?? true {
            switch outputs[t] {
            case .rows(let logits)?:
                let C = logits.cols
                for r in 0..<B {
                    let z = Array(UnsafeBufferPointer(start: logits.data + r * C, count: C))
                    results[r].logits?[spec.name] = TaskLogits(rows: [z], perToken: false)
                    if spec.kind == .regression {
                        results[r].tasks[spec.name] = .value(Double(z.first ?? 0))
                    } else if spec.kind == .multilabel {
                        let scores = z.map { 1 / (1 + Foundation.exp(-Double($0))) }
                        let chosen = scores.indices.filter { scores[$0] > Double(threshold) }.sorted { scores[$0] > scores[$1] }
                        results[r].tasks[spec.name] = .labels(chosen.map { LabelScore(label: spec.labels[$0], score: scores[$0]) })
                    } else {
                        let m = z.max() ?? 0
                        let e = z.map { Foundation.exp(Double($0 - m)) }
                        let sum = e.reduce(0, +)
                        let order = e.indices.sorted { e[$0] > e[$1] }
                        let top = order.prefix(max(1, topK)).map { LabelScore(label: spec.labels[$0], score: e[$0] / sum) }
                        results[r].tasks[spec.name] = .label(label: top[0].label, probability: top[0].score, top: topK > 1 ? top : nil)
                    }
                }
            case .tokens(let emissions, let layout)?:
                let tags = try model.predictedTags(task: t, outputs[t]!)
                for r in 0..<B {
                    results[r].tasks[spec.name] = .tags(tokens: [], spans: spec.hasSpans ? [] : nil)
                    results[r].logits?[spec.name] = TaskLogits(rows: [], perToken: true)
                }
                if logits {
                    for (i, r) in input.encodedRows.enumerated() {
                        let K = emissions.cols
                        let rows = (0..<layout.lengths[i]).map { time in
                            Array(UnsafeBufferPointer(start: emissions.data + layout.row(batch: i, time: time) * K, count: K))
                        }
                        results[r].logits?[spec.name] = TaskLogits(rows: rows, perToken: true)
                    }
                }
                for (i, r) in input.encodedRows.enumerated() {
                    let text = tokenized[r]
                    let names = tags[i].map { spec.labels[Int($0)] }
                    let tokens = zip(text.tokens, names).map { token, tag in
                        TaggedToken(text: String(text.originalText(of: token)), tag: tag, start: Int(token.scalarStart), end: Int(token.scalarEnd),
                                    byteStart: Int(token.utf8Start), byteEnd: Int(token.utf8End))
                    }
                    var spans: [PredictedSpan]? = nil
                    if spec.hasSpans {
                        spans = SpanDecoding.spans(names).map { s in
                            let first = text.tokens[s.start], last = text.tokens[s.end - 1]
                            let utf8 = Array(text.original.utf8)
                            return PredictedSpan(type: s.type, start: Int(first.scalarStart), end: Int(last.scalarEnd),
                                                 byteStart: Int(first.utf8Start), byteEnd: Int(last.utf8End),
                                                 text: String(decoding: utf8[Int(first.utf8Start)..<Int(last.utf8End)], as: UTF8.self))
                        }
                    }
                    results[r].tasks[spec.name] = .tags(tokens: tokens, spans: spans)
                }
            case .sequence?:
                for r in 0..<B { results[r].tasks[spec.name] = .sequences([]) }
                let decoded = try model.predictedSequences(task: t, outputs[t]!, beam: beam, nBest: nBest)
                for (i, r) in input.encodedRows.enumerated() {
                    results[r].tasks[spec.name] = .sequences(decoded[i].map { h in
                        let tokens = h.tokens.map { spec.labels[Int($0)] }
                        return SequencePrediction(text: tokens.joined(separator: " "), tokens: tokens,
                                                  score: Double(h.score), logProbability: Double(h.logProbability))
                    })
                }
            case nil:
                if spec.kind == .seq2seq { for r in 0..<B { results[r].tasks[spec.name] = .sequences([]) } }
                // Token-level heads see no tokens when every text of the batch is empty.
                if spec.isTokenLevel {
                    for r in 0..<B {
                        results[r].tasks[spec.name] = .tags(tokens: [], spans: spec.hasSpans ? [] : nil)
                        results[r].logits?[spec.name] = TaskLogits(rows: [], perToken: true)
                    }
                }
            }
        }
        return results
    }
}

/// One text's predictions, task by task; with `predict(logits: true)` also the token ids read and
/// each task's raw scores.
public struct TextPrediction: Sendable, Encodable {
    public var tasks: [String: TaskPrediction]
    public var tokenIDs: [Int32]? = nil
    public var logits: [String: TaskLogits]? = nil
}

/// A task's raw scores for one text: one row of class scores (sequence-level heads, written as a
/// flat list) or one row per token (token-level heads; CRF emissions before decoding).
public struct TaskLogits: Sendable, Encodable, Equatable {
    public var rows: [[Float]]
    public var perToken: Bool
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if perToken { try c.encode(rows) } else { try c.encode(rows.first ?? []) }
    }
}

/// One decoded target: its tokens (and them joined by spaces), the length-normalised score the
/// beam ranked it by, and its log-probability.
public struct SequencePrediction: Sendable, Encodable, Equatable {
    public var text: String
    public var tokens: [String]
    public var score: Double
    public var logProbability: Double
    enum CodingKeys: String, CodingKey { case text, tokens, score, logProbability = "log_probability" }
}

public struct LabelScore: Sendable, Encodable, Equatable {
    public var label: String
    public var score: Double
}

/// A token with its tag; offsets in the original text, `start`/`end` in Unicode scalars.
public struct TaggedToken: Sendable, Encodable, Equatable {
    public var text: String, tag: String
    public var start: Int, end: Int, byteStart: Int, byteEnd: Int
    enum CodingKeys: String, CodingKey { case text, tag, start, end, byteStart = "byte_start", byteEnd = "byte_end" }
}

/// A labelled span `[start, end)` of the original text (scalars; bytes in `byte_start`/`byte_end`).
public struct PredictedSpan: Sendable, Encodable, Equatable {
    public var type: String
    public var start: Int, end: Int, byteStart: Int, byteEnd: Int
    public var text: String
    enum CodingKeys: String, CodingKey { case type, start, end, byteStart = "byte_start", byteEnd = "byte_end", text }
}

public enum TaskPrediction: Sendable, Encodable {
    /// Classification: the label, its probability, and the top k with theirs when asked.
    case label(label: String, probability: Double, top: [LabelScore]?)
    /// Multilabel: the labels above the threshold, with their scores.
    case labels([LabelScore])
    /// Tagging: a tag per token; spans tasks also the spans the tags form (read as conlleval does).
    case tags(tokens: [TaggedToken], spans: [PredictedSpan]?)
    /// Seq2seq: the n best targets, best first (the first is `target`).
    case sequences([SequencePrediction])
    /// Regression: the predicted value.
    case value(Double)

    enum CodingKeys: String, CodingKey { case label, probability, top, labels, tokens, spans, target, nbest, value }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case let .label(label, p, top):
            try c.encode(label, forKey: .label); try c.encode(p, forKey: .probability)
            try c.encodeIfPresent(top, forKey: .top)
        case let .labels(l):
            try c.encode(l, forKey: .labels)
        case let .tags(tokens, spans):
            try c.encode(tokens, forKey: .tokens); try c.encodeIfPresent(spans, forKey: .spans)
        case let .value(v):
            try c.encode(v, forKey: .value)
        case let .sequences(list):
            try c.encode(list.first?.text ?? "", forKey: .target)
            try c.encode(list, forKey: .nbest)
        }
    }
}

/// `mtl-train export`: a checkpoint's weights (without optimizer state), configuration, pipeline
/// and vocabulary in a folder of their own, written whole or not at all.
public enum ModelExport {
    public static func export(folder: RunFolder, checkpoint: String, to output: String) throws -> Int {
        let step = try SavedRun.checkpointStep(checkpoint, folder: folder)
        let (model, configuration) = try SavedRun.loadModel(folder: folder, step: step)
        let dir = folder.checkpointPath(step: step)
        guard let text = FileManager.default.contents(atPath: dir + "/text.json") else {
            throw TrainingError(.checkpoint, "\(RunFolder.checkpointName(step: step)) has no text.json (written by an older mtl-train)", path: folder.path)
        }
        let parent = (output as NSString).deletingLastPathComponent
        let target = RunFolder(path: parent.isEmpty ? "." : parent)
        try target.writeFolder(name: (output as NSString).lastPathComponent, step: step, files: [
            ("model.safetensors", .tensors(model.parameters.map { ($0.name, $0.value) }, metadata: ["format": "mtl-train model", "step": "\(step)"])),
            ("config.json", .data(try RunFolder.json(configuration))),
            ("text.json", .data(text)),
        ], replace: false)
        return step
    }
}

/// Several copies of one model predicting batches at once, one thread each: on a machine with a
/// few cores this scales with them, which splitting one small forward pass across threads does not
/// (its matrix products are too small). Results do not depend on the number of workers: each
/// batch is computed whole by one copy.
public final class PredictorPool: @unchecked Sendable {
    public let workers: [Predictor]
    public var tasks: [TaskSpec] { workers[0].tasks }

    public init(folder: String, workers count: Int) throws {
        var list: [Predictor] = []
        for _ in 0..<max(1, count) { list.append(try Predictor(folder: folder)) }
        workers = list
        if list.count > 1 { BLAS.setThreads(1) }
    }

    /// Predicts each batch (in order), spreading the batches over the workers.
    public func predict(_ batches: [[String]], only: [String]? = nil, topK: Int = 1, threshold: Float = 0.5,
                        logits: Bool = false, beam: Int? = nil, nBest: Int = 1) throws -> [[TextPrediction]] {
        if workers.count == 1 || batches.count == 1 {
            return try batches.map { try workers[0].predict($0, only: only, topK: topK, threshold: threshold, logits: logits, beam: beam, nBest: nBest) }
        }
        let results = ResultSlots(count: batches.count)
        DispatchQueue.concurrentPerform(iterations: min(workers.count, batches.count)) { w in
            for b in stride(from: w, to: batches.count, by: workers.count) {
                do { results.set(b, .success(try workers[w].predict(batches[b], only: only, topK: topK, threshold: threshold, logits: logits, beam: beam, nBest: nBest))) }
                catch { results.set(b, .failure(error)); return }
            }
        }
        return try results.values()
    }
}

private final class ResultSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<[TextPrediction], Error>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<[TextPrediction], Error>) { lock.withLock { slots[i] = r } }
    func values() throws -> [[TextPrediction]] {
        try lock.withLock { slots }.map { slot in
            guard let slot else { throw TrainingError(.data, "a prediction worker stopped early") }
            return try slot.get()
        }
    }
}
