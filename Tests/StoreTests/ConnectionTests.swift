import Testing
import Foundation
@testable import Store

@Suite struct ConnectionTests {
    @Test func walModeAndErrorCarriesCodeMessageAndSQL() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try Connection(path: dir.path("t.sqlite"))
        #expect(try db.scalar("PRAGMA journal_mode") == .text("wal"))
        #expect(try db.scalar("PRAGMA synchronous") == .integer(1)) // NORMAL
        do {
            try db.execute("SELEC 1")
            Issue.record("expected an error")
        } catch {
            let e = error
            #expect(e.kind == .sqlite)
            #expect(e.resultCode == 1)
            #expect(e.message == #"near "SELEC": syntax error"#)
            #expect(e.sql == "SELEC 1")
            #expect(e.description == #"SQLite error 1: near "SELEC": syntax error - while executing `SELEC 1`"#)
        }
        try db.execute("CREATE TABLE t(a TEXT UNIQUE)")
        try db.run("INSERT INTO t VALUES (?)", [.text("x")])
        #expect(throws: StoreError.self) { try db.run("INSERT INTO t VALUES (?)", [.text("x")]) }
        do { try db.run("INSERT INTO t VALUES (?)", [.text("x")]) } catch {
            let e = error
            #expect(e.resultCode == 19 && e.extendedResultCode == 2067) // SQLITE_CONSTRAINT_UNIQUE
        }
    }

    @Test func bindAndReadEveryTypeIncludingEmptyBlobAndText() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try Connection(path: dir.path("t.sqlite"))
        try db.execute("CREATE TABLE t(a, b, c, d, e, f)")
        let st = try db.prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)")
        try st.bind([.integer(-7), .real(2.5), .text("ü\u{FEFF}x"), .blob([1, 2, 3]), .blob([]), .text("")])
        try st.run()
        let q = try db.prepare("SELECT a, b, c, d, e, f, typeof(e), typeof(f) FROM t")
        #expect(try q.step())
        #expect(q.value(0) == .integer(-7) && q.value(1) == .real(2.5) && q.value(2) == .text("ü\u{FEFF}x"))
        #expect(q.blob(3) == [1, 2, 3] && q.blob(4) == [] && q.string(5) == "")
        #expect(q.string(6) == "blob" && q.string(7) == "text")
        #expect(try !q.step())
    }

    @Test func transactionRollsBackOnThrowAndSavepointNests() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try Connection(path: dir.path("t.sqlite"))
        try db.execute("CREATE TABLE t(a)")
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try db.transaction { try db.run("INSERT INTO t VALUES (1)"); throw Boom() }
        }
        #expect(try db.scalar("SELECT COUNT(*) FROM t") == .integer(0))
        try db.transaction {
            try db.run("INSERT INTO t VALUES (1)")
            _ = try? db.savepoint("inner") { try db.run("INSERT INTO t VALUES (2)"); throw Boom() }
            try db.savepoint("kept") { try db.run("INSERT INTO t VALUES (3)") }
        }
        #expect(try db.scalar("SELECT group_concat(a) FROM t") == .text("1,3"))
        #expect(db.isAutocommit)
    }

    @Test func migratorRecordsNamesAndVersionAndRefusesNewerStores() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let db = try Connection(path: dir.path("t.sqlite"))
        var m = Migrator()
        m.register("one") { try $0.execute("CREATE TABLE one(x)") }
        try m.migrate(db)
        try m.migrate(db) // idempotent
        #expect(try db.userVersion == 1)
        var m2 = m
        m2.register("two") { try $0.execute("CREATE TABLE two(x)") }
        try m2.migrate(db)
        #expect(try m2.appliedMigrations(db) == ["one", "two"])
        #expect(try db.userVersion == 2)
        // The older program (knows only "one") refuses the newer store.
        #expect { try m.migrate(db) } throws: { ($0 as? StoreError)?.kind == .schema }
        // A failing migration leaves the store at its previous version.
        var m3 = m2
        m3.register("bad") { db in try db.execute("CREATE TABLE three(x)"); try db.execute("CREATE TABLE one(x)") }
        #expect(throws: StoreError.self) { try m3.migrate(db) }
        #expect(try db.userVersion == 2)
        #expect(try db.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'three'") == .integer(0))
    }
}
