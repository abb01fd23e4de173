// Range reads for the batching stage: everything a loader needs about the examples whose ids
// lie in one block `[lo, hi]`, read without the text and without building arrays per row.
// Every query walks a key in example-id order (`split_assignments(split_id,
// example_id)`, `encoded(vocab_id, example_id)`, `annotations(example_id, task_id)`), so a
// block costs one index seek and a short sequential scan whatever the store's size.

extension ExampleStore {
    /// The smallest and largest example id, nil for an empty store.
    public func exampleIDBounds() throws -> ClosedRange<Int64>? {
        let st = try connection.cached("SELECT MIN(id), MAX(id) FROM examples")
        defer { st.reset() }
        guard try st.step(), !st.isNull(0) else { return nil }
        return st.int64(0)...st.int64(1)
    }

    /// Calls `body(exampleID, part, fold)` for the assignments of a split whose example ids
    /// lie in `range` (all when nil), in example-id order; `fold` is -1 when NULL.
    public func forEachAssignment(splitID: Int64, range: ClosedRange<Int64>? = nil,
                                  _ body: (Int64, SplitPart, Int32) throws -> Void) throws {
        let st = try connection.cached(range == nil
            ? "SELECT example_id, part, fold FROM split_assignments WHERE split_id = ?1 ORDER BY example_id"
            : "SELECT example_id, part, fold FROM split_assignments WHERE split_id = ?1 AND example_id BETWEEN ?2 AND ?3 ORDER BY example_id")
        try st.bind(splitID, at: 1)
        if let range { try st.bind(range.lowerBound, at: 2); try st.bind(range.upperBound, at: 3) }
        try st.forEachRow { r in
            let part: SplitPart = r.withBlob(1) { b in
                if b.first == UInt8(ascii: "d") { return .dev }
                return b.count > 1 && b[1] == UInt8(ascii: "e") ? .test : .train
            }
            try body(r.int64(0), part, r.isNull(2) ? -1 : Int32(truncatingIfNeeded: r.int64(2)))
        }
    }

    /// Calls `body(exampleID, rawIDs)` for the encoded examples of a vocabulary whose ids lie
    /// in `range`, in example-id order. `rawIDs` holds little-endian integers of the
    /// vocabulary's `idWidth` (2: uint16, 4: int32) and is valid only inside `body`.
    public func forEachEncodedBlob(vocabID: Int64, range: ClosedRange<Int64>,
                                   _ body: (Int64, UnsafeRawBufferPointer) throws -> Void) throws {
        let st = try connection.cached("SELECT example_id, ids FROM encoded WHERE vocab_id = ?1 AND example_id BETWEEN ?2 AND ?3 ORDER BY example_id")
        try st.bind(vocabID, at: 1)
        try st.bind(range.lowerBound, at: 2)
        try st.bind(range.upperBound, at: 3)
        try st.forEachRow { r in try r.withBlob(1) { try body(r.int64(0), $0) } }
    }

    /// Calls `body(exampleID, taskID, value)` for every annotation of the examples whose ids
    /// lie in `range` (all when nil), in (example id, task id) order. `value` is the raw
    /// `AnnotationValue` blob (little-endian int32), valid only inside `body`.
    public func forEachAnnotationBlob(range: ClosedRange<Int64>? = nil,
                                      _ body: (Int64, Int64, UnsafeRawBufferPointer) throws -> Void) throws {
        let st = try connection.cached(range == nil
            ? "SELECT example_id, task_id, value FROM annotations ORDER BY example_id, task_id"
            : "SELECT example_id, task_id, value FROM annotations WHERE example_id BETWEEN ?1 AND ?2 ORDER BY example_id, task_id")
        if let range { try st.bind(range.lowerBound, at: 1); try st.bind(range.upperBound, at: 2) }
        try st.forEachRow { r in try r.withBlob(2) { try body(r.int64(0), r.int64(1), $0) } }
    }
}

extension ExampleStore {
    /// The id of a token in a vocabulary (e.g. `<pad>`), nil when absent.
    public func vocabTokenID(vocabID: Int64, token: String) throws -> Int32? {
        let st = try connection.cached("SELECT id FROM vocab_entries WHERE vocab_id = ?1 AND kind = 'token' AND token = ?2")
        try st.bind(vocabID, at: 1)
        try st.bind(token, at: 2)
        defer { st.reset() }
        return try st.step() ? Int32(truncatingIfNeeded: st.int64(0)) : nil
    }
}
