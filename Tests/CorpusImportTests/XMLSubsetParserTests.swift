import Foundation
import Testing
@testable import CorpusImport

/// `FastXMLRecordReader` (the subset parser, handing over to libxml2) against libxml2's
/// `XMLRecordReader` on the same files: the same records — fields, lines, record indexes,
/// element paths — or the same error.
@Suite struct XMLSubsetParserTests {
    let f = Fixture()

    /// Block sizes that put block boundaries inside every kind of construct, and the default.
    static let blockSizes = [7, 16, 61, 1 << 20]

    enum Outcome: Equatable {
        case records([RawRecord])
        case error(String)
    }

    func outcome(_ make: () throws -> any RecordReader) -> Outcome {
        do {
            let r = try make()
            return .records(try readAll(r))
        } catch let e as ImportError {
            return .error("\(e.kind): \(e)")
        } catch {
            return .error("\(error)")
        }
    }

    func libxml2(_ path: String, _ fields: [String], _ options: XMLOptions) -> Outcome {
        outcome { try XMLRecordReader(path: path, fields: fields, options: options, hashing: true) }
    }

    /// The subset parser's outcome and why it handed over (nil: it read the whole file).
    func subset(_ path: String, _ fields: [String], _ options: XMLOptions, blockSize: Int) -> (Outcome, String?) {
        var reader: FastXMLRecordReader?
        let o = outcome {
            let paths = fields.compactMap { XMLFieldPath($0, namespaces: options.namespaces) }
            #expect(paths.count == fields.count, "fields outside the subset: \(fields)")
            let r = try FastXMLRecordReader(path: path, fields: fields, paths: paths, options: options, displayName: nil,
                                            hashing: true, blockSize: blockSize)
            reader = r
            return r
        }
        return (o, reader?.handOverReason)
    }

    /// Same outcome at every block size; returns the hand-over reasons.
    @discardableResult
    func check(_ name: String, _ text: String, fields: [String], options: XMLOptions = XMLOptions(recordElement: "sentence"),
               handsOver: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) -> Outcome {
        check(name, bytes: Array(text.utf8), fields: fields, options: options, handsOver: handsOver, sourceLocation: sourceLocation)
    }

    @discardableResult
    func check(_ name: String, bytes: [UInt8], fields: [String], options: XMLOptions = XMLOptions(recordElement: "sentence"),
               handsOver: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) -> Outcome {
        let path = f.file(name, bytes: bytes)
        let expected = libxml2(path, fields, options)
        for size in Self.blockSizes {
            let (got, reason) = subset(path, fields, options, blockSize: size)
            #expect(got == expected, "\(name), blocks of \(size)", sourceLocation: sourceLocation)
            #expect((reason != nil) == handsOver, "\(name), blocks of \(size): hand-over \(reason ?? "none")", sourceLocation: sourceLocation)
        }
        return expected
    }

    static let semevalFields = ["text", "@id", "aspectTerms/aspectTerm/@term", "aspectTerms/aspectTerm/@from", "aspectCategories/aspectCategory/@category"]

    @Test func recordsTextAttributesAndRepeatedChildren() {
        let o = check("s.xml", XMLReaderTests.semeval, fields: Self.semevalFields + ["aspectTerms/aspectTerm/@polarity"])
        guard case .records(let r) = o else { Issue.record("\(o)"); return }
        #expect(r.count == 3 && r[0].fields[0] == .list(["The \"food\" & staff <3 café"]))
    }

