import Foundation
import Testing

/// Issue 18, "What real corpora need that the flags cannot say", from the command line.
@Suite("mtl-prep import on the record shapes of real corpora (issue 18)")
struct RecordShapeCLITests {
    let tmp = TempDir()

    @Test func namespacePrefixesOnTheCommandLine() throws {
        let xml = tmp.write("play.xml", """
            <TEI xmlns="http://www.tei-c.org/ns/1.0"><text><body>
            <sp who="a"><speaker>Ann</speaker><l>First line</l></sp>
            <sp who="b"><speaker>Bob</speaker><l>Only</l></sp>
            </body></text></TEI>

            """)
        let db = tmp.path("p.sqlite")
        let r = try run("mtl-prep", ["import", xml, "--store", db, "--record", "sp", "--namespace", "http://www.tei-c.org/ns/1.0",
                                     "--namespace", "tei=http://www.tei-c.org/ns/1.0", "--text", "tei:l", "--label", "who=tei:speaker", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let imp = (try json(r.out)["imports"] as! [[String: Any]])[0]
        #expect(imp["examples_stored"] as? Int == 2)
        #expect((imp["label_counts"] as! [String: [String: Int]])["who"] == ["Ann": 1, "Bob": 1])
        let show = try json(try run("mtl-prep", ["show", "1", "--store", db, "--json"]).out)
        #expect(show["text"] as? String == "First line")

        let base = ["import", xml, "--store", tmp.path("bad.sqlite"), "--record", "sp", "--text", "tei:l"]
        for (flags, message) in [
            (["--namespace", "tei=urn:a", "--namespace", "tei=urn:b"], "--namespace tei=urn:b: prefix 'tei' is already bound to 'urn:a'"),
            (["--namespace", "urn:a", "--namespace", "urn:b"], "--namespace urn:b: the record element's namespace is already 'urn:a'"),
            (["--namespace", "xml=urn:a"], "--namespace xml=urn:a: the prefix 'xml' is reserved"),
            (["--namespace", "tei="], "--namespace tei=: empty namespace URI for prefix 'tei'"),
        ] {
            let bad = try run("mtl-prep", base + flags)
            #expect(bad.status != 0 && bad.err.contains(message), "\(flags): \(bad.err)")
        }
    }

    @Test func pairedValuesFromTheCommandLine() throws {
        let xml = tmp.write("absa.xml", """
            <sentences><sentence id="1"><text>Great food, rude waiter.</text>
              <aspectTerms><aspectTerm term="food" polarity="positive" from="6" to="10"/><aspectTerm term="waiter" polarity="negative" from="17" to="23"/></aspectTerms>
              <aspectCategories><aspectCategory category="food" polarity="positive"/><aspectCategory category="service" polarity="negative"/></aspectCategories>
            </sentence></sentences>

            """)
        let db = tmp.path("a.sqlite")
        let base = ["import", xml, "--store", db, "--record", "sentence", "--text", "text",
                    "--multilabel", "category=aspectCategories/aspectCategory/@category", "--spans", "aspect=aspectTerms/aspectTerm:@from,@to,@term"]
        let r = try run("mtl-prep", base + ["--pair", "category=aspectCategories/aspectCategory/@polarity", "--pair", "aspect=@polarity", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let counts = (try json(r.out)["imports"] as! [[String: Any]])[0]["label_counts"] as! [String: [String: Int]]
        #expect(counts["category"] == ["food#positive": 1, "service#negative": 1])
        #expect(counts["aspect"]?["B-food#positive"] == 1 && counts["aspect"]?["B-waiter#negative"] == 1)
        for (flags, message) in [
            (["--pair", "nosuch=@x"], "--pair nosuch=@x: no task 'nosuch' (give it with --label, --multilabel or --spans)"),
            (["--pair", "aspect=@polarity["], "--pair aspect=@polarity[: invalid XPath expression 'aspectTerms/aspectTerm/@polarity['"),
        ] {
            let bad = try run("mtl-prep", base + flags)
            #expect(bad.status != 0 && bad.err.contains(message), "\(flags): \(bad.err)")
        }
        #expect(try run("mtl-prep", ["import", "--help"]).out.contains("--pair"))
    }

    @Test func severalTextFieldsJoined() throws {
        let csv = tmp.write("ag.csv", "Class Index,Title,Description\n3,Wall St. Bears,Short-sellers are back.\n1,Fed Up,\n")
        let db = tmp.path("ag.sqlite")
        let r = try run("mtl-prep", ["import", csv, "--store", db, "--text", "Title", "--text", "Description", "--join", " - ",
                                     "--label", "topic=Class Index"])
        #expect(r.status == 0, "\(r.err)")
        #expect(try json(try run("mtl-prep", ["show", "1", "--store", db, "--json"]).out)["text"] as? String == "Wall St. Bears - Short-sellers are back.")
        #expect(try json(try run("mtl-prep", ["show", "2", "--store", db, "--json"]).out)["text"] as? String == "Fed Up")
        let help = try run("mtl-prep", ["import", "--help"]).out
        #expect(help.contains("--join") && help.contains("Repeated: the fields joined"))
    }

    /// Spans whose offsets count in the second text field (`--text-part`) land on its words in the joined text.
    @Test func spanOffsetsCountInTheirOwnTextPart() throws {
        let csv = tmp.write("ner.csv", "title,body,s,e,t\nMarket news,Apple hires in Paris,15,20,LOC\n")
        let db = tmp.path("ner.sqlite")
        let r = try run("mtl-prep", ["import", csv, "--store", db, "--text", "title", "--text", "body", "--join", ". ",
                                     "--spans", "ner=s,e,t", "--text-part", "ner=body"])
        #expect(r.status == 0, "\(r.err)")
        let shown = try json(try run("mtl-prep", ["show", "1", "--store", db, "--json"]).out)
        #expect(shown["text"] as? String == "Market news. Apple hires in Paris")
        let tags = ((shown["labels"] as? [String: Any])?["ner"] as? [String: Any])?["value"] as? [String]
        #expect(tags == ["O", "O", "O", "O", "O", "O", "B-LOC"], "\(String(describing: tags))")
        let bad = try run("mtl-prep", ["import", csv, "--store", tmp.path("x.sqlite"), "--text", "title", "--text", "body",
                                       "--spans", "ner=s,e,t", "--text-part", "ner=nope"])
        #expect(bad.status != 0 && bad.err.contains("'nope' is not a text field"), "\(bad.err)")
    }
}
