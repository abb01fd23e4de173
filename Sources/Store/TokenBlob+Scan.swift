extension TokenBlob {
    /// Calls `body` with the UTF-8 bytes of each normalized token of a blob, in order, without
    /// decoding it into Strings (the vocabulary's hot path). Returns false when the blob's
    /// layout is inconsistent (nothing is reported for the inconsistent part).
    @inline(__always)
    public static func forEachNormalizedToken(_ blob: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Bool {
        guard blob.count >= 4 else { return false }
        let n = Int(Int32(littleEndian: blob.loadUnaligned(fromByteOffset: 0, as: Int32.self)))
        let endsAt = 4 + 16 * n
        let header = endsAt + 4 * (n + 1)
        guard n >= 0, blob.count >= header else { return false }
        let areaCount = blob.count - header
        var prev = Int(Int32(littleEndian: blob.loadUnaligned(fromByteOffset: endsAt, as: Int32.self)))
        guard prev == 0 else { return false }
        for i in stride(from: 1, through: n, by: 1) {
            let end = Int(Int32(littleEndian: blob.loadUnaligned(fromByteOffset: endsAt + 4 * i, as: Int32.self)))
            guard end >= prev, end <= areaCount else { return false }
            try body(UnsafeRawBufferPointer(rebasing: blob[(header + prev)..<(header + end)]))
            prev = end
        }
        return true
    }
}

extension ExampleStore {
    /// Calls `body` with (example id, tokens blob) for every example whose id lies in `range`
    /// (all when nil), in id order; the bytes are valid only inside `body`.
    public func forEachTokenBlob(range: ClosedRange<Int64>? = nil, _ body: (Int64, UnsafeRawBufferPointer) throws -> Void) throws {
        let st = try connection.prepare(range == nil
            ? "SELECT id, tokens FROM examples ORDER BY id"
            : "SELECT id, tokens FROM examples WHERE id BETWEEN ? AND ? ORDER BY id")
        if let range { try st.bind(range.lowerBound, at: 1); try st.bind(range.upperBound, at: 2) }
        try st.forEachRow { r in try r.withBlob(1) { try body(r.int64(0), $0) } }
    }
}
