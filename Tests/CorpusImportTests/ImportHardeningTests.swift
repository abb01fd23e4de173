import Foundation
import Store
import Testing
import Text
@testable import CorpusImport

/// Issue 18, "Defects".
@Suite("Import hardening (issue 18)")
struct ImportHardeningTests {
    let fx = Fixture()

    static let sentences = """
        <sentences><sentence id="1"><text>The food was great</text></sentence></sentences>

        """

    @Test func anInvalidExpressionAfterAValidOneIsAnErrorNotACrash() throws {
        // The second expression failed to compile after the first had compiled: the reader freed
        // the first one, then its deinit freed it again.
        let path = fx.file("s.xml", Self.sentences)
        let e = firstError { try XMLRecordReader(path: path, fields: ["text", "t["], options: XMLOptions(recordElement: "sentence")) }
        #expect(e?.kind == .invalidXPath)
        #expect(e?.message == "invalid XPath expression 't[' at character 3 (end of the expression): Invalid expression")
    }

    @Test func mappingValidationNamesTheKeyAndPosition() throws {
        var m = Mapping(format: .xml, text: "text", tasks: ["l": TaskMapping(kind: .classification, field: "a/string(b)/c")])
        m.record = "sentence"
        let e = importError { try m.validate(origin: "mapping") }
        #expect(e?.kind == .invalidXPath)
        #expect(e?.description.hasPrefix("mapping: tasks.l.field: invalid XPath expression 'a/string(b)/c' at character") == true, "\(String(describing: e))")
        // Expressions that are not node-sets are fine where a value is expected.
        m.tasks["l"] = TaskMapping(kind: .classification, field: "concat(@a, '-', @b)")
        #expect(importError { try m.validate(origin: "mapping") } == nil)
        m.tasks["l"] = TaskMapping(kind: .classification, field: "x:y/@z")   // a prefix the document may declare
        #expect(importError { try m.validate(origin: "mapping") } == nil)
    }

    @Test func aMappingFileNamesTheLineOfTheBadExpression() throws {
        let e = importError {
            _ = try yamlMapping("""
                format: xml
                record: sentence
                text: text
                tasks:
                  a.b:
                    kind: spans
                    items: aspectTerms/aspectTerm
                    start: "@from"
                    end: "@to]"
                    label: "@polarity"
                """)
        }
        #expect(e?.kind == .invalidXPath)
        #expect(e?.locator.line == 9, "\(String(describing: e))")
        #expect(e?.message.hasPrefix("tasks.a.b.end: invalid XPath expression 'aspectTerms/aspectTerm/@to]'") == true, "\(String(describing: e))")
    }

    @Test(arguments: ["words", "pretokenized"])
    func aJSONTokenListIsTheTokensWhateverTheTokenizer(tokenizer: String) throws {
        let path = fx.file("pos.jsonl", """
            {"tokens": ["粒砂"], "pos": ["n"]}
            {"tokens": ["New York", "is", "big"], "pos": ["PROPN", "AUX", "ADJ"]}
            {"tokens": ["New York"], "pos": ["PROPN"]}
            {"tokens": ["a", "b"], "pos": ["X"]}

            """)
        let m = Mapping(format: .jsonl, text: "tokens", tasks: ["pos": TaskMapping(kind: .tagging, field: "pos")])
        let db = fx.storePath("\(tokenizer).sqlite")
        let s = try importFile(path, into: db, m, pipeline: try TextPipeline(tokenize: tokenizer), onError: .skip)
        #expect(s.examplesStored == 3)
        // One tag too few is a tag count mismatch, not an unknown label.
        #expect(s.rejectReasons == ["tagCountMismatch": 1])
        let store = try ExampleStore(path: db, readOnly: true)
        let tokens = try (1...3).map { id in
            let e = try #require(try store.example(id: Int64(id)))
            return e.tokens.spans.map { String(e.example.text.unicodeScalars.dropFirst(Int($0.scalarStart)).prefix(Int($0.scalarEnd - $0.scalarStart))) }
        }
        #expect(tokens == [["粒砂"], ["New York", "is", "big"], ["New York"]])
        #expect(try store.example(id: 1)!.annotations[0].names == ["n"])
        #expect(try store.rejects(sourceID: s.sourceID).map(\.reason) == ["task 'pos' has 1 tags for 2 tokens"])
    }

