/// Named forward migrations, run in order, each recorded in `store_migrations`;
/// `PRAGMA user_version` holds the number applied (the schema version).
///
/// All pending migrations run in one `BEGIN IMMEDIATE` transaction: a failure (or a
/// kill) leaves the store at its previous version. A migration that has shipped is never
/// edited; change the schema by registering a new one.
///
/// ```swift
/// var m = Migrator()
/// m.register("v1-core") { db in try db.execute("CREATE TABLE …") }
/// try m.migrate(db)
/// ```
public struct Migrator: Sendable {
    /// One named migration.
    public struct Migration: Sendable {
        public let name: String
        let body: @Sendable (Connection) throws -> Void
    }

    public private(set) var migrations: [Migration] = []

    public init() {}

    /// Appends a migration; names must be unique.
    public mutating func register(_ name: String, _ body: @escaping @Sendable (Connection) throws -> Void) {
        precondition(!migrations.contains { $0.name == name }, "duplicate migration \(name)")
        migrations.append(Migration(name: name, body: body))
    }

    /// Names of the migrations applied to `db`, in order.
    public func appliedMigrations(_ db: Connection) throws(StoreError) -> [String] {
        let exists = try db.scalar("SELECT 1 FROM sqlite_master WHERE type='table' AND name='store_migrations'")
        guard exists != nil else { return [] }
        var names: [String] = []
        let st = try db.cached("SELECT name FROM store_migrations ORDER BY seq")
        while try st.step() { names.append(st.string(0) ?? "") }
        st.reset()
        return names
    }

    /// True when `db` already has every registered migration (checked without a write lock).
    public func isUpToDate(_ db: Connection) throws(StoreError) -> Bool {
        try db.userVersion == migrations.count
    }

    /// Applies pending migrations. Fails with `.schema` when the store was written by a
    /// newer program (more or different migrations than this one knows).
    public func migrate(_ db: Connection) throws {
        // Fast path without taking the write lock, so opening a store never waits
        // for a running import when there is nothing to migrate.
        if try db.userVersion == migrations.count, try appliedMigrations(db).count == migrations.count { return }
        try db.transaction(.immediate) {
            try db.execute("""
                CREATE TABLE IF NOT EXISTS store_migrations(
                  seq INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, applied_at TEXT NOT NULL)
                """)
            let applied = try appliedMigrations(db)
            for (i, name) in applied.enumerated() where i >= migrations.count || migrations[i].name != name {
                throw StoreError(kind: .schema, message: i >= migrations.count
                    ? "store has migration '\(name)' unknown to this program (store version \(applied.count), program knows \(migrations.count)); use a newer mtl"
                    : "store migration #\(i + 1) is '\(name)', this program expects '\(migrations[i].name)'")
            }
            for i in applied.count..<migrations.count {
                try migrations[i].body(db)
                try db.run("INSERT INTO store_migrations(seq, name, applied_at) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
                           [.integer(Int64(i + 1)), .text(migrations[i].name)])
            }
            try db.execute("PRAGMA user_version = \(migrations.count)")
        }
    }
}
