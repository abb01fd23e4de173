import Store

/// The store's token-type index: every distinct normalized token gets a dense id
/// (`token_types`), and the examples' tokens are stored as those ids in chunks of up to 4096
/// consecutive examples (`token_type_chunks`).
///
/// Why: a vocabulary is built per split and per fold (five times for 5-fold CV), and each
/// build counts the training tokens. Counting from the examples table reads every text and
/// offset (≈ 400 MB for 1M SST-2 sentences) and hashes every token; counting from the index
/// reads 4 bytes per token in a few hundred rows and increments an array. The index is
/// derived data: built on the first `vocab` of a store, extended for the examples imported
/// since (it always covers every example up to its last chunk's last id; new examples get
/// larger ids), and dropped whole when a source is deleted (`import --replace`).
public enum TokenTypeIndex {
    /// Examples per chunk row.
    public static let chunkSize = 4096

    /// What `update` did.
    public struct Update: Sendable, Hashable, Codable {
        /// Distinct tokens in the index afterwards.
        public var types: Int
        /// Examples indexed by this call (0 when it was up to date).
        public var examplesAdded: Int
    }

    /// The last example id the index covers (nil when empty).
    static func watermark(_ db: Connection) throws -> Int64? {
        let st = try db.prepare("SELECT example_ids FROM token_type_chunks ORDER BY first_example_id DESC LIMIT 1")
        var last: Int64?
        try st.forEachRow { r in
            r.withBlob(0) { b in if b.count >= 8 { last = Int64(littleEndian: b.loadUnaligned(fromByteOffset: b.count - 8, as: Int64.self)) } }
        }
        return last
    }

    /// Indexes every example past the index's watermark, in one transaction.
    @discardableResult
    public static func update(store: ExampleStore) throws -> Update {
        let db = store.connection
        func typeCount() throws -> Int { if case .integer(let t)? = try db.scalar("SELECT COUNT(*) FROM token_types") { return Int(t) }; return 0 }
        let mark = try watermark(db) ?? Int64.min
        guard case .integer(let pending)? = try db.scalar("SELECT COUNT(*) FROM examples WHERE id > ?", [.integer(mark)]), pending > 0 else {
            return Update(types: try typeCount(), examplesAdded: 0)
        }
        return try db.transaction(.immediate) {
            var table = ByteKeyTable(capacity: 1 << 16)
            var known = 0
            try db.prepare("SELECT id, token FROM token_types ORDER BY id").forEachRow { r in
                guard r.int64(0) == Int64(known) else {
                    throw VocabError("token_types ids are not dense (found id \(r.int64(0)) where \(known) was expected)")
                }
                r.withBlob(1) { _ = table.add($0, 0) }
                known += 1
            }
            let scan = try db.prepare("SELECT id, tokens, text FROM examples WHERE id > ? ORDER BY id LIMIT \(chunkSize)")
            let insert = try db.prepare("INSERT INTO token_type_chunks(first_example_id, example_ids, ends, ids) VALUES (?, ?, ?, ?)")
            var last = mark
            var added = 0
            var exampleIDs: [Int64] = [], ends: [UInt32] = [], ids: [UInt32] = []
            while true {
                exampleIDs.removeAll(keepingCapacity: true); ends.removeAll(keepingCapacity: true); ids.removeAll(keepingCapacity: true)
                try scan.bind(last, at: 1)
                try scan.forEachRow { r in
                    let id = r.int64(0)
                    let ok = r.withBlob(1) { blob in
                        r.withBlob(2) { text in
                            TokenBlob.forEachNormalizedToken(blob, text: text) { ids.append(UInt32(table.add($0, 0)).littleEndian) }
                        }
                    }
                    guard ok else { throw VocabError("example \(id): its tokens blob is malformed") }
                    exampleIDs.append(id.littleEndian); ends.append(UInt32(ids.count).littleEndian)
                }
                guard let first = exampleIDs.first else { break }
                try insert.bind(Int64(littleEndian: first), at: 1)
                try exampleIDs.withUnsafeBytes { try insert.bind(rawBlob: $0, at: 2) }
                try ends.withUnsafeBytes { try insert.bind(rawBlob: $0, at: 3) }
                try ids.withUnsafeBytes { try insert.bind(rawBlob: $0, at: 4) }
                try insert.run()
                added += exampleIDs.count
                last = Int64(littleEndian: exampleIDs.last!)
            }
            let insertType = try db.prepare("INSERT INTO token_types(id, token) VALUES (?, ?)")
            for e in known..<table.count {
                try insertType.bind(Int64(e), at: 1)
                try table.withKey(e) { key in try insertType.bind(String(decoding: key, as: UTF8.self), at: 2) }
                try insertType.run()
            }
            return Update(types: table.count, examplesAdded: added)
        }
    }

    /// The tokens of the index, by type id.
    public static func types(store: ExampleStore) throws -> [String] {
        var out: [String] = []
        try store.connection.prepare("SELECT token FROM token_types ORDER BY id").forEachRow { out.append($0.string(0) ?? "") }
        return out
    }

    /// Calls `body(exampleID, typeIDs)` for every indexed example whose chunk starts in
    /// `range` (all when nil), in id order.
    static func forEachExample(_ db: Connection, chunksStartingIn range: ClosedRange<Int64>? = nil,
                               _ body: (Int64, UnsafeBufferPointer<UInt32>) throws -> Void) throws {
        let st = try db.prepare(range == nil
            ? "SELECT example_ids, ends, ids FROM token_type_chunks ORDER BY first_example_id"
            : "SELECT example_ids, ends, ids FROM token_type_chunks WHERE first_example_id BETWEEN ? AND ? ORDER BY first_example_id")
        if let range { try st.bind(range.lowerBound, at: 1); try st.bind(range.upperBound, at: 2) }
        try st.forEachRow { r in
            try r.withBlob(0) { idsBlob in
                try r.withBlob(1) { endsBlob in
                    try r.withBlob(2) { typesBlob in
                        let n = idsBlob.count / 8
                        guard endsBlob.count == 4 * n, typesBlob.count % 4 == 0 else {
                            throw VocabError("token_type_chunks: a chunk's blobs disagree (\(n) examples, \(endsBlob.count / 4) ends)")
                        }
                        #if _endian(little)
                        let types = typesBlob.bindMemory(to: UInt32.self)
                        #else
                        #error("the token-type index is read in place as little-endian")
                        #endif
                        var from = 0
                        for j in 0..<n {
                            let end = Int(UInt32(littleEndian: endsBlob.loadUnaligned(fromByteOffset: 4 * j, as: UInt32.self)))
                            guard end >= from, end <= types.count else { throw VocabError("token_type_chunks: bad end offset \(end)") }
                            try body(Int64(littleEndian: idsBlob.loadUnaligned(fromByteOffset: 8 * j, as: Int64.self)),
                                     UnsafeBufferPointer(rebasing: types[from..<end]))
                            from = end
                        }
                    }
                }
            }
        }
    }
}