    @Test func noRecordFromANonEmptyFileIsAnErrorNamingWhatWasLookedFor() throws {
        let db = fx.storePath()
        let seed = fx.file("seed.csv", "text,l\nfine,a\n")
        try importFile(seed, into: db, Mapping(format: .csv, text: "text", tasks: ["l": TaskMapping(kind: .classification, field: "l")]))
        let before = try dump(db)
        let tei = fx.file("tei.xml", """
            <?xml version="1.0"?>
            <TEI xmlns="http://www.tei-c.org/ns/1.0"><teiHeader/><text><body><sp><l>a</l></sp></body></text></TEI>

            """)
        func xml(_ record: String, _ namespace: String?) -> Mapping {
            var m = Mapping(format: .xml, text: "l")
            m.record = record; m.namespace = namespace
            return m
        }
        for reading in [XMLReading(), XMLReading(subsetParser: false)] {
            let misspelled = importError { try importFile(tei, into: db, xml("spp", nil), xml: reading) }
            #expect(misspelled?.kind == .noRecords)
            #expect(misspelled?.message == "no record element <spp> (in any namespace); elements in the first 3 levels: "
                    + "/TEI, /TEI/teiHeader, /TEI/text, /TEI/text/body (all in namespace 'http://www.tei-c.org/ns/1.0'); "
                    + "nothing imported (--allow-empty imports an empty source)", "\(String(describing: misspelled))")
            let wrongNamespace = importError { try importFile(tei, into: db, xml("sp", "http://www.tei-c.org/ns/2.0"), xml: reading) }
            #expect(wrongNamespace?.message.hasPrefix("no record element <sp> (in namespace 'http://www.tei-c.org/ns/2.0'); elements") == true)
            #expect(try dump(db) == before)
        }
        let header = fx.file("h.csv", "text,l\n")
        let m = Mapping(format: .csv, text: "text", tasks: ["l": TaskMapping(kind: .classification, field: "l")])
        #expect(importError { try importFile(header, into: db, m) }?.description == "h.csv: no rows after the header row; nothing imported (--allow-empty imports an empty source)")
        #expect(try dump(db) == before)

