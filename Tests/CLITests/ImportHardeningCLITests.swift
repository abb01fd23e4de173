import Foundation
import Testing

/// Issue 18, "Defects": what `mtl-prep import` did wrong on corpora and mistakes nobody here wrote.
@Suite("mtl-prep import on hostile flags and files (issue 18)")
struct ImportHardeningCLITests {
    let tmp = TempDir()

    static let sentences = """
        <?xml version="1.0" encoding="UTF-8"?>
        <sentences>
          <sentence id="1"><text>The food was great</text>
            <aspectTerms><aspectTerm term="food" polarity="positive" from="4" to="8"/></aspectTerms>
          </sentence>
        </sentences>

        """

    @Test func badXPathAnywhereIsAnErrorNamingTheFlagAndPosition() throws {
        let xml = tmp.write("s.xml", Self.sentences)
        let db = tmp.path("s.sqlite")
        let base = ["import", xml, "--store", db, "--record", "sentence"]
        let cases: [([String], String)] = [
            // A task's field used to crash (exit 139): a double free after the compile error.
            (["--text", "text", "--label", "l=t["], "--label l=t[: invalid XPath expression 't[' at character 3 (end of the expression): Invalid expression"),
            (["--text", "text", "--multilabel", "m=a/b[1"], "--multilabel m=a/b[1: invalid XPath expression 'a/b[1' at character 6"),
            (["--text", "t["], "--text t[: invalid XPath expression 't[' at character 3"),
            // Accepted by libxml2's compiler, refused by its evaluation: found before any record.
            (["--text", "text", "--label", "l=concat(\"a\",\"b\")/x"], "--label l=concat(\"a\",\"b\")/x: invalid XPath expression 'concat(\"a\",\"b\")/x' at character 16: Invalid type"),
            (["--text", "text", "--spans", "a=aspectTerms/aspectTerm:@from,@to,@pol[ar"], "--spans a=aspectTerms/aspectTerm:@from,@to,@pol[ar: invalid XPath expression 'aspectTerms/aspectTerm/@pol[ar'"),
            (["--text", "text", "--group", "foo(@id)"], "--group foo(@id): invalid XPath expression 'foo(@id)' at character 1: Unregistered function"),
        ]
        for (flags, message) in cases {
            let r = try run("mtl-prep", base + flags)
            #expect(r.status == 1, "\(flags): exit \(r.status)")
            #expect(r.err.contains(message), "\(flags): \(r.err)")
            #expect(!r.err.contains("XPath error"), "libxml2's own message reached stderr: \(r.err)")
            #expect(!FileManager.default.fileExists(atPath: db))
        }
        let mapping = tmp.write("m.yaml", """
            format: xml
            record: sentence
            text: text
            tasks:
              pol:
                kind: classification
                field: "concat(@a, 'x')[1]"

            """)
        let r = try run("mtl-prep", ["import", xml, "--store", db, "--mapping", mapping])
        #expect(r.status == 1 && r.err.contains("m.yaml:7:12: tasks.pol.field: invalid XPath expression 'concat(@a, 'x')[1]' at character 16: Invalid type"), "\(r.err)")
    }

    @Test func theLoserOfACreateRacePrintsNoSuccessAndNamesTheOtherStore() throws {
        // The first process blocks on a FIFO inside its out-of-sight build of the new store; the
        // second creates the store meanwhile; then the first gets its input and finishes.
        let fifo = tmp.path("slow.csv"), db = tmp.path("s.sqlite")
        #expect(mkfifo(fifo, 0o600) == 0)
        let out = tmp.path("slow.out"), err = tmp.path("slow.err")
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        let slow = Process()
        slow.executableURL = productsDirectory.appendingPathComponent("mtl-prep")
        slow.arguments = ["import", fifo, "--store", db, "--text", "text", "--label", "l=l"]
        slow.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        slow.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        try slow.run()
        // Until a writer opens the FIFO the slow import waits in open(2), past its check that the store is new.
        Thread.sleep(forTimeInterval: 0.5)
        let fast = try run("mtl-prep", ["import", tmp.write("fast.csv", "text,l\nhello,a\n"), "--store", db, "--text", "text", "--label", "l=l"])
        #expect(fast.status == 0 && fast.out.contains("fast.csv: imported as source 1"), "\(fast.err)")
        let writer = try #require(FileHandle(forWritingAtPath: fifo))
        writer.write(Data("text,l\nworld,b\n".utf8))
        try writer.close()
        slow.waitUntilExit()
        let slowOut = try String(contentsOfFile: out, encoding: .utf8), slowErr = try String(contentsOfFile: err, encoding: .utf8)
        #expect(slow.terminationStatus == 1)
        #expect(slowOut.isEmpty, "success printed before the store was published: \(slowOut)")
        #expect(slowErr.contains("s.sqlite: cannot create the store: it appeared while the store was being built (another process created it"), "\(slowErr)")
        #expect(slowErr.contains("it holds source 1 (") && slowErr.contains("fast.csv)") && slowErr.contains("nothing of \(fifo) was stored"), "\(slowErr)")
        #expect(try storeRows(db).filter { $0.hasPrefix("examples:") }.count == 1)
    }

