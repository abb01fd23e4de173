import Batching
import CorpusImport
import Foundation
import NN
import Store
import Testing
import TestSupport
import Text
@testable import Training

/// Issue 18, "Numeric labels": a regression task from import to prediction.
@Suite("Regression tasks (issue 18)")
struct RegressionTaskTests {
    /// Texts whose score is the number of "good" words minus the number of "bad" ones, plus noise-free filler.
    static func store(_ dir: TempDir, count: Int = 400) throws -> String {
        var rng = SplitMix64(seed: 3)
        let filler = ["the", "room", "was", "and", "a", "very", "it", "staff", "food", "then"]
        var csv = "text,score,topic\n"
        for i in 0..<count {
            var words: [String] = [], score = 0
            for _ in 0..<(3 + Int(rng.next() % 6)) {
                switch rng.next() % 4 {
                case 0: words.append("good"); score += 1
                case 1: words.append("bad"); score -= 1
                default: words.append(filler[Int(rng.next() % UInt64(filler.count))])
                }
            }
            csv += "\(words.joined(separator: " ")),\(Float(score) / 2),\(i % 2 == 0 ? "a" : "b")\n"
        }
        let path = dir.path("r.sqlite")
        let store = try ExampleStore(path: path)
        try importText(csv, name: "r.csv", into: store, dir: dir,
                       mapping: Mapping(format: .csv, text: "text", tasks: ["score": TaskMapping(kind: .regression, field: "score"),
                                                                             "topic": TaskMapping(kind: .classification, field: "topic")]))
        try finishStore(store, ratios: (0.8, 0.2, 0))
        return path
    }

    @Test func valuesAreStoredAsFloat32AndBadOnesRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = try Self.store(dir, count: 20)
        let store = try ExampleStore(path: path, readOnly: true)
        let a = try #require(try store.example(id: 1)?.annotations.first { $0.task.name == "score" })
        guard case .number = a.value else { Issue.record("not a number: \(a.value)"); return }
        #expect(a.task.kind == .regression)
        let c = try Connection(path: path, readOnly: true)
        #expect(try c.scalar("SELECT length(value) FROM annotations a JOIN tasks t ON t.id = a.task_id WHERE t.name = 'score' LIMIT 1") == .integer(4))
        #expect(try c.scalar("SELECT count(*) FROM labels l JOIN tasks t ON t.id = l.task_id WHERE t.name = 'score'") == .integer(0))
        let bad = dir.path("bad.csv")
        try "text,score\nfine,1.5\nnope,high\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let other = try ExampleStore(path: dir.path("b.sqlite"))
        var options = ImportOptions(mapping: Mapping(format: .csv, text: "text", tasks: ["score": TaskMapping(kind: .regression, field: "score")]), pipeline: try TextPipeline())
        do {
            _ = try Importer(store: other, options: options).importFile(bad)
            Issue.record("'high' was accepted as a number")
        } catch {
            #expect(error.kind == .invalidLabel && error.locator.line == 3 && error.message.contains("'high'"), "\(error)")
        }
        options.onError = .skip
        #expect(try Importer(store: other, options: options).importFile(bad).examplesStored == 1)
    }

    @Test func learnsTheScoreBesideAClassificationTaskAndPredictsValues() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try Self.store(dir)
        let (m, t) = try smallRun(store: store, epochs: 12) { m, t in m.pooling = .mean; t.learningRate = 0.01 }
        #expect(m.tasks.first { $0.name == "score" }?.head == .linear)
        let folder = RunFolder(path: dir.path("runs/r"))
        let summary = try Trainer(model: m, training: t, folder: folder, resume: false).run()
        let score = try #require(summary.last?.task("score"))
        let r = try #require(score.metrics["pearson"])
        #expect(score.mainMetric == "pearson")
        #expect(r > 0.8, "pearson \(r), rmse \(score.metrics["rmse"] ?? -1)")
        #expect(try #require(score.metrics["spearman"]) > 0.7)
        let step = try #require(folder.checkpointSteps().last)
        let predictor = try Predictor(folder: folder.checkpointPath(step: step))
        let out = try predictor.predict(["good good good the room", "bad bad bad it was"])
        guard case .value(let high)? = out[0].tasks["score"], case .value(let low)? = out[1].tasks["score"] else {
            Issue.record("no values: \(out)"); return
        }
        #expect(high > low + 1, "\(high) vs \(low)")
    }

    @Test func ranksAndCorrelationsAsScipyComputesThem() {
        #expect(RegressionMetrics.ranks([3, 1, 2, 2]) == [4, 1, 2.5, 2.5])
        var m = RegressionMetrics()
        for (g, p) in [(1.0, 2.0), (2.0, 4.0), (3.0, 6.5), (4.0, 8.0)] as [(Float, Float)] { m.add(gold: g, predicted: p) }
        let r = m.report()
        // Python's statistics.correlation([1,2,3,4],[2,4,6.5,8]) = 0.995862 (scipy's pearsonr too); spearmanr = 1.0
        #expect(abs(r.pearson - 0.9958616) < 1e-6, "\(r.pearson)")
        #expect(r.spearman == 1 && r.count == 4)
        #expect(abs(r.mae - (1 + 2 + 3.5 + 4) / 4) < 1e-9)
    }
}
