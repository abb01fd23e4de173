import Foundation
import Store
import Testing

@Suite("kill -9 during an import")
struct KillTests {
    let tmp = TempDir()

    /// The Chinese reviews repeated to about `megabytes` MB.
    func bigCSV(megabytes: Int) throws -> String {
        let source = try Data(contentsOf: URL(fileURLWithPath: corpora! + "/chinese/online_shopping_10_cats.csv"))
        let headerEnd = source.firstIndex(of: 0x0A)! + 1
        let body = source[headerEnd...]
        let path = tmp.path("big.csv")
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.write(source[..<headerEnd])
        for _ in 0..<max(1, megabytes * 1_000_000 / body.count) { handle.write(body) }
        try handle.close()
        return path
    }

    /// Starts `mtl-prep ARGS` and returns it, still running, once `written()` exceeds 16 MB (or
    /// when it ended or two minutes passed: the caller requires it to be running), with that size.
    func startImport(_ args: [String], written: () -> Int) throws -> (Process, Int) {
        let child = Process()
        child.executableURL = productsDirectory.appendingPathComponent("mtl-prep")
        child.arguments = args
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        let deadline = Date().addingTimeInterval(120)
        var size = 0
        while child.isRunning && Date() < deadline {
            size = written()
            if size > 16 << 20 { break }
            usleep(20_000)
        }
        return (child, size)
    }

    func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    @Test(.enabled(if: corpora != nil, corporaSkip))
    func killedImportLeavesThePreviousState() throws {
        let db = tmp.path("s.sqlite")
        let seed = try run("mtl-prep", ["import", corpora! + "/sst2/dev.tsv", "--store", db, "--text", "sentence", "--label", "sst=label"])
        #expect(seed.status == 0)
        let before = try storeRows(db)
        let big = try bigCSV(megabytes: 60)
        let args = ["import", big, "--store", db, "--text", "review", "--label", "topic=cat", "--on-error", "skip", "--threads", "2"]

        // Wait until the import has written a good part of its transaction to the WAL, then kill it.
        let (child, walSize) = try startImport(args) { fileSize(db + "-wal") }
        try #require(child.isRunning, "the import finished before it could be killed (WAL \(walSize) bytes)")
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal)

        let store = try ExampleStore(path: db)
        #expect(try store.connection.scalar("PRAGMA integrity_check") == .text("ok"))
        #expect(try storeRows(db) == before, "the killed import left rows behind")

        let rerun = try run("mtl-prep", args + ["--json"])
        #expect(rerun.status == 0, "\(rerun.err)")
        let imp = (try json(rerun.out)["imports"] as! [[String: Any]])[0]
        let stored = imp["examples_stored"] as! Int
        #expect(stored > 300_000 && stored % 62773 == 0, "whole copies of the 62773 non-empty reviews")
        #expect(try ExampleStore(path: db, readOnly: true).stats().examples == Int64(872 + stored))
    }

    /// A new store is built under a temporary name: killed, it leaves no store at all (and the
    /// next import clears the abandoned file).
    @Test(.enabled(if: corpora != nil, corporaSkip))
    func killedFirstImportLeavesNoStore() throws {
        let db = tmp.path("fresh.sqlite")
        let big = try bigCSV(megabytes: 60)
        let args = ["import", big, "--store", db, "--text", "review", "--label", "topic=cat", "--on-error", "skip", "--threads", "2"]
        func temporaries() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: tmp.url.path)) ?? []).filter { $0.hasPrefix(".fresh.sqlite.creating-") }
        }
        let (child, size) = try startImport(args) { temporaries().first.map { fileSize(tmp.path($0)) } ?? 0 }
        try #require(child.isRunning, "the import finished before it could be killed (\(size) bytes written)")
        #expect(!FileManager.default.fileExists(atPath: db), "the store appeared before the import ended")
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        #expect(!FileManager.default.fileExists(atPath: db))
        #expect(temporaries().count == 1)

        let rerun = try run("mtl-prep", args + ["--json"])
        #expect(rerun.status == 0, "\(rerun.err)")
        #expect(temporaries().isEmpty, "the abandoned build was not removed")
        let stored = (try json(rerun.out)["imports"] as! [[String: Any]])[0]["examples_stored"] as! Int
        let store = try ExampleStore(path: db, readOnly: true)
        #expect(try store.stats().examples == Int64(stored))
        #expect(try store.connection.scalar("PRAGMA integrity_check") == .text("ok"))
    }
}
