import Foundation
import Splits
import Store
import Testing
import TestSupport
@testable import Vocab

/// A store with two small sources and a 2-fold split.
func smallStore(_ dir: TempDir) throws -> ExampleStore {
    let store = try ExampleStore(path: dir.path("v.sqlite"))
    let texts = ["the cat sat", "the dog sat", "a cat ran", "the bird", "zebra crossing the road", "Apple apple APPLE",
                 "the the the", "b a", "unique words here", "cat dog bird"]
    try addSource(store, path: "a.csv", texts.enumerated().map { SyntheticExample($0.element, ["label": $0.offset % 2 == 0 ? "x" : "y"]) })
    return store
}

@Suite struct VocabularyTests {
    @Test func orderIsFrequencyThenCodePointWithSpecialsFirst() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try smallStore(dir)
        let summary = try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "v", split: nil, all: true))
        let entries = try store.vocabEntries(vocabID: summary.vocabulary.id)
        #expect(entries.prefix(5).map(\.token) == ["<pad>", "<unk>", "<bos>", "<eos>", "<mask>"])
        // Counted by hand: the 7, apple 3, cat 3, sat 2, a 2, dog 2, bird 2, then singletons by code point.
        #expect(entries.dropFirst(5).prefix(7).map(\.token) == ["the", "apple", "cat", "a", "bird", "dog", "sat"])
        #expect(entries[5].count == 7)
        let singles = entries.dropFirst(12).map(\.token)
        #expect(singles == singles.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        #expect(summary.size == entries.count && summary.trainingTokens == 29)

        let small = try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "s", split: nil, all: true, minFreq: 2, maxSize: 9))
        #expect(try store.vocabEntries(vocabID: small.vocabulary.id).map(\.token) == ["<pad>", "<unk>", "<bos>", "<eos>", "<mask>", "the", "apple", "cat", "a"])
    }

    @Test func encodedIdsMatchTokensAndUnknownsBecomeUnk() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try smallStore(dir)
        let v = try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "v", split: nil, all: true, minFreq: 2)).vocabulary
        let tokens = try store.vocabEntries(vocabID: v.id).map(\.token)
        var seen = 0
        var texts: [Int64: String] = [:]
        try store.forEachExample { texts[$0.id] = $0.text }
        try store.forEachEncoded(vocab: v) { id, ids in
            let words = texts[id]!.lowercased().split(separator: " ").map(String.init)
            #expect(ids.count == words.count)
            for (w, i) in zip(words, ids) { #expect(tokens[Int(i)] == (tokens.contains(w) ? w : "<unk>")) }
            seen += 1
        }
        #expect(seen == 10)
        #expect(v.idWidth == 2)
    }

    @Test func refusesWithoutSplitAndCountsOnlyTraining() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try smallStore(dir)
        #expect(throws: VocabError.self) { try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "v", split: nil)) }
        do { _ = try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "v", split: nil)) } catch let e as VocabError {
            #expect(e.message.contains("pass --all"))
        }
        #expect(throws: VocabError.self) { try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "v", split: "nope")) }
        let split = try Splitter.run(store: store, name: "cv", spec: try SplitSpec(kind: .kfold(folds: 2, test: 0), seed: 5)).split
        #expect(throws: VocabError.self) { try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "v", split: "cv")) }
        let summary = try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "v", split: "cv", fold: 0))
        let vocab = Set(try store.vocabEntries(vocabID: summary.vocabulary.id).map(\.token))
        // Every kept token occurs in fold 0's training part; dev-only tokens are absent.
        let a = try store.assignments(splitID: split.id)
        var trainTokens = Set<String>(), devTokens = Set<String>()
        var part: [Int64: SplitPart] = [:]
        for i in 0..<a.count { part[a.exampleIDs[i]] = split.part(stored: a.parts[i], fold: a.folds[i], in: 0) }
        try store.forEachExample { e in
            let words = e.text.lowercased().split(separator: " ").map(String.init)
            if part[e.id] == .train { trainTokens.formUnion(words) } else { devTokens.formUnion(words) }
        }
        #expect(vocab.subtracting(["<pad>", "<unk>", "<bos>", "<eos>", "<mask>"]) == trainTokens)
        #expect(!devTokens.subtracting(trainTokens).isEmpty)
        #expect(vocab.isDisjoint(with: devTokens.subtracting(trainTokens)))
        let dev = try #require(summary.coverage.first { $0.part == "dev" && $0.task == nil })
        #expect(dev.outOfVocabulary > 0 && summary.coverage.first { $0.part == "train" && $0.task == nil }!.outOfVocabulary == 0)
        #expect(summary.coverage.contains { $0.task == "label" })
        // Label counts come from the training part only.
        let labels = try store.vocabLabelCounts(vocabID: summary.vocabulary.id)
        #expect(labels.values.first!.reduce(0, +) == Int64(part.values.filter { $0 == .train }.count))
    }

    @Test func sameInputsGiveByteIdenticalTables() throws {
        var dumps: [[String]] = []
        for _ in 0..<2 {
            let dir = TempDir(); defer { dir.cleanup() }
            let store = try smallStore(dir)
            _ = try Splitter.run(store: store, name: "cv", spec: try SplitSpec(kind: .kfold(folds: 2, test: 0), seed: 5))
            _ = try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "v", split: "cv", fold: 1, characters: true))
            dumps.append(try dumpTables(dir.path("v.sqlite"), ["split_assignments", "vocab_entries", "vocab_labels", "encoded", "token_types"])
                .filter { !$0.contains("created_at") })
        }
        #expect(dumps[0] == dumps[1])
        #expect(dumps[0].contains { $0.hasPrefix("vocab_entries") && $0.contains("char") })
    }

    @Test func indexFollowsImportsAndReplacements() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try smallStore(dir)
        #expect(try TokenTypeIndex.update(store: store).examplesAdded == 10)
        #expect(try TokenTypeIndex.update(store: store).examplesAdded == 0)
        try addSource(store, path: "b.csv", [SyntheticExample("brand new words"), SyntheticExample("the cat")])
        let u = try TokenTypeIndex.update(store: store)
        #expect(u.examplesAdded == 2)
        let v = try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "v", split: nil, all: true))
        #expect(try store.vocabEntries(vocabID: v.vocabulary.id).contains { $0.token == "brand" })
        try store.deleteSource(id: 1)
        #expect(try TokenTypeIndex.update(store: store).examplesAdded == 2)
        let w = try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "w", split: nil, all: true))
        #expect(w.trainingTokens == 5)
        #expect(!(try store.vocabEntries(vocabID: w.vocabulary.id).contains { $0.token == "zebra" }))
    }

    @Test func replaceAndNameConflicts() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try smallStore(dir)
        _ = try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "v", split: nil, all: true))
        let before = try dumpTables(dir.path("v.sqlite"), ["vocabularies", "vocab_entries", "encoded"])
        #expect(throws: StoreError.self) { try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "v", split: nil, all: true, minFreq: 2)) }
        #expect(try dumpTables(dir.path("v.sqlite"), ["vocabularies", "vocab_entries", "encoded"]) == before)
        let r = try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "v", split: nil, all: true, minFreq: 2), replace: true)
        #expect(try store.vocabularies().count == 1 && r.size < 20)
    }
}

