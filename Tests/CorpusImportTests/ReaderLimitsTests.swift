import Foundation
import Store
import Testing
import Text
@testable import CorpusImport

/// Issue 18, "Fuzzing and limits": one set of limits, applied alike by every reader, each an
/// error naming the limit and the flag that raises it.
@Suite("Reader limits")
struct ReaderLimitsTests {
    let fx = Fixture()

    static func limits(record: Int? = nil, textNode: Int? = nil, depth: Int? = nil, tokens: Int? = nil) -> ReaderLimits {
        var l = ReaderLimits()
        if let record { l.recordBytes = record }
        if let textNode { l.textNodeBytes = textNode }
        if let depth { l.depth = depth }
        if let tokens { l.tokensPerExample = tokens }
        return l
    }

    static let words100 = String(repeating: "w ", count: 100)   // 200 bytes, 100 tokens

    /// Rejects of the store's only source: (locator, reason).
    func rejects(_ store: String, _ summary: ImportSummary) throws -> [(String, String)] {
        try ExampleStore(path: store, readOnly: true).rejects(sourceID: summary.sourceID).map { ($0.locator, $0.reason) }
    }

    @Test func byteCountsTakeBinarySuffixes() {
        #expect(ReaderLimits.bytes("1000") == 1000)
        #expect(ReaderLimits.bytes("64K") == 65_536)
        #expect(ReaderLimits.bytes("64m") == 64 << 20)
        #expect(ReaderLimits.bytes("2G") == 2 << 30)
        for bad in ["", "M", "1.5M", "-1", "12x", "９"] { #expect(ReaderLimits.bytes(bad) == nil, "\(bad)") }
        #expect(Self.limits(depth: 0).problem() == "--max-depth must be between 1 and 2048, not 0")
        #expect(Self.limits(depth: 5000).problem() != nil)
        #expect(Self.limits(record: 0).problem() == "--max-record-bytes must be at least 1, not 0")
        #expect(ReaderLimits().problem() == nil)
    }

    @Test func aCSVRecordOverTheLimitNamesItsLineTheSizeAndTheFlag() throws {
        let path = fx.file("a.csv", "text,label\nshort,a\n\(Self.words100),b\nok,a\n")
        let m = Mapping(format: .csv, text: "text", tasks: ["l": TaskMapping(kind: .classification, field: "label")])
        let e = importError { try importFile(path, into: fx.storePath(), m, limits: Self.limits(record: 100)) }
        #expect(e?.kind == .recordTooLong)
        #expect(e?.description == "a.csv:3: record longer than the limit of 100 bytes (203 bytes, --max-record-bytes raises it)")
        // Nothing written; a limit above the record imports it.
        #expect(try importFile(path, into: fx.storePath(), m, limits: Self.limits(record: 203)).examplesStored == 3)
    }

    @Test func lineFormatsApplyTheRecordLimitToALine() throws {
        let jsonl = fx.file("a.jsonl", "{\"t\": \"hi\"}\n{\"t\": \"\(Self.words100)\"}\n")
        var m = Mapping(format: .jsonl, text: "t", tasks: [:])
        var e = importError { try importFile(jsonl, into: fx.storePath("j.sqlite"), m, limits: Self.limits(record: 100)) }
        #expect(e?.kind == .recordTooLong && e?.locator.line == 2, "\(String(describing: e))")
        #expect(e?.message.contains("--max-record-bytes") == true)

        let regex = fx.file("d.txt", "A  a\nB  \(Self.words100)\n")
        m = Mapping(format: .regex, text: "w", tasks: [:])
        m.pattern = "^(?<w>\\S+)  (?<p>.*)$"
        e = importError { try importFile(regex, into: fx.storePath("r.sqlite"), m, limits: Self.limits(record: 100)) }
        #expect(e?.kind == .recordTooLong && e?.locator.line == 2, "\(String(describing: e))")

        let src = fx.file("s.txt", "one\ntwo\n"), tgt = fx.file("t.txt", "eins\n\(Self.words100)\n")
        m = Mapping(format: .parallel, text: "source", tasks: ["mt": TaskMapping(kind: .seq2seq, field: "target")])
        m.targetFile = tgt
        e = importError { try importFile(src, into: fx.storePath("p.sqlite"), m, limits: Self.limits(record: 100)) }
        #expect(e?.kind == .recordTooLong && e?.description.hasPrefix("t.txt:2: line longer than the limit of 100 bytes") == true,
                "\(String(describing: e))")
    }

