/// Where one token lies in the ORIGINAL text: `[start, end)` in Unicode scalars and in
/// UTF-8 bytes.
public struct TokenSpan: Sendable, Hashable {
    public var scalarStart: Int32
    public var scalarEnd: Int32
    public var utf8Start: Int32
    public var utf8End: Int32
    public init(scalarStart: Int32, scalarEnd: Int32, utf8Start: Int32, utf8End: Int32) {
        self.scalarStart = scalarStart; self.scalarEnd = scalarEnd
        self.utf8Start = utf8Start; self.utf8End = utf8End
    }
}

/// The tokens of one example, decoded from a `TokenBlob`.
public struct DecodedTokens: Sendable, Hashable {
    /// Offsets of each token in the original text.
    public var spans: [TokenSpan]
    /// The normalized text of each token.
    public var tokens: [String]
    public var count: Int { spans.count }
}

/// The `examples.tokens` blob: a compact, numpy-readable layout of a tokenized text.
///
/// All integers are little-endian int32:
/// ```
/// N                                   token count
/// N × (scalarStart, scalarEnd,        offsets into the ORIGINAL text,
///      utf8Start, utf8End)            [start, end) in Unicode scalars and UTF-8 bytes
/// N+1 × byteOffset                    into the string area; token i is area[off[i]..<off[i+1]]
/// string area                         UTF-8 of the normalized tokens, concatenated
/// ```
/// Reading it in Python:
/// ```python
/// n = int(np.frombuffer(b, '<i4', 1)[0])
/// spans = np.frombuffer(b, '<i4', 4 * n, 4).reshape(n, 4)
/// ends = np.frombuffer(b, '<i4', n + 1, 4 + 16 * n)
/// area = b[4 + 16 * n + 4 * (n + 1):]
/// tokens = [area[ends[i]:ends[i + 1]].decode() for i in range(n)]
/// ```
public enum TokenBlob {
    /// Encodes spans and normalized token strings (same count).
    public static func encode(spans: [TokenSpan], tokens: [String]) -> [UInt8] {
        precondition(spans.count == tokens.count, "one span per token")
        var b = Builder(capacity: spans.count)
        for (s, t) in zip(spans, tokens) { b.append(s, normalized: t) }
        return b.finish()
    }

    /// Accumulates tokens and produces the blob; reuse one builder per thread with `reset()`.
    public struct Builder: Sendable {
        private var spans: [Int32] = []
        private var ends: [Int32] = [0]
        private var area: [UInt8] = []

        public init(capacity: Int = 64) {
            spans.reserveCapacity(capacity * 4)
            ends.reserveCapacity(capacity + 1)
            area.reserveCapacity(capacity * 8)
        }

        public var count: Int { ends.count - 1 }

        public mutating func reset() {
            spans.removeAll(keepingCapacity: true)
            ends.removeAll(keepingCapacity: true); ends.append(0)
            area.removeAll(keepingCapacity: true)
        }

        /// Appends a token whose normalized form is given as UTF-8 bytes.
        public mutating func append<C: Collection>(_ span: TokenSpan, normalizedUTF8: C) where C.Element == UInt8 {
            spans.append(span.scalarStart); spans.append(span.scalarEnd)
            spans.append(span.utf8Start); spans.append(span.utf8End)
            area.append(contentsOf: normalizedUTF8)
            ends.append(Int32(area.count))
        }

        /// Appends a token whose normalized form is given as UTF-8 bytes (the non-generic hot
        /// path: the generic one is not specialized across module boundaries).
        public mutating func append(_ span: TokenSpan, normalizedUTF8 bytes: UnsafeBufferPointer<UInt8>) {
            spans.append(span.scalarStart); spans.append(span.scalarEnd)
            spans.append(span.utf8Start); spans.append(span.utf8End)
            area.append(contentsOf: bytes)
            ends.append(Int32(area.count))
        }

        public mutating func append(_ span: TokenSpan, normalized: String) {
            append(span, normalizedUTF8: normalized.utf8)
        }

        /// The finished blob.
        public func finish() -> [UInt8] {
            let n = count
            let total = 4 + 16 * n + 4 * (n + 1) + area.count
            return [UInt8](unsafeUninitializedCapacity: total) { buf, initialized in
                let raw = UnsafeMutableRawBufferPointer(buf)
                raw.storeBytes(of: Int32(n).littleEndian, toByteOffset: 0, as: Int32.self)
                var o = 4
                for v in spans { raw.storeBytes(of: v.littleEndian, toByteOffset: o, as: Int32.self); o += 4 }
                for v in ends { raw.storeBytes(of: v.littleEndian, toByteOffset: o, as: Int32.self); o += 4 }
                if !area.isEmpty {
                    area.withUnsafeBytes { raw.baseAddress!.advanced(by: o).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                }
                initialized = total
            }
        }
    }

    /// The token count stored in a blob, without decoding it (nil when too short).
    public static func tokenCount(_ blob: [UInt8]) -> Int? {
        guard blob.count >= 4 else { return nil }
        return blob.withUnsafeBytes { Int(Int32(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: Int32.self))) }
    }

    /// Decodes a blob, checking its layout.
    public static func decode(_ blob: [UInt8]) throws(StoreError) -> DecodedTokens {
        func bad(_ m: String) -> StoreError { StoreError(kind: .malformedBlob, message: "token blob: " + m) }
        guard let n = tokenCount(blob), n >= 0 else { throw bad("shorter than its 4-byte header") }
        let header = 4 + 16 * n + 4 * (n + 1)
        guard blob.count >= header else { throw bad("\(blob.count) bytes, \(n) tokens need at least \(header)") }
        let areaCount = blob.count - header
        let result = blob.withUnsafeBytes { (raw) -> Result<DecodedTokens, StoreError> in
            func i32(_ o: Int) -> Int32 { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int32.self)) }
            var spans: [TokenSpan] = []; spans.reserveCapacity(n)
            var tokens: [String] = []; tokens.reserveCapacity(n)
            for i in 0..<n {
                let o = 4 + 16 * i
                spans.append(TokenSpan(scalarStart: i32(o), scalarEnd: i32(o + 4), utf8Start: i32(o + 8), utf8End: i32(o + 12)))
            }
            let endsAt = 4 + 16 * n
            var prev = Int(i32(endsAt))
            guard prev == 0 else { return .failure(bad("first string offset is \(prev), not 0")) }
            for i in 0..<n {
                let end = Int(i32(endsAt + 4 * (i + 1)))
                guard end >= prev, end <= areaCount else { return .failure(bad("string offset \(end) of token \(i) out of range 0...\(areaCount)")) }
                let bytes = UnsafeRawBufferPointer(rebasing: raw[(header + prev)..<(header + end)])
                guard let s = String(validating: bytes.bindMemory(to: UInt8.self), as: UTF8.self) else {
                    return .failure(bad("token \(i) is not valid UTF-8"))
                }
                tokens.append(s)
                prev = end
            }
            guard prev == areaCount else { return .failure(bad("\(areaCount - prev) trailing bytes")) }
            return .success(DecodedTokens(spans: spans, tokens: tokens))
        }
        return try result.get()
    }
}
