import CSQLite
import Foundation

/// One SQLite connection (owns one `sqlite3*`).
///
/// Opened in WAL mode with `synchronous=NORMAL` and a busy timeout, so that readers
/// (`mtl-prep stats`, training) can open the store while an import writes, and a second
/// writer waits for the first instead of failing at once.
///
/// Not thread-safe (opened with `SQLITE_OPEN_NOMUTEX`): use a connection, and the
/// statements it prepared, from one thread at a time.
public final class Connection {
    let handle: OpaquePointer
    /// The file this connection opened.
    public let path: String
    private var cache: [String: Statement] = [:]
    private var isClosed = false

    /// Opens (and for read-write, creates) the database at `path`.
    /// - Parameters:
    ///   - readOnly: open with `SQLITE_OPEN_READONLY` (no schema changes, no WAL switch).
    ///   - busyTimeoutMilliseconds: how long to wait for another connection's lock.
    ///   - newDatabasePageSize: the page size given to a database this call creates (SQLite
    ///     fixes it when the first table is written; an existing database keeps its own).
    ///   - unpublished: the database is being built under a temporary name that no other
    ///     connection knows (`ExampleStore.create(at:_:)`): the rollback journal stays in memory
    ///     and nothing is synced, because the builder discards the whole file on failure and
    ///     syncs it once when it publishes it. No WAL: every page is written once.
    public init(path: String, readOnly: Bool = false, busyTimeoutMilliseconds: Int32 = 30_000,
                newDatabasePageSize: Int? = nil, unpublished: Bool = false) throws(StoreError) {
        _ = Self.configureOnce
        var db: OpaquePointer?
        var flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_NOMUTEX
        // A read-only connection to a WAL store creates its -wal and -shm files and, unable to
        // checkpoint, leaves them behind when it closes: `stats` would litter a store it never
        // changed. When no -wal exists (no writer at work, nothing to recover), a read-write
        // connection that refuses writes (query_only) reads the same and removes both files as
        // the last connection to close. With a -wal present, plain read-only as before: the
        // files are someone else's, and recovering a crashed writer's WAL is a writer's job.
        let queryOnly = readOnly && access(path + "-wal", F_OK) != 0 && access(path, W_OK) == 0
            && access((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, W_OK) == 0
        if queryOnly { flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX }
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let err = StoreError(code: rc, db: db, sql: nil)
            sqlite3_close_v2(db)
            throw err
        }
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        self.handle = db
        self.path = path
        if queryOnly { try execute("PRAGMA query_only=1") }
        if !readOnly {
            if let size = newDatabasePageSize, case .integer(0)? = try scalar("PRAGMA page_count") {
                try execute("PRAGMA page_size=\(size)")
            }
            if unpublished {
                try execute("PRAGMA journal_mode=MEMORY")
            } else {
                try execute("PRAGMA journal_mode=WAL")
                // Truncate a large WAL (left by a big import) once it has been checkpointed.
                try execute("PRAGMA journal_size_limit=67108864")
            }
        }
        try execute(unpublished ? "PRAGMA synchronous=OFF" : "PRAGMA synchronous=NORMAL")
    }

    /// Process-wide SQLite settings, applied before the first connection opens: no memory
    /// statistics (they take a global mutex on every SQLite allocation, ~10% of a bulk import).
    private static let configureOnce: Void = { _ = mtl_sqlite_disable_memstatus() }()

    deinit {
        cache.removeAll()
        if !isClosed { sqlite3_close_v2(handle) }
    }

    /// Closes the connection now (its files are closed when this returns). Fails with `.misuse`
    /// while statements prepared with `prepare` are still alive; the connection must not be
    /// used afterwards.
    public func close() throws(StoreError) {
        guard !isClosed else { return }
        cache.removeAll()
        let rc = sqlite3_close(handle)
        guard rc == SQLITE_OK else {
            throw StoreError(kind: .misuse, message: "\(path): cannot close the connection while statements are open (SQLite \(rc))")
        }
        isClosed = true
    }

    /// Runs one or more SQL statements that return no rows needed by the caller.
    public func execute(_ sql: String) throws(StoreError) {
        var errmsg: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errmsg)
        if rc != SQLITE_OK {
            let msg = errmsg.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(errmsg)
            throw StoreError(code: sqlite3_extended_errcode(handle), message: msg, sql: sql)
        }
    }

    /// Prepares a new statement (the caller owns and may reuse it).
    public func prepare(_ sql: String) throws(StoreError) -> Statement {
        try Statement(db: handle, sql: sql, persistent: false)
    }

    /// A statement from this connection's cache, prepared once per distinct SQL text.
    /// The statement is reset before it is returned.
    public func cached(_ sql: String) throws(StoreError) -> Statement {
        if let st = cache[sql] { st.reset(); return st }
        let st = try Statement(db: handle, sql: sql, persistent: true)
        cache[sql] = st
        return st
    }

    /// Runs `sql` with `arguments` and returns the first column of the first row, if any.
    public func scalar(_ sql: String, _ arguments: [SQLValue] = []) throws(StoreError) -> SQLValue? {
        let st = try cached(sql)
        try st.bind(arguments)
        defer { st.reset() }
        return try st.step() ? st.value(0) : nil
    }

    /// Runs a statement that returns no rows.
    public func run(_ sql: String, _ arguments: [SQLValue] = []) throws(StoreError) {
        let st = try cached(sql)
        try st.bind(arguments)
        try st.run()
    }

    /// The rowid of the last successful INSERT on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }
    /// False while a transaction is open.
    public var isAutocommit: Bool { sqlite3_get_autocommit(handle) != 0 }

    /// `PRAGMA user_version`: the schema version (number of applied migrations).
    public var userVersion: Int {
        get throws(StoreError) {
            if case .integer(let v)? = try scalar("PRAGMA user_version") { return Int(v) }
            return 0
        }
    }

    // MARK: - Transactions

    /// How a transaction takes its locks. `immediate` takes the write lock at once
    /// (waiting up to the busy timeout), so a write transaction never fails half-way
    /// with SQLITE_BUSY.
    public enum TransactionKind: String, Sendable {
        case deferred = "DEFERRED", immediate = "IMMEDIATE", exclusive = "EXCLUSIVE"
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ kind: TransactionKind = .immediate, _ body: () throws -> T) throws -> T {
        try execute("BEGIN \(kind.rawValue)")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` inside a savepoint (nestable, also inside a transaction): released when
    /// it returns, rolled back to its start when it throws.
    public func savepoint<T>(_ name: String = "mtl_sp", _ body: () throws -> T) throws -> T {
        let quoted = "\"" + name.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
        try execute("SAVEPOINT \(quoted)")
        do {
            let result = try body()
            try execute("RELEASE \(quoted)")
            return result
        } catch {
            try? execute("ROLLBACK TO \(quoted)")
            try? execute("RELEASE \(quoted)")
            throw error
        }
    }
}
