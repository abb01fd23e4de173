import Testing
import Foundation
@testable import CorpusImport

@Suite struct XMLReaderTests {
    let f = Fixture()

    static let semeval = """
        <?xml version="1.0" encoding="UTF-8"?>
        <sentences>
            <sentence id="1">
                <text>The &quot;food&quot; &amp; staff &lt;3 caf&#233;</text>
                <aspectTerms>
                    <aspectTerm term="&quot;food&quot;" polarity="positive" from="4" to="10"/>
                    <aspectTerm term="staff" polarity="negative" from="13" to="18"/>
                </aspectTerms>
            </sentence>
            <other><sentence id="nested"><text>also a record</text></sentence></other>
            <sentence id="3"><text>No terms.</text></sentence>
        </sentences>
        """

    @Test func recordsTextAttributesAndRepeatedChildren() throws {
        let p = f.file("s.xml", Self.semeval)
        let r = try XMLRecordReader(path: p, fields: ["text", "aspectTerms/aspectTerm/@polarity", "aspectTerms/aspectTerm/@from",
                                                      "@id", "count(aspectTerms/aspectTerm)", "boolean(aspectTerms)", "string(text)"],
                                    options: XMLOptions(recordElement: "sentence"))
        let recs = try readAll(r)
        #expect(recs.count == 3)
        #expect(recs[0].fields == [.list(["The \"food\" & staff <3 café"]), .list(["positive", "negative"]), .list(["4", "13"]),
                                   .list(["1"]), .string("2"), .string("true"), .string("The \"food\" & staff <3 café")])
        #expect(recs[2].fields[1] == .list([]) && recs[2].fields[4] == .string("0") && recs[2].fields[5] == .string("false"))
        #expect(recs.map(\.locator.description) == ["s.xml:3 (record 1, /sentences/sentence)",
                                                    "s.xml:10 (record 2, /sentences/other/sentence)",
                                                    "s.xml:11 (record 3, /sentences/sentence)"])
    }

    @Test func defaultAndPrefixedNamespaces() throws {
        let p = f.file("ns.xml", """
            <TEI xmlns="http://www.tei-c.org/ns/1.0" xmlns:x="urn:x">
              <text><body>
                <p n="1">Hello <hi>world</hi><x:note>n1</x:note></p>
                <p n="2">Bye</p>
              </body></text>
              <q:p xmlns:q="urn:other">not TEI</q:p>
            </TEI>
            """)
        let any = try readAll(XMLRecordReader(path: p, fields: ["string(.)", "@n", "hi", "x:note"], options: XMLOptions(recordElement: "p")))
        #expect(any.map(\.fields[0]) == [.string("Hello worldn1"), .string("Bye"), .string("not TEI")])
        #expect(any[0].fields[2] == .list(["world"]) && any[0].fields[3] == .list(["n1"]))
        let tei = try readAll(XMLRecordReader(path: p, fields: ["@n"], options: XMLOptions(recordElement: "p", namespaceURI: "http://www.tei-c.org/ns/1.0")))
        #expect(tei.map(\.fields) == [[.list(["1"])], [.list(["2"])]])
        #expect(tei[0].locator.elementPath == "/TEI/text/body/p")
    }

    static let laughs = (1...9).map { i in "<!ENTITY lol\(i) \"" + String(repeating: "&lol\(i - 1);", count: 10) + "\">" }.joined(separator: "\n")

    @Test func billionLaughsFailsFastWithBoundedMemory() {
        let head = "<?xml version=\"1.0\"?>\n<!DOCTYPE s [\n<!ENTITY lol0 \"lol\">\n" + Self.laughs + "\n]>\n"
        let cases = [
            ("attr.xml", head + "<sentences><sentence a=\"&lol9;\"><text>x</text></sentence></sentences>\n"),
            ("text.xml", head + "<sentences><sentence><text>&lol9;</text></sentence></sentences>\n"),
            ("late.xml", head + "<sentences>" + String(repeating: "<sentence><text>filler</text></sentence>\n", count: 2000)
                + "<sentence><text>&lol9;</text></sentence></sentences>\n"),
        ]
        for (name, text) in cases {
            let p = f.file(name, text)
            let start = Date()
            let e = firstError { try XMLRecordReader(path: p, fields: ["text", "@a"], options: XMLOptions(recordElement: "sentence")) }
            #expect(Date().timeIntervalSince(start) < 2, "\(name)")
            #expect(e?.kind == .unsafeXML, "\(name): \(String(describing: e))")
            #expect(e?.locator.file == name && e?.locator.line != nil)
        }
        let p = f.file("xxe.xml", "<!DOCTYPE s [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>\n<s><sentence><text>&e;</text></sentence></s>")
        #expect(firstError { try XMLRecordReader(path: p, fields: ["text"], options: XMLOptions(recordElement: "sentence")) }?.description
                == "xxe.xml:2: the document's DTD declares entities; refused (entity expansion is disabled for untrusted XML)")
    }

    @Test func externalDTDIsNotLoadedAndPredefinedEntitiesDecode() throws {
        let p = f.file("ext.xml", "<!DOCTYPE s SYSTEM \"http://example.invalid/s.dtd\">\n<s><sentence><text>a &amp; b &lt; &#233;&#x4e2d;</text></sentence></s>")
        let recs = try readAll(XMLRecordReader(path: p, fields: ["text"], options: XMLOptions(recordElement: "sentence")))
        #expect(recs.map(\.fields) == [[.list(["a & b < é中"])]])
    }

    @Test func notWellFormedAndBadXPath() {
        let p = f.file("broken.xml", "<sentences>\n  <sentence><text>ok</text></sentence>\n  <sentence><text>bad</txt></sentence>\n</sentences>\n")
        #expect(firstError { try XMLRecordReader(path: p, fields: ["text"], options: XMLOptions(recordElement: "sentence")) }?.description
                == "broken.xml:3:28: not well-formed XML: Opening and ending tag mismatch: text line 3 and txt")
        let q = f.file("trunc.xml", "<a><sentence><text>x</text></sentence>")
        #expect(firstError { try XMLRecordReader(path: q, fields: ["text"], options: XMLOptions(recordElement: "sentence")) }?.kind == .notWellFormedXML)
        #expect(firstError { try XMLRecordReader(path: q, fields: ["text[", "@x"], options: XMLOptions(recordElement: "sentence")) }?.description
                == "trunc.xml: invalid XPath expression 'text[' at character 6 (end of the expression): Invalid expression")
    }

    @Test(.enabled(if: Corpora.available, Corpora.skipMessage))
    func semevalRestaurantsAndLaptops() throws {
        let fields = ["text", "aspectTerms/aspectTerm/@polarity", "aspectTerms/aspectTerm/@term", "aspectTerms/aspectTerm/@from",
                      "aspectTerms/aspectTerm/@to", "aspectCategories/aspectCategory/@category"]
        let r = try XMLRecordReader(path: Corpora.path("semeval14/Restaurants_Train_v2.xml"), fields: fields, options: XMLOptions(recordElement: "sentence"))
        let recs = try readAll(r)
        #expect(recs.count == 3041)
        let polarity = recs.flatMap { $0.fields[1].strings }
        #expect(polarity.count == 3693)
        #expect(counts(polarity) == ["positive": 2164, "negative": 805, "neutral": 633, "conflict": 91])
        #expect(recs.filter { $0.fields[1].strings.isEmpty }.count == 1020)
        let cats = counts(recs.flatMap { $0.fields[5].strings })
        #expect(cats["food"] == 1232 && cats["anecdotes/miscellaneous"] == 1132 && cats["service"] == 597 && cats["ambience"] == 431 && cats["price"] == 321)
        // from/to are character (scalar) offsets into <text>.
        for rec in recs {
            let text = Array(rec.fields[0].single!.unicodeScalars)
            for (k, term) in rec.fields[2].strings.enumerated() {
                let from = Int(rec.fields[3].strings[k])!, to = Int(rec.fields[4].strings[k])!
                #expect(String(String.UnicodeScalarView(text[from..<to])) == term, "\(rec.locator)")
            }
        }
        for (file, sentences, terms) in [("Restaurants_Test_Gold.xml", 800, 1134), ("Laptop_Train_v2.xml", 3045, 2358), ("Laptops_Test_Gold.xml", 800, 654)] {
            let recs = try readAll(XMLRecordReader(path: Corpora.path("semeval14/" + file), fields: fields, options: XMLOptions(recordElement: "sentence")))
            #expect(recs.count == sentences && recs.reduce(0) { $0 + $1.fields[1].strings.count } == terms, "\(file)")
        }
    }

    @Test(.enabled(if: Corpora.available, Corpora.skipMessage))
    func mediaWikiDefaultNamespace() throws {
        let r = try XMLRecordReader(path: Corpora.path("wikidump/enwiki-excerpt.xml"), fields: ["title", "revision/text", "boolean(redirect)"],
                                    options: XMLOptions(recordElement: "page", namespaceURI: "http://www.mediawiki.org/xml/export-0.10/"))
        let recs = try readAll(r)
        #expect(recs.count == 206)
        #expect(recs.filter { $0.fields[2] == .string("true") }.count == 100)
        #expect(recs[0].fields[0] == .list(["AccessibleComputing"]))
        #expect(recs[0].locator.elementPath == "/mediawiki/page")
        // Entities in the wikitext are decoded (counts from Python's ElementTree on the same file).
        let text = recs.map { $0.fields[1].single ?? "" }.joined()
        #expect(text.unicodeScalars.count == 5_733_844)
        #expect(text.filter { $0 == "<" }.count == 19091 && text.filter { $0 == "\"" }.count == 16290)
    }
}
