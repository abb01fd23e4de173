import Foundation
import Store
import Testing
import Text
@testable import CorpusImport

/// Issue 16, "Data": seq2seq targets with their own pipeline, stored with offsets.
@Suite("Seq2seq import (issue 16)")
struct Seq2SeqImportTests {
    let fx = Fixture()

    static let g2p = """
        word\tphones\ttranslit
        cat\tK AE1 T\tкот
        naïve\tN AY0 IY1 V\tнаив
        北京\tB EY2  JH IH1 NG\t北京
        dog\tD AO1 G\tсобака

        """

    func seq2seq(_ field: String, target: Mapping.PipelineSection? = nil, maxLength: Int? = nil,
                 tooLong: TaskMapping.TooLongPolicy? = nil) -> Mapping {
        var t = TaskMapping(kind: .seq2seq, field: field)
        t.target = target; t.maxLength = maxLength; t.tooLong = tooLong
        return Mapping(format: .tsv, text: "word", tasks: ["g2p": t])
    }

    @Test func targetsAreStoredWithTheirTokensAndOffsets() throws {
        let path = fx.file("g2p.tsv", Self.g2p)
        let db = fx.storePath()
        let s = try importFile(path, into: db, seq2seq("phones"), pipeline: TextPipeline(normalize: "nfkc_cf", tokenize: "graphemes"))
        #expect(s.examplesStored == 4)
        let store = try ExampleStore(path: db, readOnly: true)
        let third = try #require(try store.example(id: 3))
        #expect(third.tokens.tokens == ["北", "京"])
        let a = try #require(third.annotations.first)
        #expect(a.task.kind == .seq2seq)
        // Whitespace tokens by default, the double space skipped; offsets point into the target as read.
        #expect(a.names == ["B", "EY2", "JH", "IH1", "NG"])
        let target = try #require(a.target)
        #expect(target.text == "B EY2  JH IH1 NG")
        #expect(target.tokens.spans.map { Int($0.scalarStart) } == [0, 2, 7, 10, 14])
        #expect(target.tokens.spans.map { Int($0.utf8End) } == [1, 5, 9, 13, 16])
        // The target's token types are the task's labels, counted per token.
        let counts = try labelCounts(db, task: "g2p")
        #expect(counts["K"] == 1 && counts["AE1"] == 1 && counts["IY1"] == 1 && counts.count == 15)
        #expect(try store.tasks().first?.kind == .seq2seq)
    }

    @Test func theTargetPipelineIsItsOwn() throws {
        let path = fx.file("g2p.tsv", Self.g2p)
        let db = fx.storePath()
        try importFile(path, into: db, seq2seq("translit", target: .init(normalize: "nfkc_cf", tokenize: "graphemes")))
        let store = try ExampleStore(path: db, readOnly: true)
        // Source text through the default words tokenizer, target through graphemes, offsets in bytes of Cyrillic.
        #expect(try store.example(id: 1)!.tokens.tokens == ["cat"])
        let t = try #require(try store.example(id: 1)!.annotations[0].target)
        #expect(t.tokens.tokens == ["к", "о", "т"])
        #expect(t.tokens.spans.map { Int($0.utf8Start) } == [0, 2, 4])
    }

    @Test func longTargetsAreCutOrRefusedAndCounted() throws {
        let path = fx.file("g2p.tsv", Self.g2p)
        let db = fx.storePath()
        let s = try importFile(path, into: db, seq2seq("phones", maxLength: 3))
        #expect(s.truncatedTargets["g2p"] == 2)   // naïve (4 phones) and 北京 (5)
        let store = try ExampleStore(path: db, readOnly: true)
        #expect(try store.example(id: 3)!.annotations[0].names == ["B", "EY2", "JH"])
        #expect(try store.example(id: 3)!.annotations[0].target!.tokens.count == 3)

        let rejected = try importFile(path, into: fx.storePath("r.sqlite"), seq2seq("phones", maxLength: 3, tooLong: .reject), onError: .skip)
        #expect(rejected.examplesStored == 2 && rejected.rejects == 2)
        let e = importError { try importFile(path, into: fx.storePath("f.sqlite"), seq2seq("phones", maxLength: 3, tooLong: .reject)) }
        #expect(e?.kind == .invalidLabel)
        #expect(e?.locator.line == 3, "\(String(describing: e))")
        #expect(e?.message.contains("longer than max_length 3") == true)
    }

    @Test func anEmptyTargetIsAnErrorNamingTheRecord() throws {
        let path = fx.file("e.tsv", "word\tphones\ncat\tK AE1 T\nfoo\t   \n")
        let e = importError { try importFile(path, into: fx.storePath(), seq2seq("phones")) }
        #expect(e?.kind == .emptyValue)
        #expect(e?.locator.line == 3)
        #expect(e?.message.contains("empty target") == true, "\(String(describing: e))")
        // A missing column is a missing field, as for any task.
        let m = importError { try importFile(path, into: fx.storePath("m.sqlite"), seq2seq("nope")) }
        #expect(m != nil)
    }

    @Test func mappingFilesTakeTheTargetSection() throws {
        let m = try yamlMapping("""
            format: tsv
            text: word
            tasks:
              g2p: {kind: seq2seq, field: phones, target: {tokenize: whitespace}, max_length: 40, too_long: reject}
            """)
        #expect(m.tasks["g2p"]?.kind == .seq2seq)
        #expect(m.tasks["g2p"]?.maxLength == 40 && m.tasks["g2p"]?.tooLong == .reject)
        #expect(throws: ImportError.self) {
            try yamlMapping("format: tsv\ntext: w\ntasks:\n  g: {kind: seq2seq, field: p, target: {tokenizer: words}}\n")
        }
        // Seq2seq keys on another kind are refused.
        let bad = importError {
            var t = TaskMapping(kind: .classification, field: "phones"); t.maxLength = 3
            try importFile(fx.file("g.tsv", Self.g2p), into: fx.storePath(), Mapping(format: .tsv, text: "word", tasks: ["x": t]))
        }
        #expect(bad?.kind == .invalidMapping)
    }

    @Test func deletingASourceDeletesItsTargets() throws {
        let path = fx.file("g2p.tsv", Self.g2p)
        let db = fx.storePath()
        try importFile(path, into: db, seq2seq("phones"))
        try importFile(path, into: db, seq2seq("phones"), replace: true)
        let c = try Connection(path: db, readOnly: true)
        #expect(try c.scalar("SELECT COUNT(*) FROM targets") == .integer(4))
        #expect(try c.scalar("SELECT COUNT(*) FROM targets t LEFT JOIN examples e ON e.id = t.example_id WHERE e.id IS NULL") == .integer(0))
    }
}
