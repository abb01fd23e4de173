// The vocabulary tables (schema v2): `vocabularies`, `vocab_entries`, `vocab_labels`,
// `encoded` and `embeddings`.

/// A row of `vocabularies`.
public struct VocabularyRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var name: String
    /// The split whose training part it was built from; nil when built from all examples.
    public var splitID: Int64?
    /// The fold of a k-fold split, nil otherwise.
    public var fold: Int?
    public var paramsJSON: String
    /// Token entries (special tokens included).
    public var size: Int
    /// Byte width of each id in `encoded.ids`: 2 (uint16) or 4 (int32).
    public var idWidth: Int
    public var createdAt: String
}

/// One entry of a vocabulary: a token or a character, with its training frequency.
public struct VocabEntry: Sendable, Hashable, Codable {
    public var token: String
    public var count: Int64
    public init(token: String, count: Int64) { self.token = token; self.count = count }
}

/// Everything a new vocabulary stores besides the encoded ids.
public struct NewVocabulary: Sendable {
    public var name: String
    public var splitID: Int64?
    public var fold: Int?
    public var paramsJSON: String
    /// Token entries; index = id.
    public var tokens: [VocabEntry]
    /// Character entries; index = id (empty when no character vocabulary was asked for).
    public var characters: [VocabEntry]
    /// Per task id, per label id: count in the training part.
    public var labelCounts: [Int64: [Int64]]

    public init(name: String, splitID: Int64?, fold: Int?, paramsJSON: String, tokens: [VocabEntry],
                characters: [VocabEntry] = [], labelCounts: [Int64: [Int64]] = [:]) {
        self.name = name; self.splitID = splitID; self.fold = fold; self.paramsJSON = paramsJSON
        self.tokens = tokens; self.characters = characters; self.labelCounts = labelCounts
    }

    /// 2 when every id fits an unsigned 16-bit integer, else 4.
    public var idWidth: Int { tokens.count <= 65_536 ? 2 : 4 }
}

/// A row of `embeddings` (without the matrix).
public struct EmbeddingRecord: Sendable, Hashable, Codable {
    public var vocabID: Int64
    public var name: String
    public var dim: Int
    /// Rows found with the token exactly as in the vocabulary.
    public var found: Int
    /// Rows found only through the case-folded fallback.
    public var folded: Int
    public var paramsJSON: String
    public var createdAt: String
}

/// Writes one vocabulary inside one transaction: entries first, then every example's ids.
///
/// ```swift
/// let writer = try store.beginVocabulary(new)
/// try writer.addEncoded(exampleID: 1, ids: [5, 9, 1])
/// let record = try writer.commit()
/// ```
public final class VocabularyWriter {
    public let record: VocabularyRecord
    let store: ExampleStore
    private var open = true
    // Rows are buffered and written many per INSERT: a million single-row statements spend
    // most of their time in per-statement overhead.
    private static let rowsPerStatement = 256
    private var insertFull: Statement?
    private var pendingIDs: [Int64] = []
    private var pendingBytes: [UInt8] = []
    private var pendingEnds: [Int] = []

    init(store: ExampleStore, record: VocabularyRecord) throws {
        self.store = store
        self.record = record
    }

    private func statement(rows: Int) throws -> Statement {
        try store.connection.prepare("INSERT INTO encoded(vocab_id, example_id, ids) VALUES "
            + Array(repeating: "(?, ?, ?)", count: rows).joined(separator: ","))
    }

    private func flush() throws {
        let rows = pendingIDs.count
        guard rows > 0 else { return }
        let st: Statement
        if rows == Self.rowsPerStatement {
            if insertFull == nil { insertFull = try statement(rows: rows) }
            st = insertFull!
        } else {
            st = try statement(rows: rows)
        }
        try pendingBytes.withUnsafeBytes { raw in
            var from = 0
            for r in 0..<rows {
                let p = Int32(3 * r)
                try st.bind(record.id, at: p + 1)
                try st.bind(pendingIDs[r], at: p + 2)
                try st.bind(rawBlob: UnsafeRawBufferPointer(rebasing: raw[from..<pendingEnds[r]]), at: p + 3)
                from = pendingEnds[r]
            }
        }
        try st.run()
        pendingIDs.removeAll(keepingCapacity: true); pendingBytes.removeAll(keepingCapacity: true); pendingEnds.removeAll(keepingCapacity: true)
    }

    /// Stores the ids of one example's tokens (in token order).
    public func addEncoded(exampleID: Int64, ids: UnsafeBufferPointer<Int32>) throws {
        precondition(open, "vocabulary writer used after commit or rollback")
        pendingIDs.append(exampleID)
        if record.idWidth == 4 {
            for v in ids { withUnsafeBytes(of: v.littleEndian) { pendingBytes.append(contentsOf: $0) } }
        } else {
            for v in ids { let u = UInt16(truncatingIfNeeded: v); pendingBytes.append(UInt8(u & 0xff)); pendingBytes.append(UInt8(u >> 8)) }
        }
        pendingEnds.append(pendingBytes.count)
        if pendingIDs.count == Self.rowsPerStatement { try flush() }
    }

