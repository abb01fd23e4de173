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
}
