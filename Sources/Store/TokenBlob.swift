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
/// Two layouts exist; the first four bytes tell them apart (byte 3 ≥ 0x80: layout 2).
///
/// **Layout 2** (compact, what imports write since schema version 3). An 8-byte header, then
/// arrays of unsigned little-endian integers of one width `w` (1, 2 or 4 bytes: the smallest
/// that holds every offset of the blob):
/// ```
/// u8 w, u8 flags, u8 0, u8 0x82      flags bit 0: scalar offsets equal UTF-8 offsets (not stored)
///                                    flags bit 1: tokens are slices of the text (no string area)
/// u32 N                              token count
/// N × (utf8Start, utf8End)           [start, end) in UTF-8 bytes of the ORIGINAL text
/// N × (scalarStart, scalarEnd)       [start, end) in Unicode scalars; absent when flags bit 0
/// N+1 × byteOffset                   into the string area; token i is area[off[i]..<off[i+1]]
/// string area                        UTF-8 of the normalized tokens, concatenated
/// ```
/// With flags bit 1 (schema version 5) the last two parts are absent: normalization left the
/// text unchanged, so token i is `text[utf8Start..<utf8End]` of the example's own text — most
/// text is already normalized, and this halves what a token costs to store. Readers need the
/// text (`decode(_:text:)`).
/// **Layout 1** (older stores; `Builder.finish()`, `encode`). All integers little-endian int32:
/// ```
/// N                                   token count
/// N × (scalarStart, scalarEnd,        offsets into the ORIGINAL text,
///      utf8Start, utf8End)            [start, end) in Unicode scalars and UTF-8 bytes
/// N+1 × byteOffset                    into the string area; token i is area[off[i]..<off[i+1]]
/// string area                         UTF-8 of the normalized tokens, concatenated
/// ```
/// Reading both in Python: see the README ("The store", "Reading it from Python").
public enum TokenBlob {
    /// Encodes spans and normalized token strings (same count).
    public static func encode(spans: [TokenSpan], tokens: [String]) -> [UInt8] {
        precondition(spans.count == tokens.count, "one span per token")
        var b = Builder(capacity: spans.count)
        for (s, t) in zip(spans, tokens) { b.append(s, normalized: t) }
        return b.finish()
    }

    /// Encodes spans and normalized token strings (same count) in layout 2.
    public static func encodeCompact(spans: [TokenSpan], tokens: [String]) -> [UInt8] {
        precondition(spans.count == tokens.count, "one span per token")
        var b = Builder(capacity: spans.count)
        for (s, t) in zip(spans, tokens) { b.append(s, normalized: t) }
        return b.finishCompact()
    }

    /// Byte 3 of a layout-2 blob (a layout-1 blob starts with a non-negative int32 count,
    /// so its byte 3 is below 0x80).
    public static let compactMarker: UInt8 = 0x82

    /// Flags bit 1 of layout 2: the tokens are slices of the example's text.
    public static let textSlicesFlag: UInt8 = 2

    /// Accumulates tokens and produces the blob; reuse one builder per thread with `reset()`.
    ///
    /// Tokens are appended either all with their normalized bytes (`append(_:normalizedUTF8:)`)
    /// or all as slices of the text (`appendSlice`, layout 2 only).
    public struct Builder: Sendable {
        private var spans: [Int32] = []
        private var ends: [Int32] = [0]
        private var area: [UInt8] = []
        private var slices = 0

        public init(capacity: Int = 64) {
            spans.reserveCapacity(capacity * 4)
            ends.reserveCapacity(capacity + 1)
            area.reserveCapacity(capacity * 8)
        }

        public var count: Int { ends.count - 1 }