    @Test func boundariesInsideComments_CDATA_PIsAndAttributes() {
        check("tricky.xml", """
            <?xml version='1.0' encoding='utf-8' standalone='no'?>
            <!-- <sentence id="c0"><text>in a comment</text></sentence> -->
            <?pi <sentence id="pi0"/> ?>
            <sentences>
              <!-- a - b <sentence> -->
              <sentence id="1" note="a > b, c/>d, &lt;&#x4e2d;&#20013;&quot;x&apos;" other='"q"'>
                <text>x <![CDATA[<sentence id="cd"><text>not a record</text></sentence> ]] > ]]> y &amp; z</text>
                <?target data <text>no</text>?>
              </sentence>
              <sentence
                  id="2"
                  >
                <text>two <!-- c --> parts</text></sentence><sentence id="3"/>
              <sentence id="4" ><text/></sentence>
            </sentences>
            <!-- after -->
            <?after?>

            """, fields: ["text", "@id", "@note", "@other"])
    }

    @Test func nestedRecordNamesAndDepths() {
        let o = check("nested.xml", """
            <root><sentence id="1"><text>outer</text><sentence id="inner"><text>inner</text></sentence></sentence>
            <group><deeper><sentence id="2"><text>deep</text></sentence></deeper></group>
            <sentence id="3"><x><text>not a child</text></x><text>a</text><text>b</text></sentence></root>
            """, fields: ["text", "@id", "sentence/@id", "sentence/text", "x/text"])
        guard case .records(let r) = o else { Issue.record("\(o)"); return }
        #expect(r.map(\.locator.elementPath) == ["/root/sentence", "/root/group/deeper/sentence", "/root/sentence"])
    }

    @Test func rootIsTheRecord() {
        check("root.xml", "<sentence id=\"r\"><text>the only one</text></sentence>\n", fields: ["text", "@id"])
        check("rootself.xml", "<sentence id=\"r\"/>", fields: ["text", "@id"])
    }

    @Test func namespaces() {
        let tei = """
            <TEI xmlns="http://www.tei-c.org/ns/1.0" xmlns:x="urn:x">
              <text><body>
                <p n="1">Hello <hi>world</hi><x:note x:kind="k" xml:lang="en">n1</x:note></p>
                <p n="2" xmlns="urn:inner"><hi>inner default</hi></p>
                <p n="3" xmlns=""><hi>no namespace</hi></p>
                <y:p xmlns:y="http://www.tei-c.org/ns/1.0" n="4"><hi>prefixed</hi></y:p>
              </body></text>
              <q:p xmlns:q="urn:other" n="5">not TEI <q:hi>q</q:hi></q:p>
            </TEI>
            """
        let spaces = ["t": "urn:x", "l": "http://www.w3.org/XML/1998/namespace"]
        for uri in [nil, "http://www.tei-c.org/ns/1.0", "urn:other", ""] {
            check("tei.xml", tei, fields: ["@n", "hi", "t:note", "t:note/@t:kind", "t:note/@l:lang", "t:note/@kind"],
                  options: XMLOptions(recordElement: "p", namespaceURI: uri, namespaces: spaces))
        }
    }

    @Test func lineEndsAndLineNumbers() {
        let crlf = "<?xml version=\"1.0\"?>\r\n<sentences>\r\n  <sentence id=\"1\"\r\n    a=\"x\r\ny\ttab\"><text>one\r\ntwo\r\n</text></sentence>\r\n"
            + "  <sentence id=\"2\"><text><![CDATA[c\r\nd]]>&#13;&#10;</text></sentence>\r\n</sentences>\r\n"
        check("crlf.xml", crlf, fields: ["text", "@a", "@id"])
        check("bom.xml", bytes: [0xEF, 0xBB, 0xBF] + Array("<sentences>\n\n<sentence><text>x</text></sentence></sentences>".utf8), fields: ["text"])
    }

    @Test func unicodeAcrossBlocks() {
        let text = (0..<40).map { "é中😀\u{7F}\u{85}\u{E000}ｘ\($0)" }.joined(separator: " ")
        check("utf8.xml", "<sentences><sentence note=\"\(text)\"><text>\(text)</text></sentence></sentences>", fields: ["text", "@note"])
    }