@Suite struct VocabFileTests {
    @Test func txtAndJsonRoundTrip() throws {
        let tokens = ["<pad>", "<unk>", "the", "é", "中文", "\"quoted\"", "back\\slash"]
        for f in VocabFile.Format.allCases {
            let bytes = try VocabFile.export(tokens, format: f)
            #expect(try VocabFile.read(bytes, format: f, name: "v") == tokens)
        }
        let json = String(decoding: try VocabFile.export(["a", "b"], format: .json), as: UTF8.self)
        #expect(json == "{\n  \"a\": 0,\n  \"b\": 1\n}\n")
        #expect(throws: VocabError.self) { try VocabFile.export(["a\nb"], format: .txt) }
        #expect(throws: VocabError("v.json: ids are not dense 0…1 (id 1 is missing)")) { try VocabFile.read(Array(#"{"a":0,"b":2}"#.utf8), format: .json, name: "v.json") }
        #expect(throws: VocabError("v.json: id 0 is given to both 'a' and 'b'")) { try VocabFile.read(Array(#"{"a":0,"b":0}"#.utf8), format: .json, name: "v.json") }
    }

    @Test func importedVocabularyKeepsIds() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try smallStore(dir)
        let list = ["[PAD]", "[UNK]", "cat", "the", "sat"]
        let s = try VocabularyBuilder.store(tokens: list, unk: "[UNK]", name: "imp", store: store, membership: .all, paramsJSON: "{}")
        #expect(try store.vocabEntries(vocabID: s.vocabulary.id).map(\.token) == list)
        #expect(try store.vocabEntries(vocabID: s.vocabulary.id)[3].count == 7)
        #expect(throws: VocabError.self) { try VocabularyBuilder.store(tokens: ["a"], unk: "[UNK]", name: "x", store: store, membership: .all, paramsJSON: "{}") }
    }

    @Test func presetFilesMatchTheBuiltInPresets() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for (name, preset) in SpecialTokens.presets {
            let file = root.appendingPathComponent("Vocab/presets/\(name).json")
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(text.trimmingCharacters(in: .whitespacesAndNewlines) == preset.json, "Vocab/presets/\(name).json differs from the built-in preset")
        }
        #expect(throws: VocabError.self) { try SpecialTokens.parse("pad=<pad>") }
        #expect(try SpecialTokens.parse("pad=[P],unk=[U]").id(of: .unk) == 1)
    }
}

