import Batching
import CorpusImport
import Foundation
import NN
import Store
import Testing
import TestSupport
import Text
@testable import Training

@Suite("Prediction on raw text")
struct PredictionTests {
    /// A tagging task learnt from pre-tokenized JSONL, then run on raw English and Chinese text:
    /// every token and span carries offsets into the text as given, and its text is that slice.
    @Test func spansPointIntoTheOriginalText() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var rng = SplitMix64(seed: 3)
        let names = ["John", "Mary", "Ｌｉ", "王芳", "Zoë"], places = ["Paris", "Berlin", "北京", "Ōsaka"]
        var lines = ""
        for _ in 0..<300 {
            let n = names[Int(rng.next() % 5)], p = places[Int(rng.next() % 4)]
            let words = [n, "lives", "in", p, "now"]
            let tags = ["B-PER", "O", "O", "B-LOC", "O"]
            let json = try JSONSerialization.data(withJSONObject: ["tokens": words, "tags": tags, "mood": rng.next() % 2 == 0 ? "a" : "b"])
            lines += String(decoding: json, as: UTF8.self) + "\n"
        }
        let store = try ExampleStore(path: dir.path("p.sqlite"))
        let mapping = Mapping(format: .jsonl, text: "tokens", tasks: ["ner": TaskMapping(kind: .tagging, field: "tags"),
                                                                     "mood": TaskMapping(kind: .classification, field: "mood")])
        try importText(lines, name: "ner.jsonl", into: store, dir: dir, mapping: mapping)
        try finishStore(store, ratios: (0.8, 0.2, 0))
        let (m, t) = try smallRun(store: dir.path("p.sqlite"), epochs: 6, heads: ["ner": .crf]) { _, t in t.learningRate = 0.02 }
        let folder = RunFolder(path: dir.path("runs/p"))
        let summary = try Trainer(model: m, training: t, folder: folder, resume: false).run()
        let predictor = try Predictor(folder: folder.checkpointPath(step: try #require(summary.bestStep)))
        let texts = ["Ｌｉ lives in Paris now", "  Zoë  lives in 北京 now.", "", "王芳 lives in Ōsaka now"]
        let results = try predictor.predict(texts, topK: 2)
        #expect(results.count == texts.count)
        var spansSeen = 0
        for (text, r) in zip(texts, results) {
            guard case let .tags(tokens, spans)? = r.tasks["ner"] else { Issue.record("no ner prediction"); continue }
            let scalars = Array(text.unicodeScalars), bytes = Array(text.utf8)
            for tok in tokens {
                #expect(String(String.UnicodeScalarView(scalars[tok.start..<tok.end])) == tok.text)
                #expect(String(decoding: bytes[tok.byteStart..<tok.byteEnd], as: UTF8.self) == tok.text)
            }
            for s in spans ?? [] {
                spansSeen += 1
                #expect(String(String.UnicodeScalarView(scalars[s.start..<s.end])) == s.text)
                #expect(String(decoding: bytes[s.byteStart..<s.byteEnd], as: UTF8.self) == s.text)
            }
            if text.isEmpty { #expect(tokens.isEmpty) }
            guard case let .label(_, p, top)? = r.tasks["mood"] else { Issue.record("no mood prediction"); continue }
            #expect(p > 0 && p <= 1 && top?.count == 2)
        }
        // The names and places were learnt: the first text's spans are its person and its place.
        guard case let .tags(_, spans)? = results[0].tasks["ner"] else { return }
        #expect(spans?.map(\.text) == ["Ｌｉ", "Paris"])
        #expect(spans?.map(\.type) == ["PER", "LOC"])
        #expect(spansSeen >= 6)
    }

    /// An exported model predicts without the store, and gives what the checkpoint gives.
    @Test func anExportedModelPredictsWithoutTheStore() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try preparedStore(dir, keywordExamples(200))
        let (m, t) = try smallRun(store: store, epochs: 3)
        let folder = RunFolder(path: dir.path("runs/e"))
        _ = try Trainer(model: m, training: t, folder: folder, resume: false).run()
        let exported = dir.path("model")
        let step = try ModelExport.export(folder: folder, checkpoint: "best", to: exported)
        try FileManager.default.removeItem(atPath: store)
        let texts = ["great the thing phone", "awful stuff hotel", "great book"]
        let fromExport = try Predictor(folder: exported).predict(texts)
        let fromCheckpoint = try Predictor(folder: folder.checkpointPath(step: step)).predict(texts)
        let enc = JSONEncoder(); enc.outputFormatting = .sortedKeys
        #expect(try enc.encode(fromExport.map(\.tasks)) == enc.encode(fromCheckpoint.map(\.tasks)))
        guard case let .label(label, _, _)? = fromExport[1].tasks["sentiment"] else { Issue.record("no sentiment"); return }
        #expect(label == "neg")
        // Exporting over an existing folder is refused; a damaged export is refused by name.
        #expect(throws: TrainingError.self) { try ModelExport.export(folder: folder, checkpoint: "best", to: exported) }
        let weights = exported + "/model.safetensors"
        let h = try FileHandle(forUpdating: URL(fileURLWithPath: weights))
        try h.truncate(atOffset: 100); try h.close()
        do { _ = try Predictor(folder: exported); Issue.record("a truncated export loaded") } catch let e as TrainingError {
            #expect(e.message.contains("model.safetensors"))
        }
    }

    /// Prediction labels the dev examples exactly as the evaluation scored them.
    @Test func predictionsAgreeWithTheEvaluation() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try preparedStore(dir, keywordExamples(200))
        let (m, t) = try smallRun(store: store, epochs: 2)
        let folder = RunFolder(path: dir.path("runs/a"))
        let summary = try Trainer(model: m, training: t, folder: folder, resume: false).run()
        let step = try #require(summary.bestStep)
        let predictor = try Predictor(folder: folder.checkpointPath(step: step))
        // Dev texts and their gold labels, as the evaluation saw them.
        let db = try ExampleStore(path: store, readOnly: true)
        let split = try #require(try db.split(named: "main"))
        var devIDs = Set<Int64>()
        try db.forEachAssignment(splitID: split.id) { id, part, _ in if part == .dev { devIDs.insert(id) } }
        var texts: [String] = []
        try db.forEachExample { if devIDs.contains($0.id) { texts.append($0.text) } }
        let predicted = try predictor.predict(texts)
        var correct = 0
        let task = try #require(try db.task(named: "topic"))
        let labels = try db.labels(taskID: task.id).map(\.name)
        var gold: [Int64: String] = [:]
        try db.forEachAnnotation(taskID: task.id) { id, value in if case .label(let l) = value { gold[id] = labels[Int(l)] } }
        var index = 0
        try db.forEachExample { e in
            guard devIDs.contains(e.id) else { return }
            if case let .label(label, _, _)? = predicted[index].tasks["topic"], label == gold[e.id] { correct += 1 }
            index += 1
        }
        let evaluation = try #require(summary.best?.task("topic")?.metrics["accuracy"])
        #expect(abs(Double(correct) / Double(texts.count) - evaluation) < 1e-9)
    }
}
