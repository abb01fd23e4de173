import CSQLite

/// One SQL value, as SQLite stores it.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// A prepared statement (owns one `sqlite3_stmt*`). Bind, step, read columns, reset, reuse.
///
/// Parameter and column indexes follow SQLite: parameters are 1-based, columns 0-based.
/// Not thread-safe; use it on the thread that uses its `Connection`.
///
/// ```swift
/// let st = try db.prepare("INSERT INTO t(a, b) VALUES (?, ?)")
/// for row in rows { try st.bind(row.a, at: 1); try st.bind(row.b, at: 2); try st.run() }
/// ```
public final class Statement {
    let handle: OpaquePointer
    /// The SQL text this statement was prepared from.
    public let sql: String

    init(db: OpaquePointer, sql: String, persistent: Bool) throws(StoreError) {
        var stmt: OpaquePointer?
        let flags: UInt32 = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let rc = sqlite3_prepare_v3(db, sql, -1, flags, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw StoreError(code: rc, db: db, sql: sql) }
        self.handle = stmt
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    private func check(_ rc: Int32) throws(StoreError) {
        if rc != SQLITE_OK { throw StoreError(code: rc, db: sqlite3_db_handle(handle), sql: sql) }
    }

    // MARK: - Binding

    public func bind(_ value: Int64, at index: Int32) throws(StoreError) {
        try check(sqlite3_bind_int64(handle, index, value))
    }
    public func bind(_ value: Int, at index: Int32) throws(StoreError) { try bind(Int64(value), at: index) }
    public func bind(_ value: Double, at index: Int32) throws(StoreError) {
        try check(sqlite3_bind_double(handle, index, value))
    }
    public func bindNull(at index: Int32) throws(StoreError) { try check(sqlite3_bind_null(handle, index)) }

    /// Binds text (copied by SQLite), or NULL for `nil`.
    public func bind(_ value: String?, at index: Int32) throws(StoreError) {
        guard var value else { return try bindNull(at: index) }
        let rc = value.withUTF8 { buf -> Int32 in
            guard buf.count > 0, let base = buf.baseAddress else {
                return sqlite3_bind_text(handle, index, "", 0, mtl_sqlite_transient())
            }
            return base.withMemoryRebound(to: CChar.self, capacity: buf.count) {
                sqlite3_bind_text(handle, index, $0, Int32(buf.count), mtl_sqlite_transient())
            }
        }
        try check(rc)
    }

    /// Binds a blob (copied by SQLite). An empty array binds a zero-length blob, not NULL.
    public func bind(blob value: [UInt8], at index: Int32) throws(StoreError) {
        let rc = value.withUnsafeBytes { buf -> Int32 in
            if buf.isEmpty { return sqlite3_bind_zeroblob(handle, index, 0) }
            return sqlite3_bind_blob(handle, index, buf.baseAddress, Int32(buf.count), mtl_sqlite_transient())
        }
        try check(rc)
    }

    /// Binds bytes as a blob (copied by SQLite); empty binds a zero-length blob, not NULL.
    public func bind(rawBlob value: UnsafeRawBufferPointer, at index: Int32) throws(StoreError) {
        if value.isEmpty { return try check(sqlite3_bind_zeroblob(handle, index, 0)) }
        try check(sqlite3_bind_blob(handle, index, value.baseAddress, Int32(value.count), mtl_sqlite_transient()))
    }

    /// Binds a constant string without copying it (SQLITE_STATIC: it lives forever).
    public func bind(static value: StaticString, at index: Int32) throws(StoreError) {
        try check(sqlite3_bind_text(handle, index, UnsafeRawPointer(value.utf8Start).assumingMemoryBound(to: CChar.self),
                                    Int32(value.utf8CodeUnitCount), nil))
    }

    /// Binds UTF-8 text WITHOUT a copy: the bytes must stay valid and unchanged until the
    /// statement has been stepped and reset (the bulk-insert path).
    public func bindNoCopy(text value: UnsafeRawBufferPointer, at index: Int32) throws(StoreError) {
        guard let base = value.baseAddress, value.count > 0 else {
            return try check(sqlite3_bind_text(handle, index, "", 0, mtl_sqlite_transient()))
        }
        try check(sqlite3_bind_text(handle, index, base.assumingMemoryBound(to: CChar.self), Int32(value.count), mtl_sqlite_static()))
    }

    /// Binds a blob WITHOUT a copy (see `bindNoCopy(text:at:)`); empty binds a zero-length blob.
    public func bindNoCopy(blob value: UnsafeRawBufferPointer, at index: Int32) throws(StoreError) {
        guard let base = value.baseAddress, value.count > 0 else { return try check(sqlite3_bind_zeroblob(handle, index, 0)) }
        try check(sqlite3_bind_blob(handle, index, base, Int32(value.count), mtl_sqlite_static()))
    }

    public func bind(_ value: SQLValue, at index: Int32) throws(StoreError) {
        switch value {
        case .null: try bindNull(at: index)
        case .integer(let v): try bind(v, at: index)
        case .real(let v): try bind(v, at: index)
        case .text(let v): try bind(v, at: index)
        case .blob(let v): try bind(blob: v, at: index)
        }
    }

    /// Resets the statement and binds `values` to parameters 1…n.
    public func bind(_ values: [SQLValue]) throws(StoreError) {
        reset()
        for (i, v) in values.enumerated() { try bind(v, at: Int32(i + 1)) }
    }

    // MARK: - Stepping

    /// Steps once: `true` when a row is available, `false` when done.
    @discardableResult
    public func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        let err = StoreError(code: rc, db: sqlite3_db_handle(handle), sql: sql)
        sqlite3_reset(handle)
        throw err
    }