    /// The subset parser counts every line; libxml2 stores a node's line in 16 bits and, past
    /// line 65535, gives an element the line of its first child's text instead. Both read
    /// the same records otherwise.
    @Test func linesPast65535AreExact() throws {
        let head = "<sentences>\n" + String(repeating: "<!-- -->\n", count: 70_000)
        let path = f.file("long.xml", head + "<sentence>\n<text>x</text></sentence></sentences>")
        let (o, reason) = subset(path, ["text"], XMLOptions(recordElement: "sentence"), blockSize: 1 << 16)
        #expect(reason == nil)
        #expect(o == .records([RawRecord(locator: RecordLocator(file: "long.xml", line: 70_002, recordIndex: 1, elementPath: "/sentences/sentence"),
                                         fields: [.list(["x"])])]))
        #expect(libxml2(path, ["text"], XMLOptions(recordElement: "sentence"))
                == .records([RawRecord(locator: RecordLocator(file: "long.xml", line: 70_003, recordIndex: 1, elementPath: "/sentences/sentence"),
                                       fields: [.list(["x"])])]))
    }

    /// Well-formed inputs outside the subset: libxml2 takes over and reads them as always.
    @Test func handsOverWhatItDoesNotCheck() throws {
        let body = "<sentences>\n<sentence id=\"1\"><text>caf\u{E9}</text></sentence>\n<sentence id=\"2\"><text>b</text></sentence>\n</sentences>\n"
        check("latin1.xml", bytes: Array("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n".utf8) + Array(body.unicodeScalars.map { UInt8($0.value) }),
              fields: ["text"], handsOver: true)
        check("utf16.xml", bytes: [0xFF, 0xFE] + body.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }, fields: ["text"], handsOver: true)
        check("doctype.xml", "<!DOCTYPE sentences SYSTEM \"s.dtd\">\n" + body, fields: ["text"], handsOver: true)
        check("latename.xml", body.replacingOccurrences(of: "<text>b</text>", with: "<text>b</text><naïve/>"), fields: ["text"], handsOver: true)
        check("lonecr.xml", body.replacingOccurrences(of: "\n<sentence id=\"2\">", with: "\r<sentence id=\"2\">"), fields: ["text"], handsOver: true)
        check("refs.xml", body.replacingOccurrences(of: "<text>b", with: "<text>&#x00000041;"), fields: ["text"], handsOver: true)
        // Not a regular file, or an expression outside the subset: libxml2 from the start.
        let p = f.file("plain.xml", body)
        let sentence = XMLOptions(recordElement: "sentence")
        #expect(try XMLReading().makeReader(path: p, fields: ["string(text)"], options: sentence, displayName: nil, hashing: true) is XMLRecordReader)
        #expect(try XMLReading().makeReader(path: p, fields: ["text"], options: sentence, displayName: nil, hashing: true) is FastXMLRecordReader)
        #expect(try XMLReading().makeReader(path: "/dev/null", fields: ["text"], options: sentence, displayName: nil, hashing: true) is XMLRecordReader)
    }

    /// Not well-formed or refused: the error is libxml2's, wherever it lies.
    @Test func errorsAreLibxml2s() {
        let good = (1...30).map { "  <sentence id=\"\($0)\"><text>record \($0)</text></sentence>\n" }.joined()
        let cases: [(String, String)] = [
            ("late.xml", "<sentences>\n" + good + "  <sentence><text>bad</txt></sentence>\n</sentences>\n"),
            ("ancestor.xml", "<sentences><group>\n" + good + "</sentences></group>\n"),
            ("truncated.xml", "<sentences>\n" + good + "  <sentence><text>cut"),
            ("truncated2.xml", "<sentences>\n" + good),
            ("garbage.xml", "<sentences>\n" + good + "</sentences>\ntrailing"),
            ("second.xml", "<sentences>\n" + good + "</sentences>\n<sentences/>"),
            ("undeclared.xml", "<sentences>\n" + good + "<sentence><x:text>a</x:text></sentence></sentences>"),
            ("entity.xml", "<sentences>\n" + good + "<sentence><text>&nbsp;</text></sentence></sentences>"),
            ("dup.xml", "<sentences>\n" + good + "<sentence id=\"1\" id=\"2\"/></sentences>"),
            ("nsdup.xml", "<sentences xmlns:a=\"u\" xmlns:b=\"u\">\n" + good + "<sentence a:id=\"1\" b:id=\"2\"/></sentences>"),
            ("lt.xml", "<sentences>\n" + good + "<sentence id=\"<\"/></sentences>"),
            ("cdataend.xml", "<sentences>\n" + good + "<sentence><text>a ]]> b</text></sentence></sentences>"),
            ("comment.xml", "<sentences>\n" + good + "<!-- a -- b --></sentences>"),
            ("control.xml", "<sentences>\n" + good + "<sentence><text>a \u{1} b</text></sentence></sentences>"),
            ("emptyns.xml", "<sentences>\n" + good + "<sentence xmlns:e=\"\"/></sentences>"),
            ("empty.xml", ""),
            ("blank.xml", "\n  \n"),
            ("xmldecl.xml", "\n<?xml version=\"1.0\"?><sentences/>"),
            ("laughs.xml", "<?xml version=\"1.0\"?>\n<!DOCTYPE s [\n<!ENTITY lol0 \"lol\">\n" + XMLReaderTests.laughs
                + "\n]>\n<sentences>" + good + "<sentence><text>&lol9;</text></sentence></sentences>\n"),
        ]
        for (name, text) in cases {
            let o = check(name, text, fields: ["text", "@id"], handsOver: true)
            guard case .error = o else { Issue.record("\(name): libxml2 accepts it: \(o)"); continue }
        }
        check("badutf8.xml", bytes: Array("<sentences>\n\(good)<sentence><text>".utf8) + [0xC3, 0x28] + Array("</text></sentence></sentences>".utf8),
              fields: ["text"], handsOver: true)
    }

    @Test(.enabled(if: Corpora.available, Corpora.skipMessage))
    func realCorpora() throws {
        for file in ["Restaurants_Train_v2.xml", "Restaurants_Test_Gold.xml", "Laptop_Train_v2.xml", "Laptops_Test_Gold.xml"] {
            let path = Corpora.path("semeval14/" + file)
            let fields = Self.semevalFields + ["aspectTerms/aspectTerm/@polarity", "aspectTerms/aspectTerm/@to"]
            let expected = libxml2(path, fields, XMLOptions(recordElement: "sentence"))
            for size in [4096, 1 << 20] {
                let (o, reason) = subset(path, fields, XMLOptions(recordElement: "sentence"), blockSize: size)
                #expect(o == expected && reason == nil, "\(file): \(reason ?? "")")
            }
        }
        let wiki = XMLOptions(recordElement: "page", namespaceURI: "http://www.mediawiki.org/xml/export-0.10/")
        let path = Corpora.path("wikidump/enwiki-excerpt.xml")
        let fields = ["title", "revision/text", "revision/contributor/username", "redirect/@title"]
        let (o, reason) = subset(path, fields, wiki, blockSize: 1 << 16)
        #expect(o == libxml2(path, fields, wiki) && reason == nil, "\(reason ?? "")")
    }

    /// Whole imports through both readers: the same rows (examples, annotations, rejects,
    /// labels) in every table but `sources` and `store_migrations` (paths, times).
    @Test(.enabled(if: Corpora.available, Corpora.skipMessage))
    func storesAreTheSame() throws {
        var wiki = Mapping(format: .xml, text: "revision/text")
        wiki.record = "page"
        wiki.group = "title"
        wiki.namespace = "http://www.mediawiki.org/xml/export-0.10/"
        let tricky = f.file("tricky.xml", """
            <sentences><!-- <sentence> --><sentence id="1"><text>a &lt; b<![CDATA[ <sentence/> ]]></text>
            <aspectTerms><aspectTerm term="b" polarity="positive" from="4" to="5"/></aspectTerms></sentence>
            <sentence id="2"/><group><sentence id="3"><text>x\r\ny</text><aspectCategories><aspectCategory category="c > d"/>
            </aspectCategories></sentence></group></sentences>
            """)
        let inputs: [(String, Mapping)] = ["Restaurants_Train_v2.xml", "Restaurants_Test_Gold.xml", "Laptop_Train_v2.xml", "Laptops_Test_Gold.xml"]
            .map { (Corpora.path("semeval14/" + $0), ImportCorpusTests.semevalMapping) }
            + [(Corpora.path("wikidump/enwiki-excerpt.xml"), wiki), (tricky, ImportCorpusTests.semevalMapping)]
        for (n, (path, mapping)) in inputs.enumerated() {
            var dumps: [[String]] = []
            for (k, xml) in [XMLReading(subsetParser: false), XMLReading(), XMLReading(subsetParser: true, blockSize: 61)].enumerated() {
                let db = f.storePath("same-\(n)-\(k).sqlite")
                try importFile(path, into: db, mapping, chunkSize: 7, onError: .skip, xml: xml)
                dumps.append(try dump(db).filter { !$0.hasPrefix("sources:") && !$0.hasPrefix("store_migrations:") })
            }
            #expect(dumps[0].filter { $0.hasPrefix("examples:") }.count >= 2, "\(path)")
            #expect(dumps[1] == dumps[0], "\(path)")
            #expect(dumps[2] == dumps[0], "\(path)")
        }
    }

    /// Random documents, half of them then damaged: whatever libxml2 makes of one, the subset
    /// parser must make the same (it may hand over; it must never accept what libxml2 refuses).
    @Test func fuzzAgainstLibxml2() {
        var rng = SplitMix(seed: 0x5EED)
        let fields = ["text", "@id", "a/@id", "b", "t:a", "a/b/@t:k"]
        let options = XMLOptions(recordElement: "sentence", namespaces: ["t": "urn:t"])
        var read = 0, handedOver = 0, failed = 0
        for n in 0..<2000 {
            var doc = Array(FuzzDocument(rng: &rng).text.utf8)
            if rng.chance(50) { FuzzDocument.damage(&doc, rng: &rng) }
            let path = f.file("fuzz\(n).xml", bytes: doc)
            let expected = libxml2(path, fields, options)
            let size = Self.blockSizes[Int(rng.next() % UInt64(Self.blockSizes.count))]
            let (got, reason) = subset(path, fields, options, blockSize: size)
            #expect(got == expected, "fuzz\(n) (blocks of \(size), hand-over: \(reason ?? "none")): \(String(decoding: doc, as: UTF8.self))")
            if case .error = expected { failed += 1 } else if reason == nil { read += 1 } else { handedOver += 1 }
        }
        // The generator must exercise both paths.
        #expect(read > 400 && failed > 400, "read \(read), handed over \(handedOver), failed \(failed)")
    }
}