    @Test func aCoNLLSentenceIsOneRecordWhateverItsLines() throws {
        // 60 short lines without a blank line: each line is small, the sentence is not.
        let lines = (1...60).map { "w\($0)\tO" }.joined(separator: "\n")
        let path = fx.file("a.conll", "a\tO\n\nb\tO\n" + lines + "\n\nc\tO\n")
        let m = Mapping(format: .conll, text: "0", tasks: ["ner": TaskMapping(kind: .tagging, field: "1")])
        let e = importError { try importFile(path, into: fx.storePath(), m, limits: Self.limits(record: 200)) }
        #expect(e?.kind == .recordTooLong)
        #expect(e?.description.hasPrefix("a.conll:3: sentence longer than the limit of 200 bytes") == true, "\(String(describing: e))")
        #expect(try importFile(path, into: fx.storePath(), m, limits: Self.limits(record: 1000)).examplesStored == 3)
    }

    @Test func jsonNestingIsCheckedBeforeParsingAndTheNextLineGoesOn() throws {
        let deep = String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000)
        let path = fx.file("a.jsonl", "{\"t\": \"one\"}\n{\"t\": \"two\", \"z\": \(deep)}\n{\"t\": \"x [ { \\\" y\", \"z\": [[1]]}\n")
        let m = Mapping(format: .jsonl, text: "t", tasks: [:])
        let e = importError { try importFile(path, into: fx.storePath("a.sqlite"), m) }
        #expect(e?.kind == .limitExceeded)
        #expect(e?.description == "a.jsonl:2: JSON arrays and objects nested deeper than the limit of 256 levels (--max-depth raises it)")
        let s = try importFile(path, into: fx.storePath("b.sqlite"), m, onError: .skip, limits: Self.limits(depth: 3))
        // Brackets inside strings do not count; line 3 nests 3 deep (the object is level 1).
        #expect(s.examplesStored == 2 && s.rejectReasons == ["limitExceeded": 1])
        #expect(try rejects(fx.storePath("b.sqlite"), s).map(\.0) == ["a.jsonl:2"])
        #expect(jsonNestingDepth(UnsafeRawBufferPointer(start: nil, count: 0), stopAbove: 1) == 0)
    }

    @Test func tokensPerExampleMakeABadRecord() throws {
        let path = fx.file("a.csv", "text,label\nshort one,a\n\(Self.words100),b\nok,a\n")
        let m = Mapping(format: .csv, text: "text", tasks: ["l": TaskMapping(kind: .classification, field: "label")])
        let e = importError { try importFile(path, into: fx.storePath("a.sqlite"), m, limits: Self.limits(tokens: 99)) }
        #expect(e?.kind == .limitExceeded)
        #expect(e?.description.hasPrefix("a.csv:3: text of 100 tokens is over the limit of 99 tokens per example (--max-tokens-per-example raises it") == true,
                "\(String(describing: e))")
        let s = try importFile(path, into: fx.storePath("b.sqlite"), m, onError: .skip, limits: Self.limits(tokens: 99))
        #expect(s.examplesStored == 2 && s.rejectReasons == ["limitExceeded": 1])
        #expect(try importFile(path, into: fx.storePath("c.sqlite"), m, limits: Self.limits(tokens: 100)).examplesStored == 3)
        // Pre-tokenized words count alike.
        let conll = fx.file("a.conll", (1...10).map { "w\($0)\tO" }.joined(separator: "\n") + "\n")
        let c = Mapping(format: .conll, text: "0", tasks: ["ner": TaskMapping(kind: .tagging, field: "1")])
        #expect(importError { try importFile(conll, into: fx.storePath("d.sqlite"), c, limits: Self.limits(tokens: 9)) }?.kind == .limitExceeded)
    }

    static let deep = String(repeating: "<a>", count: 20) + "x" + String(repeating: "</a>", count: 20)
    static let xml = """
        <?xml version="1.0"?>
        <doc>
        <r l="a"><t>first</t></r>
        <r l="b"><t>second \(deep)</t></r>
        <r l="a" note="\(String(repeating: "n", count: 3000))"><t>third</t></r>
        <r l="a"><t>fourth \(String(repeating: "y", count: 5000))</t></r>
        <r l="a"><t>fifth</t></r>
        </doc>

        """

    static func xmlMapping() -> Mapping {
        var m = Mapping(format: .xml, text: "t", tasks: ["l": TaskMapping(kind: .classification, field: "@l")])
        m.record = "r"
        return m
    }

    /// The subset parser and libxml2 report a limit alike: the subset parser hands the file to
    /// libxml2 near any limit, and libxml2 measures the record.
    @Test(arguments: [true, false])
    func xmlDepthAndTextNodesAreBadRecordsOnBothPaths(subset: Bool) throws {
        let path = fx.file("a.xml", Self.xml)
        let m = Self.xmlMapping(), xml = XMLReading(subsetParser: subset)
        #expect(try importFile(path, into: fx.storePath("all.sqlite"), m, xml: xml).examplesStored == 5)

        let e = importError { try importFile(path, into: fx.storePath("d.sqlite"), m, xml: xml, limits: Self.limits(depth: 10)) }
        #expect(e?.description == "a.xml:4 (record 2, /doc/r): XML elements nested deeper than the limit of 10 levels (--max-depth raises it)")
        var s = try importFile(path, into: fx.storePath("d2.sqlite"), m, onError: .skip, xml: xml, limits: Self.limits(depth: 10))
        #expect(s.examplesStored == 4 && s.rejectReasons == ["limitExceeded": 1])
        // The root is level 1: <doc><r><t><a>×20 is 23 deep.
        #expect(try importFile(path, into: fx.storePath("d3.sqlite"), m, xml: xml, limits: Self.limits(depth: 23)).examplesStored == 5)

        s = try importFile(path, into: fx.storePath("t.sqlite"), m, onError: .skip, xml: xml, limits: Self.limits(textNode: 2000))
        #expect(s.examplesStored == 3 && s.rejectReasons == ["limitExceeded": 2])
        let reasons = try rejects(fx.storePath("t.sqlite"), s)
        #expect(reasons.map(\.0) == ["a.xml:5 (record 3, /doc/r)", "a.xml:6 (record 4, /doc/r)"])
        #expect(reasons.map(\.1) == ["an attribute value (3000 bytes) longer than the limit of 2000 bytes (--max-text-node-bytes raises it)",
                                     "an XML text node (5007 bytes) longer than the limit of 2000 bytes (--max-text-node-bytes raises it)"])
    }

    @Test(arguments: [true, false])
    func anXMLRecordOverTheRecordLimitEndsTheImport(subset: Bool) throws {
        let path = fx.file("a.xml", Self.xml)
        let e = importError {
            try importFile(path, into: fx.storePath(), Self.xmlMapping(), onError: .skip, xml: XMLReading(subsetParser: subset),
                           limits: Self.limits(record: 4000))
        }
        #expect(e?.kind == .recordTooLong)
        #expect(e?.description.hasPrefix("a.xml:6 (record 4, /doc/r): record element longer than the limit of 4000 bytes (") == true,
                "\(String(describing: e))")
        #expect(e?.message.hasSuffix("bytes, --max-record-bytes raises it)") == true)
        let examples = FileManager.default.fileExists(atPath: fx.storePath()) ? try ExampleStore(path: fx.storePath(), readOnly: true).stats().examples : 0
        #expect(examples == 0)
    }

    /// Past libxml2's own defaults (depth 256) the limit is raised with XML_PARSE_HUGE.
    @Test(arguments: [true, false])
    func xmlDeeperThanLibxml2sDefaultNeedsTheFlag(subset: Bool) throws {
        let deep = String(repeating: "<a>", count: 300) + "x" + String(repeating: "</a>", count: 300)
        let path = fx.file("b.xml", "<doc><r l=\"a\"><t>one</t></r><r l=\"b\"><t>two \(deep)</t></r></doc>")
        let xml = XMLReading(subsetParser: subset)
        let e = importError { try importFile(path, into: fx.storePath("a.sqlite"), Self.xmlMapping(), onError: .skip, xml: xml) }
        #expect(e?.kind == .unsafeXML)
        #expect(e?.message == "XML elements nested deeper than the limit of 256 levels (--max-depth raises it)", "\(String(describing: e))")
        #expect(try importFile(path, into: fx.storePath("b.sqlite"), Self.xmlMapping(), xml: xml, limits: Self.limits(depth: 400)).examplesStored == 2)
    }
}
