import CSQLite

/// The one error type of the `Store` module.
///
/// SQLite failures carry the primary and extended result codes, SQLite's message and the
/// SQL that failed (like GRDB's `DatabaseError`). Failures found by this module itself
/// (a malformed blob, a schema newer than this program, misuse of an import session)
/// use the other kinds with `resultCode == 0`.
///
/// ```
/// SQLite error 19 (SQLITE_CONSTRAINT_UNIQUE 2067): UNIQUE constraint failed: tasks.name - while executing `INSERT INTO tasks …`
/// ```
public struct StoreError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong, coarsely.
    public enum Kind: String, Sendable, Equatable {
        /// SQLite returned an error; see `resultCode`.
        case sqlite
        /// A token or annotation blob does not follow its documented layout.
        case malformedBlob
        /// The store's schema is unknown to this program (newer, or migrations differ).
        case schema
        /// The API was used against its contract (wrong task kind, unknown label id, …).
        case misuse
        /// A file operation outside SQLite failed (publishing a new store: sync, link).
        case file
        /// A new store could not be published: another process created one at its path first.
        case createdMeanwhile
    }

    public var kind: Kind
    /// Primary SQLite result code (`extendedResultCode & 0xff`), 0 when not from SQLite.
    public var resultCode: Int32
    /// Extended SQLite result code (e.g. 2067 = SQLITE_CONSTRAINT_UNIQUE), 0 when not from SQLite.
    public var extendedResultCode: Int32
    /// Human-readable message (SQLite's `sqlite3_errmsg` for SQLite errors).
    public var message: String
    /// The SQL being executed, when there was one.
    public var sql: String?

    public init(kind: Kind, message: String, sql: String? = nil) {
        self.kind = kind
        self.resultCode = 0
        self.extendedResultCode = 0
        self.message = message
        self.sql = sql
    }

    init(code: Int32, message: String, sql: String?) {
        self.kind = .sqlite
        self.extendedResultCode = code
        self.resultCode = code & 0xff
        self.message = message
        self.sql = sql
    }

    init(code: Int32, db: OpaquePointer?, sql: String?) {
        let msg = db.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            ?? String(cString: sqlite3_errstr(code))
        self.init(code: code, message: msg, sql: sql)
    }

    public var description: String {
        var s: String
        switch kind {
        case .sqlite:
            s = "SQLite error \(resultCode)"
            if extendedResultCode != resultCode { s += " (extended \(extendedResultCode))" }
            s += ": \(message)"
        case .malformedBlob: s = "malformed blob: \(message)"
        case .schema: s = "store schema: \(message)"
        case .misuse: s = "store misuse: \(message)"
        case .file, .createdMeanwhile: s = message
        }
        if let sql { s += " - while executing `\(sql)`" }
        return s
    }

    /// True for SQLITE_BUSY / SQLITE_LOCKED (another connection holds the write lock).
    public var isBusy: Bool { kind == .sqlite && (resultCode == SQLITE_BUSY || resultCode == SQLITE_LOCKED) }
}