    public func addEncoded(exampleID: Int64, ids: [Int32]) throws {
        try ids.withUnsafeBufferPointer { try addEncoded(exampleID: exampleID, ids: $0) }
    }

    /// Makes the vocabulary visible.
    public func commit() throws -> VocabularyRecord {
        precondition(open, "vocabulary writer committed twice")
        try flush()
        open = false
        try store.connection.execute("COMMIT")
        store.sessionOpen = false
        return record
    }

    /// Discards everything written.
    public func rollback() {
        guard open else { return }
        open = false
        try? store.connection.execute("ROLLBACK")
        store.sessionOpen = false
    }

    deinit { rollback() }
}

extension ExampleStore {
    static let vocabColumns = "id, name, split_id, fold, params_json, size, id_width, created_at"

    static func vocabularyRecord(_ r: Statement) -> VocabularyRecord {
        VocabularyRecord(id: r.int64(0), name: r.string(1) ?? "", splitID: r.isNull(2) ? nil : r.int64(2),
                         fold: r.isNull(3) ? nil : r.int(3), paramsJSON: r.string(4) ?? "{}", size: r.int(5),
                         idWidth: r.int(6), createdAt: r.string(7) ?? "")
    }

    /// All vocabularies, by id.
    public func vocabularies() throws -> [VocabularyRecord] {
        var out: [VocabularyRecord] = []
        try connection.cached("SELECT \(Self.vocabColumns) FROM vocabularies ORDER BY id").forEachRow { out.append(Self.vocabularyRecord($0)) }
        return out
    }

    public func vocabulary(named name: String) throws -> VocabularyRecord? {
        let st = try connection.cached("SELECT \(Self.vocabColumns) FROM vocabularies WHERE name = ?")
        try st.bind([.text(name)])
        defer { st.reset() }
        return try st.step() ? Self.vocabularyRecord(st) : nil
    }

    /// A vocabulary's entries of one kind (`token` or `char`), by id.
    public func vocabEntries(vocabID: Int64, kind: String = "token") throws -> [VocabEntry] {
        var out: [VocabEntry] = []
        let st = try connection.cached("SELECT token, count FROM vocab_entries WHERE vocab_id = ? AND kind = ? ORDER BY id")
        try st.bind([.integer(vocabID), .text(kind)])
        try st.forEachRow { out.append(VocabEntry(token: $0.string(0) ?? "", count: $0.int64(1))) }
        return out
    }

    /// Per task id, per label id: the label's count in the vocabulary's training part.
    public func vocabLabelCounts(vocabID: Int64) throws -> [Int64: [Int64]] {
        var out: [Int64: [Int64]] = [:]
        let st = try connection.cached("SELECT task_id, label_id, count FROM vocab_labels WHERE vocab_id = ? ORDER BY task_id, label_id")
        try st.bind([.integer(vocabID)])
        try st.forEachRow { r in
            let t = r.int64(0), l = r.int(1)
            var a = out[t] ?? []
            while a.count <= l { a.append(0) }
            a[l] = r.int64(2)
            out[t] = a
        }
        return out
    }