    @Test func readOnlyCommandsLeaveNoSideFiles() throws {
        let db = tmp.path("s.sqlite")
        #expect(try run("mtl-prep", ["import", tmp.write("r.csv", "text,l\nhello,a\n"), "--store", db, "--text", "text", "--label", "l=l"]).status == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: db))
        #expect(try run("mtl-prep", ["stats", "--store", db]).status == 0)
        #expect(try run("mtl-prep", ["show", "1", "--store", db, "--json"]).status == 0)
        for side in ["-wal", "-shm"] {
            #expect(!FileManager.default.fileExists(atPath: db + side), "\(side) left next to a store nobody changed")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == bytes)
    }

    @Test func zeroRecordsIsAnErrorUnlessAllowEmpty() throws {
        let xml = tmp.write("s.xml", Self.sentences)
        let db = tmp.path("s.sqlite")
        let r = try run("mtl-prep", ["import", xml, "--store", db, "--record", "sentenc", "--text", "text"])
        #expect(r.status == 1)
        #expect(r.err.contains("s.xml: no record element <sentenc> (in any namespace); elements in the first 3 levels: /sentences, /sentences/sentence, /sentences/sentence/text"), "\(r.err)")
        #expect(r.out.isEmpty && !FileManager.default.fileExists(atPath: db))
        let allowed = try run("mtl-prep", ["import", xml, "--store", db, "--record", "sentenc", "--text", "text", "--allow-empty"])
        #expect(allowed.status == 0 && allowed.out.contains("0 records read"), "\(allowed.err)")
    }

    @Test func libxml2MessagesDoNotReachStderr() throws {
        let xml = tmp.write("s.xml", Self.sentences)
        // A prefix neither the mapping nor the document declares fails on the first record, in libxml2's evaluator.
        let r = try run("mtl-prep", ["import", xml, "--store", tmp.path("s.sqlite"), "--record", "sentence", "--text", "text", "--label", "l=x:y/@z"])
        #expect(r.status == 1)
        #expect(r.err == "Error: s.xml:3 (record 1, /sentences/sentence): XPath 'x:y/@z' cannot be evaluated on this record: Undefined namespace prefix\n", "\(r.err)")
    }

    @Test func semeval2016ShapeWithEmptyAndDuplicateSpans() throws {
        let xml = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/semeval16-restaurants-sample.xml").standardized.path
        let flags = ["--record", "sentence", "--text", "text", "--spans", "aspect=Opinions/Opinion:@from,@to,@polarity",
                     "--multilabel", "category=Opinions/Opinion/@category"]
        let strict = try run("mtl-prep", ["import", xml, "--store", tmp.path("a.sqlite")] + flags)
        #expect(strict.status == 1)
        #expect(strict.err.contains("semeval16-restaurants-sample.xml:41 (record 5, /Reviews/Review/sentences/sentence): spans 1 and 2 [4, 9) have different labels 'positive' and 'negative' (duplicate spans policy: error; --duplicate-spans first keeps the first)"), "\(strict.err)")
        let first = try run("mtl-prep", ["import", xml, "--store", tmp.path("b.sqlite"), "--duplicate-spans", "first"] + flags)
        #expect(first.status == 0, "\(first.err)")
        #expect(first.out.contains("6 records read, 6 examples stored, 0 rejected"))
        #expect(first.out.contains("aspect spans: 10 read, 5 on token boundaries, 0 expanded, 0 dropped (unaligned), 0 dropped (overlapping), 0 dropped (no tokens), 3 empty (skipped), 1 exact duplicates (merged), 1 conflicting duplicates (first kept)"), "\(first.out)")
    }
}
