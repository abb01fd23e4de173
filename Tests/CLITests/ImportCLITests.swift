import Foundation
import Store
import Testing

/// Every row of every table of a store, as text ("row for row" comparisons).
func storeRows(_ path: String) throws -> [String] {
    let db = try Connection(path: path, readOnly: true)
    var tables: [String] = []
    try db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").forEachRow { tables.append($0.string(0)!) }
    var rows: [String] = []
    for t in tables {
        try db.prepare("SELECT * FROM \(t) ORDER BY 1, 2").forEachRow { r in
            rows.append(t + ": " + (0..<r.columnCount).map { "\(r.value($0))" }.joined(separator: " | "))
        }
    }
    return rows
}

func json(_ text: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
}

/// The shared corpora, as in the library tests.
let corpora: String? = {
    if let env = ProcessInfo.processInfo.environment["MTL_CORPORA"], !env.isEmpty { return FileManager.default.fileExists(atPath: env) ? env : nil }
    let p = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/corpora").standardized.path
    return FileManager.default.fileExists(atPath: p) ? p : nil
}()
let corporaSkip: Comment = "real corpora not found: set MTL_CORPORA to the shared corpora folder (default ../shared/corpora)"

final class TempDir {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-import-cli-\(UUID().uuidString)")
    init() { try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func write(_ name: String, _ text: String) -> String {
        _ = FileManager.default.createFile(atPath: path(name), contents: Data(text.utf8)); return path(name)
    }
}

@Suite("mtl-prep import, stats, show, run as a user would")
struct ImportCLITests {
    let tmp = TempDir()

