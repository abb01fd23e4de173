import Batching
import CorpusImport
import Foundation
import Store
import Testing
import TestSupport
import Text
@testable import Training

/// Training on the real corpora (skipped, with a message, where `$MTL_CORPORA` is absent).
@Suite("Trainer on real corpora")
struct RealCorpusTrainingTests {
    /// Topic and sentiment on the same Chinese reviews: every 20th row (3,139 reviews over all ten
    /// topics), ICU word tokens, a stratified 80/20 split. Both tasks beat the majority class on dev.
    @Test func chineseTopicAndSentimentBeatTheMajorityClass() throws {
        guard Corpora.available else { print("skipped: \(Corpora.skipMessage)"); return }
        let dir = TempDir(); defer { dir.cleanup() }
        let reader = try CSVReader(path: Corpora.path("chinese/online_shopping_10_cats.csv"), columns: [.name("cat"), .name("label"), .name("review")])
        var csv = "cat,label,review\n", i = 0
        while let r = try reader.next() {
            if i % 20 == 0 { csv += r.fields.map { csvField($0.single ?? "") }.joined(separator: ",") + "\n" }
            i += 1
        }
        let store = try ExampleStore(path: dir.path("zh.sqlite"))
        var mapping = Mapping(format: .csv, text: "review", tasks: ["topic": TaskMapping(kind: .classification, field: "cat"),
                                                                    "sentiment": TaskMapping(kind: .classification, field: "label")])
        mapping.allowEmptyText = true
        try importText(csv, name: "zh.csv", into: store, dir: dir, mapping: mapping)
        try finishStore(store, ratios: (0.8, 0.2, 0), stratify: ["topic"])
        let (m, t) = try smallRun(store: dir.path("zh.sqlite"), epochs: 4) { m, t in
            m.embeddingSize = 32; m.hiddenSize = 32; m.pooling = .max; t.loader.batchSize = 32; t.learningRate = 0.005; t.threads = 2
        }
        let summary = try Trainer(model: m, training: t, folder: RunFolder(path: dir.path("runs/zh")), resume: false).run()
        let dev = try #require(summary.last)
        for task in ["topic", "sentiment"] {
            let accuracy = try #require(dev.task(task)?.metrics["accuracy"])
            let baseline = majorityShare(dev, task: task)
            print("chinese \(task): dev accuracy \(accuracy), majority class \(baseline)")
            #expect(accuracy > baseline + 0.05, "\(task): \(accuracy) against the majority class's \(baseline)")
        }
    }

    /// Two corpora and two task kinds in one store: WNUT-17 NER (BIO tags, CRF head) and SST-2
    /// sentiment, each with its own dev file. Sentiment beats the majority class; the NER head finds
    /// entities (span F1 > 0, where the all-O baseline scores 0).
    @Test func wnutNERWithACRFBesideSST2Sentiment() throws {
        guard Corpora.available else { print("skipped: \(Corpora.skipMessage)"); return }
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("two.sqlite")
        let store = try ExampleStore(path: path)
        let ner = Mapping(format: .conll, tasks: ["ner": TaskMapping(kind: .tagging, field: "1")])
        for (file, part) in [("wnut17train.conll", nil), ("emerging.dev.conll", "dev")] as [(String, String?)] {
            var options = ImportOptions(mapping: ner, pipeline: try TextPipeline())
            options.part = part
            _ = try Importer(store: store, options: options).importFile(Corpora.path("wnut17/" + file))
        }
        let train = try String(contentsOfFile: Corpora.path("sst2/train.tsv"), encoding: .utf8).split(separator: "\n").prefix(6001)
        var sst = Mapping(format: .tsv, text: "sentence", tasks: ["sentiment": TaskMapping(kind: .classification, field: "label")])
        sst.allowEmptyText = true
        try importText(train.joined(separator: "\n") + "\n", name: "sst-train.tsv", into: store, dir: dir, mapping: sst)
        try importText(try String(contentsOfFile: Corpora.path("sst2/dev.tsv"), encoding: .utf8), name: "sst-dev.tsv", into: store, dir: dir,
                       mapping: sst, part: "dev")
        try finishStore(store, ratios: (1, 0, 0))
        let (m, t) = try smallRun(store: path, epochs: 5, heads: ["ner": .crf]) { m, t in
            m.embeddingSize = 48; m.hiddenSize = 64; m.pooling = .max; t.loader.batchSize = 32; t.learningRate = 0.005; t.threads = 2
        }
        let summary = try Trainer(model: m, training: t, folder: RunFolder(path: dir.path("runs/two")), resume: false).run()
        let best = try #require(summary.best)
        let sentiment = try #require(best.task("sentiment")?.metrics["accuracy"])
        let baseline = majorityShare(best, task: "sentiment")
        let nerEval = try #require(best.task("ner"))
        guard case .spans(let spans) = nerEval.report else { Issue.record("ner is not scored by spans"); return }
        print("sst-2 sentiment \(sentiment) (majority \(baseline)); wnut-17 span F1 \(spans.f1), P \(spans.precision), R \(spans.recall), token accuracy \(spans.tokenAccuracy)")
        #expect(sentiment > baseline + 0.05)
        #expect(spans.f1 > 0 && spans.correctSpans > 0)
        #expect(spans.goldSpans > 0 && nerEval.examples == 1009)
    }
}
