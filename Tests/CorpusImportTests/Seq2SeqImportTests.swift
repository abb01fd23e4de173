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

    static let dictionary = """
        ;;; CMUdict-like, written for this test
        cat K AE1 T
        cat(2) K AA1 T
        banana B AH0 N AE1 N AH0  # a comment
        strength S T R EH1 NG K TH

        """

    @Test func regexLinesCountedLabelsAndRejectedVariants() throws {
        let path = fx.file("d.dict", Self.dictionary)
        var m = Mapping(format: .regex, text: "word")
        m.pattern = #"^(?<word>[^\s(]+) (?<phones>[^#]+?)(?:\s+#.*)?$"#
        m.comment = ";;;"
        var syllables = TaskMapping(kind: .classification, field: "phones")
        syllables.count = "[012]"
        m.tasks = ["g2p": TaskMapping(kind: .seq2seq, field: "phones"), "syllables": syllables]
        let db = fx.storePath()
        let s = try importFile(path, into: db, m, pipeline: TextPipeline(normalize: "none", tokenize: "graphemes"), onError: .skip)
        #expect(s.examplesStored == 3 && s.rejects == 1 && s.rejectReasons["patternMismatch"] == 1)
        let store = try ExampleStore(path: db, readOnly: true)
        #expect(try store.rejects(sourceID: s.sourceID).first?.locator == "d.dict:3")
        let banana = try #require(try store.example(id: 2))
        #expect(banana.annotations.first { $0.task.name == "syllables" }?.names == ["3"])
        #expect(banana.annotations.first { $0.task.name == "g2p" }?.names == ["B", "AH0", "N", "AE1", "N", "AH0"])
        #expect(try labelCounts(db, task: "syllables") == ["1": 2, "3": 1])
        // Counting applies to classification tasks only, and the pattern must compile.
        var bad = TaskMapping(kind: .multilabel, field: "phones"); bad.count = "[012]"
        m.tasks = ["x": bad]
        #expect(importError { try importFile(path, into: fx.storePath("b.sqlite"), m) }?.kind == .invalidMapping)
        syllables.count = "[012"
        m.tasks = ["x": syllables]
        #expect(importError { try importFile(path, into: fx.storePath("c.sqlite"), m) }?.kind == .invalidMapping)
    }

    @Test func parallelMappingsNameTheirTargetFile() throws {
        let src = fx.file("a.en", "one two\nthree\n")
        let tgt = fx.file("a.de", "eins zwei\ndrei\n")
        var m = Mapping(format: .parallel, text: "source", tasks: ["de": TaskMapping(kind: .seq2seq, field: "target")])
        m.targetFile = tgt
        let db = fx.storePath()
        let first = try importFile(src, into: db, m)
        #expect(first.examplesStored == 2)
        #expect(try ExampleStore(path: db, readOnly: true).example(id: 1)!.annotations[0].names == ["eins", "zwei"])
        // Another target file is another source, even with the same source file.
        let other = fx.file("b.de", "uno dos\ntres\n")
        m.targetFile = other
        #expect(try importFile(src, into: db, m).status == .imported)
        m.targetFile = nil
        #expect(importError { try importFile(src, into: fx.storePath("x.sqlite"), m) }?.kind == .invalidMapping)
    }
}

/// Issue 18, "Span alignment, visible": spans widened or left out are stored per source with their record.
@Suite("Span alignment outcomes in the store (issue 18)")
struct SpanAlignmentStoreTests {
    let fx = Fixture()

    @Test func widenedAndDroppedSpansAreStoredWithTheirExample() throws {
        // "pizz" is inside the token "pizzas": widened (expand) or left out (drop); "" marks no span.
        let csv = "text,s,e,l\n\"The pizzas were great\",4,8,food\n\"Nice staff\",5,10,service\n"
        let path = fx.file("a.csv", csv)
        for (policy, kind) in [(TaskMapping.UnalignedPolicy.expand, "expanded"), (.drop, "dropped")] {
            let db = fx.storePath("\(kind).sqlite")
            let s = try importFile(path, into: db, Mapping(format: .csv, text: "text", tasks: ["asp": .spans(start: "s", end: "e", label: "l", unaligned: policy)]))
            let store = try ExampleStore(path: db, readOnly: true)
            let rows = try store.spanAlignments()
            #expect(rows.count == 1)
            let r = try #require(rows.first)
            #expect(r.kind == kind && r.locator == "a.csv:2" && r.task == "asp" && r.start == 4 && r.end == 8 && r.label == "food")
            #expect(r.exampleID == 1 && r.sourceID == s.sourceID)
            if policy == .expand { #expect(r.storedStart == 4 && r.storedEnd == 10 && r.storedText == "pizzas") } else { #expect(r.storedText == nil) }
            // Replacing the source replaces its rows.
            try importFile(path, into: db, Mapping(format: .csv, text: "text", tasks: ["asp": .spans(start: "s", end: "e", label: "l", unaligned: policy)]), replace: true)
            #expect(try ExampleStore(path: db, readOnly: true).spanAlignments().count == 1)
        }
    }
}