    @Test func importStatsShowOnSmallCSV() throws {
        let csv = tmp.write("r.csv", "text,topic,stars\n\"Good, very good\",books,5\nBad hotel,hotels,1\n好 酒店,hotels,4\n")
        let db = tmp.path("s.sqlite")
        let r = try run("mtl-prep", ["import", csv, "--store", db, "--text", "text", "--label", "topic=topic", "--label", "stars=stars", "--json"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.isEmpty, "no progress bar when stderr is not a terminal")
        let summary = try json(r.out)
        let imp = (summary["imports"] as! [[String: Any]])[0]
        #expect(imp["examples_stored"] as? Int == 3 && imp["status"] as? String == "imported")
        #expect((imp["label_counts"] as! [String: [String: Int]])["topic"] == ["books": 1, "hotels": 2])

        let stats = try json(try run("mtl-prep", ["stats", "--store", db, "--json"]).out)
        #expect(stats["examples"] as? Int == 3)
        let tasks = stats["tasks"] as! [[String: Any]]
        #expect(Set(tasks.map { $0["name"] as! String }) == ["topic", "stars"] && tasks.allSatisfy { $0["kind"] as? String == "classification" })
        let text = try run("mtl-prep", ["stats", "--store", db])
        #expect(text.status == 0 && text.out.contains("topic (classification): 3 examples, 2 labels") && text.out.contains("r.csv (csv)"))

        let show = try json(try run("mtl-prep", ["show", "3", "--store", db, "--json"]).out)
        #expect(show["text"] as? String == "好 酒店" && show["locator"] as? String == "r.csv:4")
        let tokens = show["tokens"] as! [[String: Any]]
        #expect(tokens.map { $0["text"] as! String } == ["好", "酒店"])
        #expect(tokens[1]["start"] as? Int == 2 && tokens[1]["byte_start"] as? Int == 4 && tokens[1]["byte_end"] as? Int == 10)
        #expect(((show["labels"] as! [String: Any])["topic"] as! [String: Any])["value"] as? String == "hotels")
        let plain = try run("mtl-prep", ["show", "1", "--store", db])
        #expect(plain.out.contains("text: Good, very good") && plain.out.contains("topic (classification): books"))
        #expect(try run("mtl-prep", ["show", "99", "--store", db]).err.contains("no example with id 99"))

        // Same file again: nothing added; --replace imports it again.
        let again = try run("mtl-prep", ["import", csv, "--store", db, "--text", "text", "--label", "topic=topic", "--label", "stars=stars"])
        #expect(again.status == 0 && again.out.contains("already imported as source 1"))
        let replaced = try run("mtl-prep", ["import", csv, "--store", db, "--text", "text", "--label", "topic=topic", "--label", "stars=stars", "--replace"])
        // The store reuses the freed id (INTEGER PRIMARY KEY without AUTOINCREMENT).
        #expect(replaced.status == 0 && replaced.out.contains("imported as source 1") && replaced.out.contains("replaced sources 1"))
    }

    @Test func badInputsFailWithLocatorAndChangeNothing() throws {
        let db = tmp.path("s.sqlite")
        let seed = tmp.write("seed.csv", "text,topic\nfine,a\n")
        #expect(try run("mtl-prep", ["import", seed, "--store", db, "--text", "text", "--label", "topic=topic"]).status == 0)
        let before = try storeRows(db)
        let cases: [(String, String, [String], String)] = [
            ("q.csv", "text,topic\nok,a\n\"open,b\n", [], "q.csv:3"),
            ("e.csv", "text,topic\nok,a\n,b\n", [], "e.csv:3: empty text in field 'text'"),
            ("u.csv", "text,topic\nok,a\n", ["--label", "x=nope"], "u.csv:1: unknown column 'nope'"),
            ("t.txt", "x", [], "cannot tell the format"),
        ]
        for (name, content, extra, message) in cases {
            let path = tmp.write(name, content)
            let r = try run("mtl-prep", ["import", path, "--store", db, "--text", "text", "--label", "topic=topic"] + extra)
            #expect(r.status != 0, "\(name)")
            #expect(r.err.contains(message), "\(name): \(r.err)")
            #expect(try storeRows(db) == before, "\(name)")
        }
        let skipped = try run("mtl-prep", ["import", tmp.path("e.csv"), "--store", db, "--text", "text", "--label", "topic=topic", "--on-error", "skip"])
        #expect(skipped.status == 0 && skipped.out.contains("2 records read, 1 examples stored, 1 rejected (emptyText 1)"))
        let mapping = tmp.write("m.yaml", "format: csv\ntext: text\ntasks:\n  topic: {kind: clasification, field: topic}\n")
        let bad = try run("mtl-prep", ["import", seed, "--store", db, "--mapping", mapping])
        #expect(bad.status != 0 && bad.err.contains("m.yaml: tasks.topic.kind: unknown task kind 'clasification'"))
        let both = try run("mtl-prep", ["import", seed, "--store", db, "--mapping", mapping, "--text", "x"])
        #expect(both.status != 0 && both.err.contains("exclusive"))
    }

    @Test(.enabled(if: corpora != nil, corporaSkip))
    func semevalWithMappingFileAndSpanFlags() throws {
        let xml = corpora! + "/semeval14/Restaurants_Train_v2.xml"
        let db = tmp.path("s.sqlite")
        let flags = try run("mtl-prep", ["import", xml, "--store", db, "--record", "sentence", "--text", "text",
                                         "--spans", "aspect=aspectTerms/aspectTerm:@from,@to,@polarity", "--json", "--threads", "1"])
        #expect(flags.status == 0, "\(flags.err)")
        let imp = (try json(flags.out)["imports"] as! [[String: Any]])[0]
        #expect(imp["examples_stored"] as? Int == 3041)
        #expect((imp["spans"] as! [String: [String: Int]])["aspect"]?["expanded"] == 14)
        #expect((imp["label_counts"] as! [String: [String: Int]])["aspect"]?["B-conflict"] == 91)
        let mapping = tmp.write("rest.yaml", """
            format: xml
            record: sentence
            text: text
            tasks:
              aspect: {kind: spans, items: aspectTerms/aspectTerm, start: "@from", end: "@to", label: "@polarity"}
            """)
        // The same mapping from a file is the same mapping: already imported.
        let file = try run("mtl-prep", ["import", xml, "--store", tmp.path("s.sqlite"), "--mapping", mapping])
        #expect(file.status == 0 && file.out.contains("already imported"), "\(file.out) \(file.err)")
    }

    @Test func helpListsEveryOption() throws {
        let help = try run("mtl-prep", ["import", "--help"])
        #expect(help.status == 0)
        for option in ["--store", "--mapping", "--format", "--text", "--label", "--multilabel", "--tags", "--spans", "--span-unit",
                       "--span-scheme", "--unaligned", "--group", "--delimiter", "--quote", "--no-header", "--columns", "--record",
                       "--namespace", "--allow-empty-text", "--normalize", "--tokenizer", "--locale", "--part", "--replace",
                       "--on-error", "--threads", "--json"] {
            #expect(help.out.contains(option), "\(option) missing from import --help")
        }
        #expect(try run("mtl-prep", ["stats", "--help"]).out.contains("--json"))
        #expect(try run("mtl-prep", ["show", "--help"]).out.contains("--store"))
    }
}
