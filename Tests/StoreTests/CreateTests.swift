import Foundation
import Testing
@testable import Store

/// `ExampleStore.create(at:_:)`: a new store is built out of sight and appears whole, or not at all.
@Suite struct CreateTests {
    private func leftovers(_ dir: TempDir) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0.contains("creating") || $0.hasSuffix("-wal") || $0.hasSuffix("-journal") }
    }

    @Test func publishesTheWholeStoreInWALMode() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("new.sqlite")
        let examples = try ExampleStore.create(at: path) { store in
            #expect(!FileManager.default.fileExists(atPath: path), "nothing at the path before the end")
            return try importReviews(store, info()).examples
        }
        #expect(examples == 3)
        #expect(try leftovers(dir).isEmpty)
        // An ordinary store: WAL mode on disk (a plain sqlite3 reader sees it so), current schema, intact.
        let raw = try Connection(path: path, readOnly: true)
        #expect(try raw.scalar("PRAGMA journal_mode") == .text("wal"))
        let store = try ExampleStore(path: path, readOnly: true)
        #expect(try store.stats().examples == 3)
        #expect(try store.connection.scalar("PRAGMA integrity_check") == .text("ok"))
        #expect(try store.connection.userVersion == StoreSchema.version)
        // And it takes further imports like any other.
        let again = try ExampleStore(path: path)
        _ = try importReviews(again, info("b.csv", sha: String(repeating: "b", count: 64)))
        #expect(try again.stats().examples == 6)
    }

    @Test func aFailingBodyLeavesNothing() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("new.sqlite")
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try ExampleStore.create(at: path) { store in
                _ = try importReviews(store, info())
                throw Boom()
            }
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try leftovers(dir).isEmpty)
    }

    @Test func neverReplacesAFile() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("new.sqlite")
        try Data("not mine".utf8).write(to: URL(fileURLWithPath: path))
        #expect { try ExampleStore.create(at: path) { _ in } } throws: { ($0 as? StoreError)?.kind == .misuse }
        // A file that appears while the store is built wins; the build is discarded.
        try FileManager.default.removeItem(atPath: path)
        #expect {
            try ExampleStore.create(at: path) { store in
                _ = try importReviews(store, info())
                try Data("someone else's".utf8).write(to: URL(fileURLWithPath: path))
            }
        } throws: { ($0 as? StoreError)?.message.contains("appeared while the store was being built") == true }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "someone else's")
        #expect(try leftovers(dir).isEmpty)
    }

    @Test func aMissingDirectoryIsNamed() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("no/such/new.sqlite")
        #expect { try ExampleStore.create(at: path) { _ in } } throws: {
            ($0 as? StoreError)?.message == "\(path): cannot create the store: no directory \(dir.path("no/such"))"
        }
    }

    @Test func removesWhatADeadProcessLeft() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        // The pid of a process that has exited.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run(); p.waitUntilExit()
        let abandoned = dir.path(".new.sqlite.creating-\(p.processIdentifier)-7")
        let live = dir.path(".new.sqlite.creating-\(getppid())-8")   // a running process: kept
        for f in [abandoned, live] { try Data(count: 4096).write(to: URL(fileURLWithPath: f)) }
        try ExampleStore.create(at: dir.path("new.sqlite")) { store in _ = try importReviews(store, info()) }
        #expect(!FileManager.default.fileExists(atPath: abandoned))
        #expect(FileManager.default.fileExists(atPath: live))
    }
}
