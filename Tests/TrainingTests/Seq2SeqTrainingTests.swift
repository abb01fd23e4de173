import Batching
import CorpusImport
import Foundation
import NN
import Store
import Testing
import TestSupport
import Text
@testable import Training

/// A grapheme-to-phoneme-like task a small model learns in a few epochs: each letter has a
/// "phoneme" (a few letters have two, so that a target is not just the source), and the class
/// task is the word's length bucket, sharing the encoder.
func g2pLikeStore(_ dir: TempDir, count: Int = 600, seed: UInt64 = 9) throws -> String {
    var rng = SplitMix64(seed: seed)
    let letters = Array("abcdefgh")
    let phones: [Character: String] = ["a": "AA", "b": "B", "c": "K S", "d": "D", "e": "IY", "f": "F", "g": "G", "h": "HH"]
    var tsv = "word\tphones\tsize\n"
    var seen = Set<String>()
    while seen.count < count {
        let n = 2 + Int(rng.next() % 5)
        let w = String((0..<n).map { _ in letters[Int(rng.next() % UInt64(letters.count))] })
        guard seen.insert(w).inserted else { continue }
        tsv += "\(w)\t\(w.map { phones[$0]! }.joined(separator: " "))\t\(n <= 3 ? "short" : "long")\n"
    }
    let path = dir.path("g2p.sqlite")
    let store = try ExampleStore(path: path)
    var mapping = Mapping(format: .tsv, text: "word", tasks: ["g2p": TaskMapping(kind: .seq2seq, field: "phones"),
                                                               "size": TaskMapping(kind: .classification, field: "size")])
    mapping.pipeline = .init(normalize: "none", tokenize: "graphemes")
    try importText(tsv, name: "g2p.tsv", into: store, dir: dir, mapping: mapping, pipeline: TextPipeline(normalize: "none", tokenize: "graphemes"))
    try finishStore(store, ratios: (0.8, 0.2, 0))
    return path
}

@Suite("Seq2seq tasks in the multi-task model (issue 16)")
struct Seq2SeqTrainingTests {
    @Test func theDecoderVocabularyIsTheTrainingPartsTargetTypes() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try g2pLikeStore(dir, count: 120)
        let plan = try RunPlan(store: store, vocabulary: nil, split: nil, fold: nil, tasks: nil)
        let g2p = try #require(plan.tasks.first { $0.name == "g2p" })
        #expect(g2p.kind == .seq2seq && g2p.head == .decoder)
        #expect(Array(g2p.labels.prefix(4)) == TaskSpec.targetSpecials)
        #expect(Set(g2p.labels.dropFirst(4)) == ["AA", "B", "K", "S", "D", "IY", "F", "G", "HH"])
        // Unseen types (none here) map to <unk>; seen ones to their place after the specials.
        let map = try #require(g2p.targetIDs)
        #expect(map.allSatisfy { $0 >= 4 })
        // A spec whose type was unseen in training maps it to <unk>.
        let s = TaskSpec.seq2seq(name: "t", labels: ["x", "y", "z"], trainingCounts: [3, 0, 1])
        #expect(s.labels == TaskSpec.targetSpecials + ["x", "z"] && s.targetIDs == [4, TaskSpec.targetUnknown, 5])
    }

    @Test func learnsTheTargetsAndTheSharedClassTask() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try g2pLikeStore(dir)
        let (m, t) = try smallRun(store: store, epochs: 8) { m, t in
            m.embeddingSize = 16; m.hiddenSize = 32; t.learningRate = 0.01
        }
        let trainer = try Trainer(model: m, training: t, folder: RunFolder(path: dir.path("runs/g")), resume: false)
        let summary = try trainer.run()
        let last = try #require(summary.last)
        let g2p = try #require(last.task("g2p"))
        let accuracy = try #require(g2p.metrics["sequence_accuracy"])
        let ter = try #require(g2p.metrics["token_error_rate"])
        // Untrained, nothing comes out right; a learnt copy-with-substitution gets most words whole.
        #expect(accuracy > 0.6, "sequence accuracy \(accuracy), token error rate \(ter)")
        #expect(ter < 0.15, "token error rate \(ter)")
        #expect(try #require(g2p.metrics["bleu"]) > 50)
        #expect(g2p.mainMetric == "sequence_accuracy")
        let size = try #require(last.task("size")?.metrics["accuracy"])
        #expect(size > majorityShare(last, task: "size") + 0.1, "size accuracy \(size)")
        if case .sequences(let r) = g2p.report { #expect(r.count == g2p.examples) } else { Issue.record("no sequence report") }
    }

    @Test func aResumedRunEqualsAnUninterruptedOne() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try g2pLikeStore(dir, count: 160)
        let setup = try smallRun(store: store, epochs: nil, steps: 24, seed: 4) { m, t in
            m.dropout = 0.2; t.evalEvery = 7
            var d = DecoderConfig(); d.attention = "bahdanau"; m.decoder = d
        }
        let whole = try Trainer(model: setup.0, training: setup.1, folder: RunFolder(path: dir.path("runs/whole")), resume: false)
        _ = try whole.run()
        let first = try Trainer(model: setup.0, training: setup.1, folder: RunFolder(path: dir.path("runs/split")), resume: false)
        first.stopAfterSteps = 15
        _ = try first.run()
        let second = try Trainer(model: setup.0, training: setup.1, folder: RunFolder(path: dir.path("runs/split")), resume: true)
        #expect(try second.run().steps == 24)
        #expect(second.weightsDigest == whole.weightsDigest)
        // The decoder's weights are in the checkpoint under decoder.<task>.
        let saved = try SafeTensors.read(dir.path("runs/whole/checkpoint-24/model.safetensors")).tensors
        #expect(saved["decoder.g2p.attention.v"] != nil && saved["decoder.g2p.output.weight"] != nil)
    }

    @Test func predictionDecodesNBestTargetsFromRawText() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try g2pLikeStore(dir, count: 300)
        let (m, t) = try smallRun(store: store, epochs: 4) { m, t in m.hiddenSize = 24 }
        let folder = RunFolder(path: dir.path("runs/p"))
        _ = try Trainer(model: m, training: t, folder: folder, resume: false).run()
        let step = try #require(folder.checkpointSteps().last)
        let predictor = try Predictor(folder: folder.checkpointPath(step: step))
        let results = try predictor.predict(["bad", "", "cafe"], beam: 4, nBest: 3)
        guard case .sequences(let best)? = results[0].tasks["g2p"] else { Issue.record("no g2p prediction"); return }
        #expect(best.count == 3)
        #expect(best.map(\.score) == best.map(\.score).sorted(by: >))
        #expect(Set(best.map(\.text)).count == 3)
        #expect(best.allSatisfy { !$0.tokens.contains("<unk>") && !$0.tokens.contains("<bos>") })
        // An empty text has nothing to attend to: no target.
        if case .sequences(let none)? = results[1].tasks["g2p"] { #expect(none.isEmpty) } else { Issue.record("no entry for the empty text") }
        // Greedy is the beam of 1, and the same call gives the same output.
        let greedy = try predictor.predict(["bad", "cafe"], beam: 1)
        let again = try predictor.predict(["bad", "cafe"], beam: 1)
        guard case .sequences(let g)? = greedy[0].tasks["g2p"], case .sequences(let a)? = again[0].tasks["g2p"] else { return }
        #expect(g == a && g.count == 1)
    }
}