    /// Steps a statement that returns no rows once, then resets it (the bulk-insert path).
    @inline(__always)
    public func runOnce() throws(StoreError) {
        let rc = sqlite3_step(handle)
        if rc != SQLITE_DONE && rc != SQLITE_ROW {
            let err = StoreError(code: rc, db: sqlite3_db_handle(handle), sql: sql)
            sqlite3_reset(handle)
            throw err
        }
        sqlite3_reset(handle)
    }

    /// Steps to completion (for statements without result rows), then resets.
    public func run() throws(StoreError) {
        while try step() {}
        sqlite3_reset(handle)
    }

    /// Resets for re-execution; bindings are kept until rebound.
    public func reset() { sqlite3_reset(handle) }

    /// Calls `body` for each result row, then resets.
    public func forEachRow(_ body: (Statement) throws -> Void) throws {
        defer { sqlite3_reset(handle) }
        while try step() { try body(self) }
    }

    // MARK: - Columns (0-based)

    public var columnCount: Int32 { sqlite3_column_count(handle) }
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    public func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    public func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    public func string(_ column: Int32) -> String? {
        guard let p = sqlite3_column_text(handle, column) else { return nil }
        let n = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }
    /// The column as bytes; a zero-length blob gives `[]`, NULL gives `nil`.
    public func blob(_ column: Int32) -> [UInt8]? {
        if isNull(column) { return nil }
        let p = sqlite3_column_blob(handle, column)
        let n = Int(sqlite3_column_bytes(handle, column))
        guard let p, n > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
    /// The column's bytes without copying; valid only inside `body` (until the next step).
    public func withBlob<R>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let n = Int(sqlite3_column_bytes(handle, column))
        guard let p = sqlite3_column_blob(handle, column), n > 0 else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: p, count: n))
    }
    public func value(_ column: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: return .integer(int64(column))
        case SQLITE_FLOAT: return .real(double(column))
        case SQLITE_TEXT: return .text(string(column) ?? "")
        case SQLITE_BLOB: return .blob(blob(column) ?? [])
        default: return .null
        }
    }
}
