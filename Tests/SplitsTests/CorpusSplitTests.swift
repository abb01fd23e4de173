import Foundation
import Store
import Testing
import TestSupport
@testable import Splits

@Suite(.serialized) struct CorpusSplitTests {
    @Test func chineseReviewsFiveFoldsKeepTopicAndSentiment() throws {
        guard Corpora.available else { print("skipped: \(Corpora.skipMessage)"); return }
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("zh.sqlite"))
        try importCorpus("chinese/online_shopping_10_cats.csv", into: store, text: "review", labels: ["topic": "cat", "sentiment": "label"])
        let spec = try SplitSpec(kind: .kfold(folds: 5, test: 0), seed: 0, stratify: ["topic", "sentiment"])
        let split = try Splitter.run(store: store, name: "cv", spec: spec).split
        let report = try SplitReport.make(store: store, split: split)
        #expect(report.parts.count == 5)
        for p in report.parts {
            #expect(p.maxDeviation["topic"]! <= 1.0 && p.maxDeviation["sentiment"]! <= 1.0, "\(p.name): \(p.maxDeviation)")
            // 热水器: 575 reviews (475 positive / 100 negative) — in every fold.
            #expect((p.labels["topic"]?["热水器"] ?? 0) >= 100, "\(p.name) has \(p.labels["topic"]?["热水器"] ?? 0) 热水器 reviews")
        }
        #expect(report.overall["topic"]?["热水器"] == 575)
        #expect(report.isLeakFree)
        // Same seed, same table, byte for byte.
        _ = try Splitter.run(store: store, name: "cv2", spec: spec)
        let a = try store.assignments(splitID: split.id), b = try store.assignments(splitID: try store.split(named: "cv2")!.id)
        #expect(a == b)
    }

    @Test func sst2DuplicatesNeverStraddleParts() throws {
        guard Corpora.available else { print("skipped: \(Corpora.skipMessage)"); return }
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("sst.sqlite"))
        try importCorpus("sst2/train.tsv", into: store, text: "sentence", labels: ["sentiment": "label"])
        let split = try Splitter.run(store: store, name: "r", spec: try SplitSpec(kind: .ratio(train: 0.8, dev: 0.1, test: 0.1), seed: 0, stratify: ["sentiment"]))
        // INDEX.md: 371 duplicate sentences (extra copies); every copy counts here.
        let keys = try store.exampleKeys()
        var seen: [Int64: Int] = [:]
        for h in keys.normHashes { seen[h, default: 0] += 1 }
        #expect(seen.values.reduce(0) { $0 + $1 - 1 } >= 371)
        #expect(split.outcome.duplicateExamples > 371)
        let a = try store.assignments(splitID: split.split.id)
        var partOfHash: [Int64: SplitPart] = [:]
        var straddling = 0
        for i in 0..<a.count {
            let h = keys.normHashes[i]
            if let p = partOfHash[h], p != a.parts[i] { straddling += 1 } else { partOfHash[h] = a.parts[i] }
        }
        #expect(straddling == 0)
        #expect(try SplitReport.make(store: store, split: split.split).duplicatesAcrossParts == 0)
    }
}
