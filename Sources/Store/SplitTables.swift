// The `splits` and `split_assignments` tables (schema v2): typed records, one-transaction
// writes, and the compact reads that the split, vocabulary and batching stages need.

/// Where an example sits in a split.
public enum SplitPart: UInt8, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case train = 0, dev = 1, test = 2
    public var name: String { ["train", "dev", "test"][Int(rawValue)] }
    public var description: String { name }
    public init?(name: String) {
        switch name {
        case "train": self = .train
        case "dev": self = .dev
        case "test": self = .test
        default: return nil
        }
    }
}

/// How a split was made.
public enum SplitKind: String, Sendable, Hashable, Codable {
    /// train/dev/test by ratios.
    case ratio
    /// an optional held-out test part plus K folds over the rest.
    case kfold
}

/// A row of `splits`.
public struct SplitRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var name: String
    public var kind: SplitKind
    /// K for a k-fold split, 0 for a ratio split.
    public var folds: Int
    public var seed: UInt64
    /// The parameters that made the split, as JSON.
    public var paramsJSON: String
    /// Examples assigned.
    public var examples: Int64
    public var createdAt: String

    /// The part of an example with stored (part, fold) in fold `k` of this split.
    /// For a ratio split `k` is ignored; for a k-fold split `k` must be in 0..<folds.
    public func part(stored part: SplitPart, fold: Int32, in k: Int) -> SplitPart {
        guard kind == .kfold, part != .test else { return part }
        return Int(fold) == k ? .dev : .train
    }
}

/// The assignments of one split, sorted by example id (parallel arrays: compact for
/// millions of examples).
public struct SplitAssignments: Sendable, Hashable {
    public var exampleIDs: [Int64] = []
    public var parts: [SplitPart] = []
    /// The fold of each example in a k-fold split, -1 when none (ratio split, or test).
    public var folds: [Int32] = []
    public init() {}
    public var count: Int { exampleIDs.count }
    public mutating func append(_ id: Int64, _ part: SplitPart, fold: Int32 = -1) {
        exampleIDs.append(id); parts.append(part); folds.append(fold)
    }
}

/// The per-example keys a split is computed from, read without the text (parallel arrays,
/// in example-id order).
public struct ExampleKeys: Sendable {
    public var ids: [Int64] = []
    public var normHashes: [Int64] = []
    public var sourceIDs: [Int64] = []
    /// `examples.group_key`, nil when absent.
    public var groupKeys: [String?] = []
    /// The predefined part (from import `--part`), nil when none or not one of train/dev/test.
    public var parts: [SplitPart?] = []
    /// Predefined part names that are not train/dev/test, by example index (rare).
    public var otherParts: [Int: String] = [:]
    public var count: Int { ids.count }
}

extension ExampleStore {
    static let splitColumns = "id, name, kind, folds, seed, params_json, examples, created_at"

    static func splitRecord(_ r: Statement) throws(StoreError) -> SplitRecord {
        let kindName = r.string(2) ?? ""
        guard let kind = SplitKind(rawValue: kindName) else {
            throw StoreError(kind: .schema, message: "unknown split kind '\(kindName)'")
        }
        return SplitRecord(id: r.int64(0), name: r.string(1) ?? "", kind: kind, folds: r.int(3),
                           seed: UInt64(bitPattern: r.int64(4)), paramsJSON: r.string(5) ?? "{}",
                           examples: r.int64(6), createdAt: r.string(7) ?? "")
    }

    /// All splits, by id.
    public func splits() throws -> [SplitRecord] {
        var out: [SplitRecord] = []
        try connection.cached("SELECT \(Self.splitColumns) FROM splits ORDER BY id").forEachRow { out.append(try Self.splitRecord($0)) }
        return out
    }

    public func split(named name: String) throws -> SplitRecord? {
        let st = try connection.cached("SELECT \(Self.splitColumns) FROM splits WHERE name = ?")
        try st.bind([.text(name)])
        defer { st.reset() }
        return try st.step() ? try Self.splitRecord(st) : nil
    }

    public func split(id: Int64) throws -> SplitRecord? {
        let st = try connection.cached("SELECT \(Self.splitColumns) FROM splits WHERE id = ?")
        try st.bind([.integer(id)])
        defer { st.reset() }
        return try st.step() ? try Self.splitRecord(st) : nil
    }