        public mutating func reset() {
            slices = 0
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

        /// Appends a token whose normalized form is the text's own bytes at `span`'s UTF-8 range.
        public mutating func appendSlice(_ span: TokenSpan) {
            spans.append(span.scalarStart); spans.append(span.scalarEnd)
            spans.append(span.utf8Start); spans.append(span.utf8End)
            slices += 1
        }

        /// The finished blob in layout 2 (compact).
        public func finishCompact() -> [UInt8] {
            var out: [UInt8] = []
            appendCompact(to: &out)
            return out
        }

        /// Appends the finished blob in layout 2 to `out`; returns its size in bytes.
        @discardableResult
        public func appendCompact(to out: inout [UInt8]) -> Int {
            let n = spans.count / 4
            precondition(slices == 0 || slices == n, "a blob's tokens are all slices of the text or none is")
            let textSlices = n > 0 && slices == n
            var maxValue: UInt32 = UInt32(area.count)
            var sameScalars = true
            spans.withUnsafeBufferPointer { s in
                var i = 0
                while i < s.count {
                    sameScalars = sameScalars && s[i] == s[i + 2] && s[i + 1] == s[i + 3]
                    maxValue = max(maxValue, UInt32(bitPattern: s[i]), UInt32(bitPattern: s[i + 1]),
                                   UInt32(bitPattern: s[i + 2]), UInt32(bitPattern: s[i + 3]))
                    i += 4
                }
            }
            let w = maxValue <= 0xFF ? 1 : maxValue <= 0xFFFF ? 2 : 4
            let values = (sameScalars ? 2 * n : 4 * n) + (textSlices ? 0 : n + 1)
            let total = 8 + w * values + area.count
            let base = out.count
            out.append(contentsOf: repeatElement(0, count: total))
            out.withUnsafeMutableBytes { whole in
                let raw = UnsafeMutableRawBufferPointer(rebasing: whole[base..<(base + total)])
                var writer = CompactWriter(raw, width: w, flags: (sameScalars ? 1 : 0) | (textSlices ? TokenBlob.textSlicesFlag : 0), count: n)
                spans.withUnsafeBufferPointer { s in
                    for i in 0..<n { writer.put(s[4 * i + 2]); writer.put(s[4 * i + 3]) }
                    if !sameScalars { for i in 0..<n { writer.put(s[4 * i]); writer.put(s[4 * i + 1]) } }
                }
                if !textSlices { ends.withUnsafeBufferPointer { e in for v in e { writer.put(v) } } }
                if !area.isEmpty {
                    area.withUnsafeBytes { raw.baseAddress!.advanced(by: writer.offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                }
            }
            return total
        }

        /// The finished blob in layout 1.
        public func finish() -> [UInt8] {
            precondition(slices == 0, "layout 1 stores every token's string")
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

    /// Appends a layout-2 blob of `count` tokens that are slices of the text (flags bit 1):
    /// the bulk path of `Builder.appendSlice` + `appendCompact`, written in place in two passes
    /// over `span` (inlinable, so the closure is specialized away in the caller). Returns the
    /// blob's size in bytes.
    @inlinable @discardableResult
    public static func appendCompactSlices(count n: Int, to out: inout [UInt8], span: (Int) -> TokenSpan) -> Int {
        if n == 0 {
            // No tokens: the one empty blob (what `Builder` writes), which needs no text.
            out.append(contentsOf: [1, 1, 0, compactMarker, 0, 0, 0, 0, 0])
            return 9
        }
        var maxValue: UInt32 = 0
        var sameScalars = true
        for i in 0..<n {
            let s = span(i)
            sameScalars = sameScalars && s.scalarStart == s.utf8Start && s.scalarEnd == s.utf8End
            maxValue = max(maxValue, UInt32(bitPattern: s.utf8End), UInt32(bitPattern: s.scalarEnd))
        }
        let w = maxValue <= 0xFF ? 1 : maxValue <= 0xFFFF ? 2 : 4
        let total = 8 + w * (sameScalars ? 2 * n : 4 * n)
        let base = out.count
        out.append(contentsOf: repeatElement(0, count: total))
        out.withUnsafeMutableBytes { whole in
            let raw = UnsafeMutableRawBufferPointer(rebasing: whole[base..<(base + total)])
            var writer = CompactWriter(raw, width: w, flags: (sameScalars ? 1 : 0) | textSlicesFlag, count: n)
            for i in 0..<n { let s = span(i); writer.put(s.utf8Start); writer.put(s.utf8End) }
            if !sameScalars { for i in 0..<n { let s = span(i); writer.put(s.scalarStart); writer.put(s.scalarEnd) } }
        }
        return total
    }

    /// The token count stored in a blob, without decoding it (nil when too short).
    public static func tokenCount(_ blob: [UInt8]) -> Int? {
        blob.withUnsafeBytes { tokenCount($0) }
    }

    /// The token count stored in a blob (either layout), without decoding it (nil when too short).
    public static func tokenCount(_ blob: UnsafeRawBufferPointer) -> Int? {
        guard blob.count >= 4 else { return nil }
        if blob[3] & 0x80 != 0 {
            guard blob.count >= 8 else { return nil }
            return Int(UInt32(littleEndian: blob.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        }
        return Int(Int32(littleEndian: blob.loadUnaligned(fromByteOffset: 0, as: Int32.self)))
    }

    /// True when the blob is in layout 2 (compact).
    public static func isCompact(_ blob: [UInt8]) -> Bool { blob.count >= 4 && blob[3] & 0x80 != 0 }

    /// Decodes a blob of either layout, checking it. `text` is the example's text, which a blob
    /// of text slices (flags bit 1) takes its token strings from.
    public static func decode(_ blob: [UInt8], text: String? = nil) throws(StoreError) -> DecodedTokens {
        func bad(_ m: String) -> StoreError { StoreError(kind: .malformedBlob, message: "token blob: " + m) }
        if isCompact(blob) { return try decodeCompact(blob, text: text) }
        guard let n = tokenCount(blob), n >= 0 else { throw bad("shorter than its 4-byte header") }
        let header = 4 + 16 * n + 4 * (n + 1)
        guard blob.count >= header else { throw bad("\(blob.count) bytes, \(n) tokens need at least \(header)") }
        let result = blob.withUnsafeBytes { (raw) -> Result<DecodedTokens, StoreError> in
            func i32(_ o: Int) -> Int32 { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int32.self)) }
            var spans: [TokenSpan] = []; spans.reserveCapacity(n)
            var tokens: [String] = []; tokens.reserveCapacity(n)
            for i in 0..<n {
                let o = 4 + 16 * i
                spans.append(TokenSpan(scalarStart: i32(o), scalarEnd: i32(o + 4), utf8Start: i32(o + 8), utf8End: i32(o + 12)))
            }
            let area = StringArea(count: n, endsAt: 4 + 16 * n, width: 4, start: header)
            if let failure = area.walk(raw, { _, bytes in
                guard let s = String(validating: bytes.bindMemory(to: UInt8.self), as: UTF8.self) else { return false }
                tokens.append(s)
                return true
            }) { return .failure(bad(failure.message)) }
            return .success(DecodedTokens(spans: spans, tokens: tokens))
        }
        return try result.get()
    }

    private static func decodeCompact(_ blob: [UInt8], text: String?) throws(StoreError) -> DecodedTokens {
        func bad(_ m: String) -> StoreError { StoreError(kind: .malformedBlob, message: "token blob: " + m) }
        guard blob.count >= 8 else { throw bad("shorter than its 8-byte header") }
        let w = Int(blob[0]), flags = blob[1]
        guard blob[3] == compactMarker, blob[2] == 0 else { throw bad("unknown layout marker \(blob[3]), \(blob[2])") }
        guard w == 1 || w == 2 || w == 4 else { throw bad("offset width \(w) is not 1, 2 or 4") }
        guard flags & ~(1 | textSlicesFlag) == 0 else { throw bad("unknown flags \(flags)") }
        let same = flags & 1 != 0, textSlices = flags & textSlicesFlag != 0
        let n = tokenCount(blob)!
        let values = (same ? 2 * n : 4 * n) + (textSlices ? 0 : n + 1)
        let (header, overflow) = values.multipliedReportingOverflow(by: w)
        guard !overflow, n <= Int(Int32.max), blob.count >= 8 + header else {
            throw bad("\(blob.count) bytes, \(n) tokens of width \(w) need at least \(8 &+ header)")
        }
        let areaStart = 8 + header
        let result = blob.withUnsafeBytes { (raw) -> Result<DecodedTokens, StoreError> in
            func at(_ k: Int) -> Int32 { Int32(bitPattern: compactValue(raw, k, width: w)) }
            var spans: [TokenSpan] = []; spans.reserveCapacity(n)
            var tokens: [String] = []; tokens.reserveCapacity(n)
            let scalarsAt = same ? 0 : 2 * n
            for i in 0..<n {
                spans.append(TokenSpan(scalarStart: at(scalarsAt + 2 * i), scalarEnd: at(scalarsAt + 2 * i + 1),
                                       utf8Start: at(2 * i), utf8End: at(2 * i + 1)))
            }
            if textSlices {
                guard blob.count == areaStart else { return .failure(bad("\(blob.count - areaStart) trailing bytes")) }
                guard var text else { return .failure(bad("its tokens are slices of the example's text, which was not given")) }
                let failure: String? = text.withUTF8 { utf8 in
                    for (i, s) in spans.enumerated() {
                        guard s.utf8Start >= 0, s.utf8Start <= s.utf8End, Int(s.utf8End) <= utf8.count else {
                            return "token \(i) at UTF-8 \(s.utf8Start)..<\(s.utf8End) is outside the \(utf8.count)-byte text"
                        }
                        guard let token = String(validating: UnsafeBufferPointer(rebasing: utf8[Int(s.utf8Start)..<Int(s.utf8End)]), as: UTF8.self) else {
                            return "token \(i) does not fall on character boundaries of the text"
                        }
                        tokens.append(token)
                    }
                    return nil
                }
                if let failure { return .failure(bad(failure)) }
                return .success(DecodedTokens(spans: spans, tokens: tokens))
            }
            let area = StringArea(count: n, endsAt: 8 + (same ? 2 * n : 4 * n) * w, width: w, start: areaStart)
            if let failure = area.walk(raw, { _, bytes in
                guard let s = String(validating: bytes.bindMemory(to: UInt8.self), as: UTF8.self) else { return false }
                tokens.append(s)
                return true
            }) { return .failure(bad(failure.message)) }
            return .success(DecodedTokens(spans: spans, tokens: tokens))
        }
        return try result.get()
    }
}

/// Writes a layout-2 header, then values of the blob's one width, into a blob's bytes: shared by
/// `Builder.appendCompact` and `appendCompactSlices`.
@usableFromInline
struct CompactWriter {
    @usableFromInline let raw: UnsafeMutableRawBufferPointer
    @usableFromInline let width: Int
    /// Where the next value goes (after the 8-byte header).
    @usableFromInline var offset = 8

    @inlinable
    init(_ raw: UnsafeMutableRawBufferPointer, width: Int, flags: UInt8, count: Int) {
        self.raw = raw; self.width = width
        raw[0] = UInt8(width); raw[1] = flags; raw[2] = 0; raw[3] = TokenBlob.compactMarker
        raw.storeBytes(of: UInt32(count).littleEndian, toByteOffset: 4, as: UInt32.self)
    }

    @inlinable @inline(__always)
    mutating func put(_ v: Int32) {
        let u = UInt32(bitPattern: v)
        switch width {
        case 1: raw[offset] = UInt8(truncatingIfNeeded: u)
        case 2: raw.storeBytes(of: UInt16(truncatingIfNeeded: u).littleEndian, toByteOffset: offset, as: UInt16.self)
        default: raw.storeBytes(of: u.littleEndian, toByteOffset: offset, as: UInt32.self)
        }
        offset += width
    }
}
