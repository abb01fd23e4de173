extension TokenBlob {
    /// Calls `body` with the UTF-8 bytes of each normalized token of a blob, in order, without
    /// decoding it into Strings (the vocabulary's hot path). `text` is the example's text (the
    /// tokens of a text-slices blob are its bytes). Returns false when the blob's layout is
    /// inconsistent (nothing is reported for the inconsistent part).
    @inline(__always)
    public static func forEachNormalizedToken(_ blob: UnsafeRawBufferPointer, text: UnsafeRawBufferPointer,
                                              _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Bool {
        if let slices = textSlices(blob) {
            return try slices.walk(blob, text: text) { token in try body(token) }
        }
        guard let area = stringArea(blob) else { return false }
        return try area.walk(blob) { _, token in try body(token); return true } == nil
    }

    /// Value `k` of a layout-2 blob's integer arrays (after the 8-byte header), of width 1, 2 or 4.
    @inline(__always)
    static func compactValue(_ raw: UnsafeRawBufferPointer, _ k: Int, width: Int) -> UInt32 {
        let o = 8 + k * width
        switch width {
        case 1: return UInt32(raw[o])
        case 2: return UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
        default: return UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self))
        }
    }

    /// The token ranges of a text-slices blob (layout 2, flags bit 1), when it is one and its
    /// size is exact.
    static func textSlices(_ blob: UnsafeRawBufferPointer) -> TextSlices? {
        guard blob.count >= 8, blob[3] == compactMarker, blob[2] == 0, blob[1] & textSlicesFlag != 0,
              blob[1] & ~(1 | textSlicesFlag) == 0 else { return nil }
        let w = Int(blob[0]), same = blob[1] & 1 != 0
        guard w == 1 || w == 2 || w == 4 else { return nil }
        let n = Int(UInt32(littleEndian: blob.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        guard n <= Int(Int32.max), blob.count == 8 + (same ? 2 * n : 4 * n) * w else { return nil }
        return TextSlices(count: n, width: w)
    }

    /// Where a blob's string area lies (either layout), checking only that the header and
    /// the offsets fit; `StringArea.walk` checks the offsets themselves.
    static func stringArea(_ blob: UnsafeRawBufferPointer) -> StringArea? {
        guard blob.count >= 4 else { return nil }
        if blob[3] & 0x80 == 0 {
            let n = Int(Int32(littleEndian: blob.loadUnaligned(fromByteOffset: 0, as: Int32.self)))
            guard n >= 0, blob.count >= 4 + 16 * n + 4 * (n + 1) else { return nil }
            return StringArea(count: n, endsAt: 4 + 16 * n, width: 4, start: 4 + 16 * n + 4 * (n + 1))
        }
        guard blob.count >= 8, blob[3] == compactMarker, blob[2] == 0, blob[1] & ~1 == 0 else { return nil }  // not text slices
        let w = Int(blob[0]), same = blob[1] & 1 != 0
        guard w == 1 || w == 2 || w == 4 else { return nil }
        let n = Int(UInt32(littleEndian: blob.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        guard n <= Int(Int32.max) else { return nil }
        let endsAt = 8 + (same ? 2 * n : 4 * n) * w
        guard blob.count >= endsAt + (n + 1) * w else { return nil }
        return StringArea(count: n, endsAt: endsAt, width: w, start: endsAt + (n + 1) * w)
    }
}

/// The string area of a token blob: `count + 1` end offsets of `width` bytes (1, 2 or 4;
/// 4 read as a signed int32, as both layouts store it) from byte `endsAt`, then the tokens'
/// UTF-8 from byte `start` to the blob's end. One walk serves `decode` (both layouts) and the
/// vocabulary's scanner, so they accept and reject exactly the same blobs.
struct StringArea {
    let count: Int, endsAt: Int, width: Int, start: Int

    enum Failure {
        case firstOffset(Int), outOfRange(token: Int, end: Int, areaCount: Int), trailing(Int), rejected(token: Int)
        var message: String {
            switch self {
            case .firstOffset(let v): return "first string offset is \(v), not 0"
            case .outOfRange(let i, let end, let n): return "string offset \(end) of token \(i) out of range 0...\(n)"
            case .trailing(let k): return "\(k) trailing bytes"
            case .rejected(let i): return "token \(i) is not valid UTF-8"
            }
        }
    }

    @inline(__always)
    func offset(_ raw: UnsafeRawBufferPointer, _ i: Int) -> Int {
        let o = endsAt + i * width
        switch width {
        case 1: return Int(raw[o])
        case 2: return Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
        default: return Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int32.self)))
        }
    }

    /// Calls `body(i, bytes)` for each token in order; `body` returning false stops the walk
    /// with `.rejected(i)`. Returns nil when every offset is valid and the area is used exactly.
    @inline(__always)
    func walk(_ raw: UnsafeRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer) throws -> Bool) rethrows -> Failure? {
        let areaCount = raw.count - start
        var prev = offset(raw, 0)
        guard prev == 0 else { return .firstOffset(prev) }
        for i in 0..<count {
            let end = offset(raw, i + 1)
            guard end >= prev, end <= areaCount else { return .outOfRange(token: i, end: end, areaCount: areaCount) }
            guard try body(i, UnsafeRawBufferPointer(rebasing: raw[(start + prev)..<(start + end)])) else { return .rejected(token: i) }
            prev = end
        }
        return prev == areaCount ? nil : .trailing(areaCount - prev)
    }
}

/// The UTF-8 ranges of a text-slices blob's tokens (the first `2 × count` values after the
/// header), walked against the example's text.
struct TextSlices {
    let count: Int, width: Int

    /// Calls `body` with each token's bytes of `text`; false when a range is reversed or
    /// outside the text.
    @inline(__always)
    func walk(_ raw: UnsafeRawBufferPointer, text: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows -> Bool {
        for i in 0..<count {
            let start = value(raw, 2 * i), end = value(raw, 2 * i + 1)
            guard start <= end, end <= text.count else { return false }
            try body(UnsafeRawBufferPointer(rebasing: text[start..<end]))
        }
        return true
    }

    @inline(__always)
    private func value(_ raw: UnsafeRawBufferPointer, _ k: Int) -> Int { Int(TokenBlob.compactValue(raw, k, width: width)) }
}

extension ExampleStore {
    /// Calls `body` with (example id, tokens blob, text's UTF-8) for every example whose id lies
    /// in `range` (all when nil), in id order; the bytes are valid only inside `body`.
    public func forEachTokenBlob(range: ClosedRange<Int64>? = nil,
                                 _ body: (Int64, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
        let st = try connection.prepare(range == nil
            ? "SELECT id, tokens, text FROM examples ORDER BY id"
            : "SELECT id, tokens, text FROM examples WHERE id BETWEEN ? AND ? ORDER BY id")
        if let range { try st.bind(range.lowerBound, at: 1); try st.bind(range.upperBound, at: 2) }
        try st.forEachRow { r in try r.withBlob(1) { blob in try r.withBlob(2) { text in try body(r.int64(0), blob, text) } } }
    }
}