    /// Starts writing a vocabulary (one `BEGIN IMMEDIATE` transaction until `commit`).
    /// With `replace`, a vocabulary of the same name is deleted first (inside the
    /// transaction); without it an existing name is an error.
    public func beginVocabulary(_ v: NewVocabulary, replace: Bool = false) throws -> VocabularyWriter {
        guard !sessionOpen else { throw StoreError(kind: .misuse, message: "a write session is already open on this store") }
        try connection.execute("BEGIN IMMEDIATE")
        do {
            if try vocabulary(named: v.name) != nil {
                guard replace else {
                    throw StoreError(kind: .misuse, message: "a vocabulary named '\(v.name)' exists; choose another --name or replace it (--replace)")
                }
                try deleteVocabularyBody(named: v.name)
            }
            try connection.run("""
                INSERT INTO vocabularies(name, split_id, fold, params_json, size, id_width, created_at)
                VALUES (?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))
                """, [.text(v.name), v.splitID.map { .integer($0) } ?? .null, v.fold.map { .integer(Int64($0)) } ?? .null,
                      .text(v.paramsJSON), .integer(Int64(v.tokens.count)), .integer(Int64(v.idWidth))])
            let id = connection.lastInsertRowID
            let ins = try connection.prepare("INSERT INTO vocab_entries(vocab_id, kind, id, token, count) VALUES (?, ?, ?, ?, ?)")
            try ins.bind(id, at: 1)
            for (kind, entries) in [("token", v.tokens), ("char", v.characters)] {
                try ins.bind(kind, at: 2)
                for (i, e) in entries.enumerated() {
                    try ins.bind(Int64(i), at: 3); try ins.bind(e.token, at: 4); try ins.bind(e.count, at: 5)
                    try ins.run()
                }
            }
            let lab = try connection.prepare("INSERT INTO vocab_labels(vocab_id, task_id, label_id, count) VALUES (?, ?, ?, ?)")
            try lab.bind(id, at: 1)
            for (task, counts) in v.labelCounts.sorted(by: { $0.key < $1.key }) {
                try lab.bind(task, at: 2)
                for (l, c) in counts.enumerated() { try lab.bind(Int64(l), at: 3); try lab.bind(c, at: 4); try lab.run() }
            }
            let record = try vocabulary(named: v.name)!
            sessionOpen = true
            return try VocabularyWriter(store: self, record: record)
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Deletes a vocabulary with its entries, encodings and embeddings.
    public func deleteVocabulary(named name: String) throws {
        try connection.transaction(.immediate) {
            guard try vocabulary(named: name) != nil else { throw StoreError(kind: .misuse, message: "no vocabulary named '\(name)'") }
            try deleteVocabularyBody(named: name)
        }
    }

    func deleteVocabularyBody(named name: String) throws {
        guard let v = try vocabulary(named: name) else { return }
        for table in ["embeddings", "encoded", "vocab_labels", "vocab_entries"] {
            try connection.run("DELETE FROM \(table) WHERE vocab_id = ?", [.integer(v.id)])
        }
        try connection.run("DELETE FROM vocabularies WHERE id = ?", [.integer(v.id)])
    }

    /// Calls `body` with (example id, ids) for the encoded examples of a vocabulary whose ids
    /// lie in `range` (all when nil), in example order. The ids are widened to Int32.
    public func forEachEncoded(vocab: VocabularyRecord, range: ClosedRange<Int64>? = nil,
                               _ body: (Int64, UnsafeBufferPointer<Int32>) throws -> Void) throws {
        let st = try connection.prepare(range == nil
            ? "SELECT example_id, ids FROM encoded WHERE vocab_id = ? ORDER BY example_id"
            : "SELECT example_id, ids FROM encoded WHERE vocab_id = ? AND example_id BETWEEN ? AND ? ORDER BY example_id")
        try st.bind(vocab.id, at: 1)
        if let range { try st.bind(range.lowerBound, at: 2); try st.bind(range.upperBound, at: 3) }
        var ids: [Int32] = []
        try st.forEachRow { r in
            let id = r.int64(0)
            try r.withBlob(1) { b in
                ids.removeAll(keepingCapacity: true)
                if vocab.idWidth == 2 {
                    for i in 0..<(b.count / 2) { ids.append(Int32(UInt16(littleEndian: b.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
                } else {
                    for i in 0..<(b.count / 4) { ids.append(Int32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
                }
                try ids.withUnsafeBufferPointer { try body(id, $0) }
            }
        }
    }

    /// Stores (or, with the same name, replaces) an embedding matrix for a vocabulary.
    public func saveEmbeddings(vocabID: Int64, name: String, dim: Int, matrix: [Float], found: Int, folded: Int,
                               paramsJSON: String) throws {
        try connection.transaction(.immediate) {
            try connection.run("DELETE FROM embeddings WHERE vocab_id = ? AND name = ?", [.integer(vocabID), .text(name)])
            let st = try connection.prepare("""
                INSERT INTO embeddings(vocab_id, name, dim, matrix, found, folded, params_json, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))
                """)
            try st.bind(vocabID, at: 1); try st.bind(name, at: 2); try st.bind(Int64(dim), at: 3)
            #if _endian(little)
            try matrix.withUnsafeBytes { try st.bind(rawBlob: $0, at: 4) }
            #else
            #error("embeddings are stored little-endian")
            #endif
            try st.bind(Int64(found), at: 5); try st.bind(Int64(folded), at: 6); try st.bind(paramsJSON, at: 7)
            try st.run()
        }
    }

    /// A vocabulary's embedding records (without matrices).
    public func embeddings(vocabID: Int64) throws -> [EmbeddingRecord] {
        var out: [EmbeddingRecord] = []
        let st = try connection.cached("SELECT vocab_id, name, dim, found, folded, params_json, created_at FROM embeddings WHERE vocab_id = ? ORDER BY name")
        try st.bind([.integer(vocabID)])
        try st.forEachRow {
            out.append(EmbeddingRecord(vocabID: $0.int64(0), name: $0.string(1) ?? "", dim: $0.int(2), found: $0.int(3),
                                       folded: $0.int(4), paramsJSON: $0.string(5) ?? "{}", createdAt: $0.string(6) ?? ""))
        }
        return out
    }

    /// An embedding matrix, row-major [vocabulary size × dim].
    public func embeddingMatrix(vocabID: Int64, name: String) throws -> (dim: Int, matrix: [Float])? {
        let st = try connection.cached("SELECT dim, matrix FROM embeddings WHERE vocab_id = ? AND name = ?")
        try st.bind([.integer(vocabID), .text(name)])
        defer { st.reset() }
        guard try st.step() else { return nil }
        let dim = st.int(0)
        let matrix: [Float] = st.withBlob(1) { b in
            (0..<(b.count / 4)).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        return (dim, matrix)
    }
}
