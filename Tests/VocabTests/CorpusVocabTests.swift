import Foundation
import Splits
import Store
import Testing
import TestSupport
@testable import Vocab

@Suite struct CorpusVocabTests {
    /// SST-2, 5 folds: the vocabulary of fold 0 holds exactly the tokens of fold 0's training
    /// part (min_freq 1) — none seen only in its dev part — and its ids decode to the tokens.
    @Test func foldVocabularyHasNoDevOnlyTokens() throws {
        guard Corpora.available else { print("skipped: \(Corpora.skipMessage)"); return }
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("sst.sqlite"))
        try importCorpus("sst2/train.tsv", into: store, text: "sentence", labels: ["sentiment": "label"])
        let split = try Splitter.run(store: store, name: "cv", spec: try SplitSpec(kind: .kfold(folds: 5, test: 0), seed: 0, stratify: ["sentiment"])).split
        let summary = try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "f0", split: "cv", fold: 0))
        let entries = try store.vocabEntries(vocabID: summary.vocabulary.id).map(\.token)
        let vocab = Set(entries.dropFirst(5))

        let a = try store.assignments(splitID: split.id)
        var part: [Int64: SplitPart] = [:]
        for i in 0..<a.count { part[a.exampleIDs[i]] = split.part(stored: a.parts[i], fold: a.folds[i], in: 0) }
        var train = Set<String>(), dev = Set<String>()
        var tokensOf: [Int64: [String]] = [:]
        try store.forEachExample { e in
            let t = try TokenBlob.decode(e.tokens, text: e.text).tokens
            tokensOf[e.id] = t
            if part[e.id] == .train { train.formUnion(t) } else { dev.formUnion(t) }
        }
        let devOnly = dev.subtracting(train)
        #expect(!devOnly.isEmpty)
        #expect(vocab == train)
        #expect(vocab.isDisjoint(with: devOnly))
        var checked = 0
        try store.forEachEncoded(vocab: summary.vocabulary) { id, ids in
            let words = tokensOf[id]!
            #expect(ids.map { entries[Int($0)] } == words.map { vocab.contains($0) ? $0 : "<unk>" })
            checked += 1
        }
        #expect(checked == 67_349)
        let devRow = try #require(summary.coverage.first { $0.part == "dev" && $0.task == nil })
        #expect(devRow.outOfVocabulary > 0 && devRow.examples == a.folds.filter { $0 == 0 }.count)
    }
}
