extension TokenBlob {
    /// Calls `body` with the UTF-8 bytes of each normalized token of a blob, in order, without
    /// decoding it into Strings (the vocabulary's hot path). Returns false when the blob's
    /// layout is inconsistent (nothing is reported for the inconsistent part).
    @inline(__always)
    public static func forEachNormalizedToken(_ blob: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Bool {
        guard blob.count >= 4 else { return false }
        if blob[3] & 0x80 != 0 { return try forEachCompact(blob, body) }
        let n = Int(Int32(littleEndian: blob.loadUnaligned(fromByteOffset: 0, as: Int32.self)))
        guard n >= 0 else { return false }
        let endsAt = 4 + 16 * n
        let header = endsAt + 4 * (n + 1)
        guard blob.count >= header else { return false }
        let areaCount = blob.count - header
        var prev = Int(Int32(littleEndian: blob.loadUnaligned(fromByteOffset: endsAt, as: Int32.self)))
        guard prev == 0 else { return false }
        for i in stride(from: 1, through: n, by: 1) {
            let end = Int(Int32(littleEndian: blob.loadUnaligned(fromByteOffset: endsAt + 4 * i, as: Int32.self)))
            guard end >= prev, end <= areaCount else { return false }
            try body(UnsafeRawBufferPointer(rebasing: blob[(header + prev)..<(header + end)]))
            prev = end
        }
        return prev == areaCount
    }

    /// Layout 2 (see `TokenBlob`): header, offsets of width w, string ends, string area.
    private static func forEachCompact(_ blob: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Bool {
        guard blob.count >= 8, blob[2] == 0 else { return false }
        let w = Int(blob[0]), same = blob[1] & 1 != 0
        guard w == 1 || w == 2 || w == 4 else { return false }
        let n = Int(UInt32(littleEndian: blob.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        let endsAt = 8 + (same ? 2 * n : 4 * n) * w
        let areaStart = endsAt + (n + 1) * w
        guard n <= Int(Int32.max), blob.count >= areaStart else { return false }
        @inline(__always) func end(_ i: Int) -> Int {
            let o = endsAt + i * w
            switch w {
            case 1: return Int(blob[o])
            case 2: return Int(UInt16(littleEndian: blob.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
            default: return Int(UInt32(littleEndian: blob.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
            }
        }
        let areaCount = blob.count - areaStart
        var prev = end(0)
        guard prev == 0 else { return false }
        for i in stride(from: 1, through: n, by: 1) {
            let e = end(i)
            guard e >= prev, e <= areaCount else { return false }
            try body(UnsafeRawBufferPointer(rebasing: blob[(areaStart + prev)..<(areaStart + e)]))
            prev = e
        }
        return prev == areaCount
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