        // --allow-empty: an empty source, as before.
        let store = try ExampleStore(path: db)
        var options = ImportOptions(mapping: m, pipeline: try TextPipeline())
        options.allowEmpty = true
        let s = try Importer(store: store, options: options).importFile(header)
        #expect(s.status == .imported && s.recordsRead == 0)
    }

    @Test func anEmptyAttributeIsAnEmptyValueNotAMissingField() throws {
        let path = fx.file("e.xml", """
            <sentences>
              <sentence><text>good food</text><c polarity=""/></sentence>
              <sentence><text>bad food</text><c/></sentence>
            </sentences>

            """)
        var m = Mapping(format: .xml, text: "text", tasks: ["p": TaskMapping(kind: .classification, field: "c/@polarity")])
        m.record = "sentence"
        for reading in [XMLReading(), XMLReading(subsetParser: false)] {
            let s = try importFile(path, into: fx.storePath("e\(reading.subsetParser).sqlite"), m, onError: .skip, xml: reading)
            #expect(s.rejectReasons == ["emptyValue": 1, "missingField": 1], "\(reading)")
            let reasons = try ExampleStore(path: fx.storePath("e\(reading.subsetParser).sqlite"), readOnly: true).rejects(sourceID: s.sourceID).map(\.reason)
            #expect(reasons == ["field 'c/@polarity' (task 'p') is present but empty; an empty value is not a label (optional: true leaves such records without one)",
                                "missing field 'c/@polarity' (task 'p')"], "\(reading)")
        }
        m.tasks["p"]!.optional = true
        #expect(try importFile(path, into: fx.storePath("opt.sqlite"), m).examplesStored == 2)
    }

    /// A FIFO fed by a thread in pipe-sized writes, as `cat big.csv | mtl-prep import /dev/stdin` is.
    private func pipe(_ name: String, _ bytes: [UInt8]) throws -> (path: String, writer: Thread) {
        let path = fx.dir.appendingPathComponent(name).path
        #expect(mkfifo(path, 0o600) == 0)
        let writer = Thread {
            guard let h = FileHandle(forWritingAtPath: path) else { return }
            var i = 0
            while i < bytes.count {
                let n = min(65536, bytes.count - i)
                h.write(Data(bytes[i..<(i + n)]))
                i += n
            }
            try? h.close()
        }
        writer.start()
        return (path, writer)
    }

    @Test func aLongRecordFromAPipeIsReadInLinearWork() throws {
        // 8 MB in one CSV field: partial pipe reads (64 KiB each) used to make the scanner start the
        // record again after each one, ~n²/128 KiB = 512 MB of scanning; full reads double what each
        // pass sees, so the passes that run out of data add up to less than the record itself.
        let field = [UInt8](repeating: UInt8(ascii: "w"), count: 8 << 20)
        let (path, _) = try pipe("long.csv", Array("text,l\n".utf8) + field + Array(",a\nshort,b\n".utf8))
        let reader = try CSVReader(path: path, columns: [.name("text"), .name("l")])
        let records = try readAll(reader)
        #expect(records.map { $0.fields[0].single?.utf8.count } == [8 << 20, 5])
        #expect(reader.rescannedBytes < 2 * field.count, "rescanned \(reader.rescannedBytes) bytes for an \(field.count)-byte record")
        #expect(reader.sourceReads <= 12, "\(reader.sourceReads) reads")
        #expect(reader.totalBytes == nil)
    }

    @Test func aByteSourceFillsWhatItIsAskedForFromAPipe() throws {
        let bytes = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let (path, _) = try pipe("bytes", bytes)
        let source = try ByteSource(path: path, displayName: nil, hashing: true)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 1)
        defer { buffer.deallocate() }
        var got: [UInt8] = [], sizes: [Int] = []
        while true {
            let n = try source.read(into: buffer.baseAddress!, count: buffer.count)
            if n == 0 { break }
            sizes.append(n)
            got += buffer.prefix(n)
        }
        #expect(sizes == [1 << 20, 1 << 20, 1 << 20])
        #expect(got == bytes)
        let file = fx.file("bytes.bin", bytes: bytes)
        #expect(source.digest == (try SHA256.hexDigest(ofFile: file)))
    }

    @Test func chunksAndWorkInFlightAreBoundedByBytes() throws {
        // 12 records of 1 MB: one chunk of 12 MB before (1,024 records per chunk whatever their size).
        let record = String(repeating: "word ", count: 200_000)
        let path = fx.file("big.csv", "text,l\n" + (0..<12).map { "\(record)\($0),\($0 % 2)\n" }.joined())
        let store = try ExampleStore(path: fx.storePath())
        var options = ImportOptions(mapping: Mapping(format: .csv, text: "text", tasks: ["l": TaskMapping(kind: .classification, field: "l")]),
                                    pipeline: try TextPipeline())
        options.chunkBytes = 2 << 20
        options.threads = 2
        final class Seen: @unchecked Sendable { let lock = NSLock(); var chunks: [(Int, Int)] = [] }
        let seen = Seen()
        options.chunkObserver = { n, bytes in seen.lock.lock(); seen.chunks.append((n, bytes)); seen.lock.unlock() }
        let s = try Importer(store: store, options: options).importFile(path)
        #expect(s.examplesStored == 12)
        #expect(seen.chunks.map(\.0).reduce(0, +) == 12)
        // A chunk ends at the record that takes it to 2 MiB: at most 2 MiB plus one record.
        #expect(seen.chunks.allSatisfy { $0.1 < (2 << 20) + 1_000_100 }, "\(seen.chunks)")
        #expect(seen.chunks.count >= 4, "\(seen.chunks)")
    }

    @Test func orderedParallelMapBoundsTheCostInFlight() throws {
        let costs = [5, 1, 1, 1, 7, 2, 2, 9, 1, 1, 1, 1, 3]
        var next = 0, consumed = 0, inFlight = 0, peak = 0
        var out: [Int] = []
        try OrderedParallelMap.run(threads: 3, makeWorker: { () }, next: { () -> Int? in
            guard next < costs.count else { return nil }
            defer { next += 1 }
            inFlight += costs[next]; peak = max(peak, inFlight)
            return next
        }, transform: { _, i in i }, consume: { i in
            out.append(i); inFlight -= costs[i]; consumed += 1
        }, cost: { costs[$0] }, maxCost: 8)
        #expect(out == Array(costs.indices))
        // Never more than the bound plus the one item that crossed it.
        #expect(peak <= 8 + 9, "peak \(peak)")
        #expect(peak < costs.reduce(0, +))
    }

    static let semeval16 = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/semeval16-restaurants-sample.xml").standardized.path

    static func semevalMapping(_ duplicates: TaskMapping.DuplicatePolicy?) -> Mapping {
        var m = Mapping(format: .xml, text: "text", tasks: [
            "aspect": .spans(items: "Opinions/Opinion", start: "@from", end: "@to", label: "@polarity", duplicates: duplicates),
            "category": TaskMapping(kind: .multilabel, field: "Opinions/Opinion/@category"),
        ])
        m.record = "sentence"
        return m
    }

    @Test func emptySpansAreSkippedAndExactDuplicatesMerged() throws {
        // SemEval-2016 marks an opinion without a target as target="NULL" from="0" to="0": the
        // record failed ("span … is empty"), and --on-error skip dropped its categories with it.
        let db = fx.storePath()
        let s = try importFile(Self.semeval16, into: db, Self.semevalMapping(nil), onError: .skip)
        #expect(s.recordsRead == 6 && s.examplesStored == 5 && s.rejectReasons == ["invalidSpan": 1])
        var c = SpanCounts()
        c.spans = 8; c.aligned = 4; c.empty = 3; c.duplicates = 1
        #expect(s.spans["aspect"] == c)
        let store = try ExampleStore(path: db, readOnly: true)
        let rejects = try store.rejects(sourceID: s.sourceID)
        #expect(rejects.map(\.locator) == ["semeval16-restaurants-sample.xml:41 (record 5, /Reviews/Review/sentences/sentence)"])
        #expect(rejects.first?.reason == "spans 1 and 2 [4, 9) have different labels 'positive' and 'negative' (duplicate spans policy: error; --duplicate-spans first keeps the first)")
        // The empty target's record keeps its category; its tokens are all O.
        let noTarget = try #require(try store.example(id: 2))
        #expect(noTarget.example.text == "We will not come back.")
        #expect(noTarget.annotations.first { $0.task.name == "aspect" }?.names.allSatisfy { $0 == "O" } == true)
        #expect(noTarget.annotations.first { $0.task.name == "category" }?.names == ["RESTAURANT#GENERAL"])
        let pasta = try #require(try store.example(id: 3))
        #expect(pasta.annotations.first { $0.task.name == "aspect" }?.names == ["O", "B-positive", "O", "O", "O", "O", "O"])
    }

    @Test func conflictingDuplicateSpansFollowThePolicy() throws {
        let db = fx.storePath()
        let e = importError { try importFile(Self.semeval16, into: db, Self.semevalMapping(nil)) }
        #expect(e?.kind == .invalidSpan && e?.locator.recordIndex == 5)
        let s = try importFile(Self.semeval16, into: db, Self.semevalMapping(.first))
        #expect(s.examplesStored == 6)
        var c = SpanCounts()
        c.spans = 10; c.aligned = 5; c.empty = 3; c.duplicates = 1; c.conflicting = 1
        #expect(s.spans["aspect"] == c)
        let steak = try #require(try ExampleStore(path: db, readOnly: true).example(id: 5))
        #expect(steak.annotations.first { $0.task.name == "aspect" }?.names.prefix(3) == ["O", "B-positive", "O"])
        // The default policy is left out of the stored mapping, so older mappings keep their identity.
        #expect(!Self.semevalMapping(.error).canonicalJSON().contains("duplicates"))
        #expect(Self.semevalMapping(.first).canonicalJSON().contains("\"duplicates\":\"first\""))
        let yaml = try yamlMapping("""
            format: xml
            record: sentence
            text: text
            tasks:
              aspect: {kind: spans, items: Opinions/Opinion, start: "@from", end: "@to", label: "@polarity", duplicates: first}
            """)
        #expect(yaml.tasks["aspect"]?.duplicates == .first)
    }
}