@Suite struct TokenScanTests {
    /// The vocabulary's blob scanner reads every token-blob layout exactly as `decode` does:
    /// layout 1, layout 2, and layout 2 with tokens as slices of the text.
    @Test func scannerAgreesWithDecodeOnBothLayouts() throws {
        let texts = ["the cat sat", "Ünïcödé wörds hère", "中文 分词 测试 ok", "", "a", String(repeating: "long ", count: 300)]
        for text in texts {
            var builder = TokenBlob.Builder(), slices = TokenBlob.Builder()
            let decoded = try TokenBlob.decode(whitespaceTokens(text))
            for (span, token) in zip(decoded.spans, decoded.tokens) { builder.append(span, normalized: token); slices.appendSlice(span) }
            let sliced = decoded.spans.map { String(decoding: Array(text.utf8)[Int($0.utf8Start)..<Int($0.utf8End)], as: UTF8.self) }
            for (blob, expected) in [(builder.finish(), decoded.tokens), (builder.finishCompact(), decoded.tokens), (slices.finishCompact(), sliced)] {
                var scanned: [String] = []
                let ok = blob.withUnsafeBytes { raw in
                    Array(text.utf8).withUnsafeBytes { t in TokenBlob.forEachNormalizedToken(raw, text: t) { scanned.append(String(decoding: $0, as: UTF8.self)) } }
                }
                #expect(ok)
                #expect(scanned == expected, "\(text)")
                #expect(try TokenBlob.decode(blob, text: text).tokens == expected)
                // A cut blob is reported, never read past its end.
                if blob.count > 9 {
                    let cut = Array(blob.dropLast(3))
                    #expect(!cut.withUnsafeBytes { raw in Array(text.utf8).withUnsafeBytes { t in TokenBlob.forEachNormalizedToken(raw, text: t) { _ in } } })
                }
            }
        }
    }
}