/// A small deterministic generator (tests must not depend on the system's random source).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func pick<T>(_ options: [T]) -> T { options[Int(next() % UInt64(options.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { next() % 100 < percent }
}

/// Random XML in the shapes corpora have, with the constructs the subset parser checks.
struct FuzzDocument {
    var text = ""

    init(rng: inout SplitMix) {
        if rng.chance(30) { text += "\u{FEFF}" }
        if rng.chance(50) { text += rng.pick(["<?xml version=\"1.0\"?>", "<?xml version='1.0' encoding='UTF-8'?>", "<?xml version=\"1.0\" standalone=\"yes\"?>"]) }
        text += rng.pick(["\n", "\r\n", "", "\n<!-- c -->\n"])
        element(&rng, depth: 0, name: rng.pick(["sentences", "sentence", "t:root"]), root: true)
        text += rng.pick(["\n", "", "<!-- end -->", "<?pi x?>\n"])
    }

    mutating func element(_ rng: inout SplitMix, depth: Int, name: String, root: Bool = false) {
        text += "<" + name
        var used: Set<String> = []
        for _ in 0..<Int(rng.next() % 3) {
            let attr = rng.pick(["id", "t:k", "k", "xmlns:t", "xmlns", "xml:lang"])
            guard used.insert(attr).inserted else { continue }
            let value: String
            switch attr {
            case "xmlns:t": value = rng.pick(["urn:t", "urn:u"])
            case "xmlns": value = rng.pick(["", "urn:d", "urn:t"])
            default: value = Self.chars(&rng, quote: true)
            }
            text += rng.pick([" ", "\n  ", "\t"]) + attr + rng.pick(["=", " = "]) + (rng.chance(50) ? "\"\(value)\"" : "'\(value.replacingOccurrences(of: "'", with: "&apos;"))'")
        }
        if root && !used.contains("xmlns:t") { text += " xmlns:t=\"urn:t\"" }
        if depth > 4 || rng.chance(15) { text += rng.pick(["/>", " />"]); return }
        text += rng.pick([">", "\n>", " >"])
        for _ in 0..<Int(rng.next() % 5) {
            switch rng.next() % 8 {
            case 0, 1, 2: element(&rng, depth: depth + 1, name: rng.pick(["sentence", "text", "a", "b", "t:a", "t:sentence", "c.d-1", "_e"]))
            case 3: text += "<!--" + Self.chars(&rng, quote: false).replacingOccurrences(of: "-", with: " ") + "-->"
            case 4: text += "<![CDATA[" + Self.chars(&rng, quote: false) + "]]>"
            case 5: text += "<?p " + Self.chars(&rng, quote: false).replacingOccurrences(of: "?", with: "") + "?>"
            default: text += Self.chars(&rng, quote: false)
            }
        }
        text += "</" + name + rng.pick([">", " >", "\n>"])
    }

    static func chars(_ rng: inout SplitMix, quote: Bool) -> String {
        var s = ""
        for _ in 0..<Int(rng.next() % 12) {
            s += rng.pick(["a", "b", " ", "\n", "\r\n", "\t", "&amp;", "&lt;", "&gt;", "&quot;", "&#233;", "&#x1F600;", "é", "中", "😀", ">", "]", "-", "?", "'", "x y",
                           "&#xD800;", "&#0;", "&#xFFFE;", "&#9;", "&#x10FFFF;", "\u{7F}", "\u{85}", "\u{FFFD}", "\u{10FFFF}"])
        }
        return quote ? s.replacingOccurrences(of: "\"", with: "&quot;") : s.replacingOccurrences(of: "]]>", with: "]] >")
    }

    /// One to three random edits with the bytes that matter to XML.
    static func damage(_ doc: inout [UInt8], rng: inout SplitMix) {
        let bytes: [[UInt8]] = ["<", ">", "&", ";", "\"", "'", "/", "!", "-", "?", "[", "]", ":", "x", " ", "\r", "\n", "\0", "é", "=", "#"].map { Array($0.utf8) }
            + [[0xC3], [0xED, 0xA0, 0x80], [0xEF, 0xBF, 0xBE], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF], [0x80]] // invalid UTF-8 or not XML characters
        for _ in 0...(rng.next() % 3) where !doc.isEmpty {
            let at = Int(rng.next() % UInt64(doc.count))
            switch rng.next() % 3 {
            case 0: doc.remove(at: at)
            case 1: doc.insert(contentsOf: rng.pick(bytes), at: at)
            default: doc.replaceSubrange(at..<at + 1, with: rng.pick(bytes))
            }
        }
    }
}