    /// Stores a split and its assignments in ONE transaction. With `replace`, an existing
    /// split of that name is deleted first together with the vocabularies built on it
    /// (their names are returned); without it, an existing name is an error.
    @discardableResult
    public func saveSplit(name: String, kind: SplitKind, folds: Int, seed: UInt64, paramsJSON: String,
                          assignments: SplitAssignments, replace: Bool = false) throws -> (split: SplitRecord, removedVocabularies: [String]) {
        return try connection.transaction(.immediate) {
            var removed: [String] = []
            if let old = try split(named: name) {
                guard replace else {
                    throw StoreError(kind: .misuse, message: "a split named '\(name)' exists; choose another name or replace it (--replace)")
                }
                removed = try vocabularies().filter { $0.splitID == old.id }.map(\.name)
                for v in removed { try deleteVocabularyBody(named: v) }
                try connection.run("DELETE FROM split_assignments WHERE split_id = ?", [.integer(old.id)])
                try connection.run("DELETE FROM splits WHERE id = ?", [.integer(old.id)])
            }
            try connection.run("""
                INSERT INTO splits(name, kind, folds, seed, params_json, examples, created_at)
                VALUES (?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))
                """, [.text(name), .text(kind.rawValue), .integer(Int64(folds)), .integer(Int64(bitPattern: seed)),
                      .text(paramsJSON), .integer(Int64(assignments.count))])
            let id = connection.lastInsertRowID
            // Many rows per statement: a million single-row INSERTs spend most of their time in
            // per-statement overhead (measured ~3x slower).
            let rowsPerStatement = 256
            func statement(rows: Int) throws -> Statement {
                try connection.prepare("INSERT INTO split_assignments(split_id, example_id, part, fold) VALUES "
                    + Array(repeating: "(?, ?, ?, ?)", count: rows).joined(separator: ","))
            }
            let full = try statement(rows: rowsPerStatement)
            let partNames: [StaticString] = ["train", "dev", "test"]
            var start = 0
            while start < assignments.count {
                let rows = min(rowsPerStatement, assignments.count - start)
                let ins = rows == rowsPerStatement ? full : try statement(rows: rows)
                for r in 0..<rows {
                    let i = start + r, p = Int32(4 * r)
                    try ins.bind(id, at: p + 1)
                    try ins.bind(assignments.exampleIDs[i], at: p + 2)
                    try ins.bind(static: partNames[Int(assignments.parts[i].rawValue)], at: p + 3)
                    if assignments.folds[i] >= 0 { try ins.bind(Int64(assignments.folds[i]), at: p + 4) } else { try ins.bindNull(at: p + 4) }
                }
                try ins.run()
                start += rows
            }
            return (try split(id: id)!, removed)
        }
    }

    /// Deletes a split with the vocabularies built on it.
    public func deleteSplit(named name: String) throws {
        try connection.transaction(.immediate) {
            guard let old = try split(named: name) else {
                throw StoreError(kind: .misuse, message: "no split named '\(name)'")
            }
            for v in try vocabularies() where v.splitID == old.id { try deleteVocabularyBody(named: v.name) }
            try connection.run("DELETE FROM split_assignments WHERE split_id = ?", [.integer(old.id)])
            try connection.run("DELETE FROM splits WHERE id = ?", [.integer(old.id)])
        }
    }

    /// A split's assignments, sorted by example id.
    public func assignments(splitID: Int64) throws -> SplitAssignments {
        var out = SplitAssignments()
        let n = try connection.scalar("SELECT examples FROM splits WHERE id = ?", [.integer(splitID)])
        if case .integer(let c)? = n {
            out.exampleIDs.reserveCapacity(Int(c)); out.parts.reserveCapacity(Int(c)); out.folds.reserveCapacity(Int(c))
        }
        let st = try connection.prepare("SELECT example_id, part, fold FROM split_assignments WHERE split_id = ? ORDER BY example_id")
        try st.bind(splitID, at: 1)
        try st.forEachRow { r in
            // Part names are one of three; compare the first byte instead of building a String.
            let part: SplitPart = r.withBlob(1) { b in
                if b.first == UInt8(ascii: "d") { return .dev }
                return b.count > 1 && b[1] == UInt8(ascii: "e") ? .test : .train
            }
            out.append(r.int64(0), part, fold: r.isNull(2) ? -1 : Int32(r.int64(2)))
        }
        return out
    }

    /// The keys of every example (no text, no tokens), in id order.
    public func exampleKeys() throws -> ExampleKeys {
        var keys = ExampleKeys()
        if case .integer(let n)? = try connection.scalar("SELECT COUNT(*) FROM examples") {
            keys.ids.reserveCapacity(Int(n)); keys.normHashes.reserveCapacity(Int(n))
            keys.sourceIDs.reserveCapacity(Int(n)); keys.groupKeys.reserveCapacity(Int(n)); keys.parts.reserveCapacity(Int(n))
        }
        var sourcePart: [Int64: String] = [:]
        try connection.prepare("SELECT id, part FROM sources WHERE part IS NOT NULL").forEachRow { sourcePart[$0.int64(0)] = $0.string(1) }
        let st = try connection.prepare("SELECT id, norm_hash, source_id, group_key, part FROM examples ORDER BY id")
        try st.forEachRow { r in
            keys.ids.append(r.int64(0)); keys.normHashes.append(r.int64(1))
            let source = r.int64(2)
            keys.sourceIDs.append(source)
            keys.groupKeys.append(r.isNull(3) ? nil : r.string(3))
            if let p = r.isNull(4) ? sourcePart[source] : r.string(4) {
                let part = SplitPart(name: p)
                keys.parts.append(part)
                if part == nil { keys.otherParts[keys.ids.count - 1] = p }
            } else {
                keys.parts.append(nil)
            }
        }
        return keys
    }

    /// Calls `body` with (example id, raw annotation blob) for every annotation of a task,
    /// in example order; the bytes are valid only inside `body`.
    public func forEachAnnotationBlob(taskID: Int64, _ body: (Int64, UnsafeRawBufferPointer) throws -> Void) throws {
        let st = try connection.prepare("SELECT example_id, value FROM annotations WHERE task_id = ? ORDER BY example_id")
        try st.bind(taskID, at: 1)
        try st.forEachRow { r in try r.withBlob(1) { try body(r.int64(0), $0) } }
    }
}
