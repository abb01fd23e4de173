import Foundation
import Store
import Testing
import Text
@testable import CorpusImport

@Suite struct ImporterTests {
    let f = Fixture()
    let csvMapping = Mapping(format: .csv, text: "text", tasks: ["topic": TaskMapping(kind: .classification, field: "topic")])

    /// A store holding one earlier import, and its dump.
    func seeded() throws -> (String, [String], [UInt8]) {
        let db = f.storePath()
        try importFile(f.file("seed.csv", "text,topic\nfirst one,a\nsecond one,b\n"), into: db, csvMapping)
        return (db, try dump(db), Array(try Data(contentsOf: URL(fileURLWithPath: db))))
    }

    @Test func hostileInputsFailAndLeaveTheStoreUnchanged() throws {
        let (db, rows, bytes) = try seeded()
        var laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE s [\n<!ENTITY lol0 \"lol\">\n"
        for i in 1...9 { laughs += "<!ENTITY lol\(i) \"" + String(repeating: "&lol\(i - 1);", count: 10) + "\">\n" }
        laughs += "]>\n<s><sentence><text>&lol9;</text></sentence></s>\n"
        var xml = Mapping(format: .xml, text: "text")
        xml.record = "sentence"
        let cases: [(String, [UInt8], Mapping, ImportError.Kind, String)] = [
            ("quote.csv", Array("text,topic\nok,a\n\"never closed,b\n".utf8), csvMapping, .unterminatedQuote, "quote.csv:3"),
            ("ragged.csv", Array("text,topic\nok,a\ntoo,many,fields\n".utf8), csvMapping, .raggedRow, "ragged.csv:3: expected 2 fields, found 3"),
            ("utf8.csv", Array("text,topic\nok,a\nbad ".utf8) + [0xC3, 0x28] + Array(",b\n".utf8), csvMapping, .invalidUTF8, "utf8.csv:3"),
            ("broken.xml", Array("<s><sentence><text>a</text></sentence><sentence><text>b</sentence></s>".utf8), xml, .notWellFormedXML, "broken.xml:1"),
            ("laughs.xml", Array(laughs.utf8), xml, .unsafeXML, "laughs.xml"),
            ("missing.csv", Array("text,other\nok,a\n".utf8), csvMapping, .unknownColumn, "missing.csv:1: unknown column 'topic'"),
            ("empty.csv", Array("text,topic\nok,a\n,b\n".utf8), csvMapping, .emptyText, "empty.csv:3: empty text in field 'text'"),
            ("nolabel.csv", Array("text,topic\nok,a\nno label,\n".utf8), csvMapping, .missingField, "nolabel.csv:3: missing field 'topic' (task 'topic')"),
        ]
        for (name, content, mapping, kind, message) in cases {
            let path = f.file(name, bytes: content)
            let e = importError { try importFile(path, into: db, mapping) }
            #expect(e?.kind == kind, "\(name): \(String(describing: e))")
            #expect(e?.description.hasPrefix(message) == true, "\(name): \(String(describing: e))")
            #expect(try dump(db) == rows, "\(name): rows changed")
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: db))) == bytes, "\(name): store file changed")
        }
    }

    @Test func skipStoresRejectsWithLocatorAndReason() throws {
        let (db, _, _) = try seeded()
        var m = csvMapping
        m.tasks["topic"]!.labels = ["a", "b"]
        let path = f.file("mixed.csv", bytes: Array("text,topic\ngood,a\n,b\nbad ".utf8) + [0xFF] + Array(",a\nx,y,z\nunknown,c\nfine,b\n".utf8))
        let s = try importFile(path, into: db, m, onError: .skip)
        #expect(s.recordsRead == 6 && s.examplesStored == 2 && s.rejects == 4)
        #expect(s.rejectReasons == ["emptyText": 1, "invalidUTF8": 1, "raggedRow": 1, "invalidLabel": 1])
        let rejects = try ExampleStore(path: db, readOnly: true).rejects(sourceID: s.sourceID)
        #expect(rejects.map(\.locator) == ["mixed.csv:3", "mixed.csv:4:5", "mixed.csv:5", "mixed.csv:6"])
        #expect(rejects[3].reason.contains("unknown label 'c'"))
        // The same file with fail: nothing changes.
        let before = try dump(db)
        #expect(importError { try importFile(path, into: db, m, replace: true) }?.kind == .emptyText)
        #expect(try dump(db) == before)
    }

    @Test func sameInputSameIdsAndBlobsWhateverTheThreads() throws {
        let text = "text,topic\n" + (0..<3000).map { "line \($0): 我正在写这本书 ＡＢＣ \($0 % 7),t\($0 % 3)" }.joined(separator: "\n") + "\n"
        let path = f.file("det.csv", text)
        var results: [[String]] = []
        for (threads, chunk) in [(1, 1024), (2, 7), (3, 100)] {
            let db = f.storePath("det-\(threads).sqlite")
            try importFile(path, into: db, csvMapping, threads: threads, chunkSize: chunk)
            results.append(try dump(db).filter { !$0.hasPrefix("sources:") && !$0.hasPrefix("store_migrations:") })
        }
        #expect(results[0].count > 6000)
        #expect(results[0] == results[1] && results[0] == results[2])
    }

    @Test func mappingFromYAMLAndItsErrors() throws {
        let m = try yamlMapping("""
            format: xml
            record: sentence
            text: text
            tasks:
              aspect: {kind: spans, items: aspectTerms/aspectTerm, start: "@from", end: "@to", label: "@polarity", scheme: BIOES}
              category: {kind: multilabel, field: aspectCategories/aspectCategory/@category}
            pipeline: {normalize: nfkc_cf, tokenize: words}
            """)
        #expect(m.taskNames == ["aspect", "category"] && m.tasks["aspect"]?.scheme == .bioes && m.pipeline?.tokenize == "words")
        #expect(m.tasks["aspect"]?.spanFields(format: .xml)?.start == "aspectTerms/aspectTerm/@from")
        func err(_ yaml: String) -> String? {
            do { _ = try yamlMapping(yaml).validate(origin: "test.yaml"); return nil } catch { return "\(error)" }
        }
        #expect(err("format: csv\ntext: t\ntasks: {a: {kind: span, field: x}}") == "test.yaml: tasks.a.kind: unknown task kind 'span' (expected classification, multilabel, tagging, spans, seq2seq, regression)")
        #expect(err("format: csv\ntext: t\ntasks: {a: {kind: classification, feild: x}}")?.hasPrefix("test.yaml: tasks.a.feild: unknown key") == true)
        #expect(err("format: cvs\ntext: t")?.hasPrefix("test.yaml: format: unknown format 'cvs'") == true)
        #expect(err("format: csv\ntasks: {}") == "test.yaml: text: no text field given (required for csv)")
        #expect(err("format: xml\ntext: t") == "test.yaml: record: xml needs the record element's name")
        #expect(err("format: csv\ntext: t\ntasks: {a: {kind: tagging, field: x}}")?.contains("tasks.a.kind: tagging needs pre-tokenized input (conll, conllu, a jsonl token list or an xml node-set), not csv") == true)
        #expect(err("format: csv\ntext: t\ntasks: {a: {kind: spans, start: s}}")?.contains("tasks.a.start: a spans task needs start, end and label") == true)
        #expect(err("format: csv\ntext: t\ndelimiter: ';;'") == "test.yaml: delimiter: must be one byte, not ';;'")
        let file = f.file("m.yaml", "format: csv\ntext: t\nbogus: 1\n")
        #expect(importError { _ = try Mapping.load(path: file) }?.description.hasPrefix(file + ": bogus: unknown key") == true)
    }

    @Test func jsonlSpansTaggingAndGroups() throws {
        let path = f.file("s.jsonl", """
            {"text": "Ｎｅｗ York is big", "user": "u1", "ents": [{"s": 0, "e": 8, "t": "LOC"}]}
            {"text": "I ❤️ Paris", "user": "u2", "ents": [{"s": 5, "e": 10, "t": "LOC"}]}
            {"text": "Bad span here", "user": "u2", "ents": [{"s": 2, "e": 6, "t": "X"}]}
            {"text": "nothing", "user": "u3", "ents": []}
            """)
        var m = Mapping(format: .jsonl, text: "text", tasks: ["ner": .spans(items: "ents.*", start: "s", end: "e", label: "t", unit: .utf16, scheme: .bioes)])
        m.group = "user"
        let db = f.storePath()
        let s = try importFile(path, into: db, m)
        #expect(s.examplesStored == 4)
        #expect(s.spans["ner"] == { var c = SpanCounts(); c.spans = 3; c.aligned = 2; c.expanded = 1; return c }())
        let store = try ExampleStore(path: db, readOnly: true)
        let tags = try (1...4).map { try store.example(id: Int64($0))!.annotations[0].names }
        #expect(tags[0] == ["B-LOC", "E-LOC", "O", "O"])
        #expect(tags[1].last == "S-LOC")            // "❤️" is 2 UTF-16 units + VS16: offsets 5..<10 are "Paris"
        #expect(tags[2] == ["S-X", "E-X", "O"] || tags[2] == ["B-X", "E-X", "O"])
        #expect(try store.example(id: 2)!.example.groupKey == "u2")
        m.tasks["ner"]!.unaligned = .drop
        let dropped = try importFile(path, into: f.storePath("drop.sqlite"), m)
        #expect(dropped.spans["ner"]?.dropped == 1 && dropped.spans["ner"]?.expanded == 0)
        let outOfRange = f.file("r.jsonl", #"{"text": "short", "user": "u", "ents": [{"s": 2, "e": 9, "t": "X"}]}"#)
        #expect(importError { try importFile(outOfRange, into: db, m) }?.description == "r.jsonl:1: span 1 [2, 9) 'X' is empty or outside the text (5 utf16)")
    }

    @Test func spanAlignerSchemesAndOverlaps() throws {
        let p = try TextPipeline().makeProcessor()
        let t = try p.tokenize("the big red fox")
        var c = SpanCounts()
        let loc = RecordLocator(file: "x")
        let bio = try SpanAligner.tags(locator: loc, text: t.original, tokens: t.tokens,
                                       spans: [.init(start: 4, end: 11, label: "A"), .init(start: 8, end: 15, label: "B"), .init(start: 3, end: 4, label: "C")],
                                       unit: .scalars, scheme: .bio, unaligned: .expand, counts: &c)
        #expect(bio == ["O", "B-A", "I-A", "O"])
        #expect(c.aligned == 1 && c.overlapping == 1 && c.noTokens == 1)
        let bytes = try SpanAligner.tags(locator: loc, text: t.original, tokens: t.tokens, spans: [.init(start: 12, end: 13, label: "F")],
                                         unit: .utf8, scheme: .bioes, unaligned: .expand, counts: &c)
        #expect(bytes == ["O", "O", "O", "S-F"] && c.expanded == 1)
    }
}
