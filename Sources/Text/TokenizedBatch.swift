import CICU

/// Many tokenized texts in a few contiguous arrays: the form in which a thread hands a chunk of
/// work on to another.
///
/// A ``TokenizedText`` per line costs two or three heap objects; when a worker thread makes them
/// and another thread frees them, the allocator's cross-thread frees cost as much as tokenizing
/// short lines. A batch holds all original bytes in one array, all normalized bytes in another
/// and all tokens in a third, so a chunk of a thousand lines crosses threads as four objects.
///
/// ```swift
/// var batch = TokenizedBatch()
/// for line in lines { try processor.tokenize(line, into: &batch) }
/// for i in 0..<batch.count {
///     for token in batch.tokens(of: i) { use(batch.normalizedBytes(of: token, in: i)) }
/// }
/// ```
public struct TokenizedBatch: Sendable {
    /// Every text's original UTF-8, concatenated.
    public private(set) var originalBytes: [UInt8] = []
    /// Every text's normalized UTF-8, concatenated (a text that normalization left unchanged is not
    /// copied again: its normalized bytes are its original bytes).
    public private(set) var normalizedBytes: [UInt8] = []
    /// Every text's tokens, concatenated; offsets are relative to their own text.
    public private(set) var allTokens: [Token] = []
    private var entries: [Entry] = []

    struct Entry: Sendable {
        var originalStart: Int
        var originalEnd: Int
        /// -1 when the normalized text is the original text.
        var normalizedStart: Int
        var normalizedEnd: Int
        var tokenStart: Int
        var tokenEnd: Int
    }

    public init() {}

    /// Reserves room for about `texts` texts of `bytes` bytes in all.
    public mutating func reserveCapacity(texts: Int, bytes: Int) {
        entries.reserveCapacity(texts)
        originalBytes.reserveCapacity(bytes)
        normalizedBytes.reserveCapacity(bytes / 4)
        allTokens.reserveCapacity(bytes / 4)
    }

    /// Number of texts.
    public var count: Int { entries.count }

    /// The tokens of text `index`.
    public func tokens(of index: Int) -> ArraySlice<Token> {
        allTokens[entries[index].tokenStart..<entries[index].tokenEnd]
    }

    /// The original UTF-8 of text `index`.
    public func originalBytes(of index: Int) -> ArraySlice<UInt8> {
        originalBytes[entries[index].originalStart..<entries[index].originalEnd]
    }

    /// The normalized UTF-8 of text `index`.
    public func normalizedBytes(of index: Int) -> ArraySlice<UInt8> {
        let entry = entries[index]
        return entry.normalizedStart < 0 ? originalBytes[entry.originalStart..<entry.originalEnd]
                                         : normalizedBytes[entry.normalizedStart..<entry.normalizedEnd]
    }

    /// The normalized UTF-8 of one token of text `index`.
    public func normalizedBytes(of token: Token, in index: Int) -> ArraySlice<UInt8> {
        let entry = entries[index]
        let base = entry.normalizedStart < 0 ? entry.originalStart : entry.normalizedStart
        let bytes = entry.normalizedStart < 0 ? originalBytes : normalizedBytes
        return bytes[(base + Int(token.normalizedStart))..<(base + Int(token.normalizedEnd))]
    }

    /// Text `index` as a standalone ``TokenizedText`` (allocates; for convenience, not for hot loops).
    public func text(_ index: Int) -> TokenizedText {
        TokenizedText(original: String(decoding: originalBytes(of: index), as: UTF8.self),
                      normalized: String(decoding: normalizedBytes(of: index), as: UTF8.self),
                      tokens: Array(tokens(of: index)))
    }

    /// Appends a text tokenized on its own.
    public mutating func append(_ text: TokenizedText) {
        let originalStart = originalBytes.count
        originalBytes.append(contentsOf: text.original.utf8)
        let normalizedStart = normalizedBytes.count
        normalizedBytes.append(contentsOf: text.normalized.utf8)
        let tokenStart = allTokens.count
        allTokens.append(contentsOf: text.tokens)
        entries.append(Entry(originalStart: originalStart, originalEnd: originalBytes.count,
                             normalizedStart: normalizedStart, normalizedEnd: normalizedBytes.count,
                             tokenStart: tokenStart, tokenEnd: allTokens.count))
    }

    // MARK: - Appending (used by TextProcessor)

    /// Whether a C `MTLToken` has a ``Token``'s layout (same stride, every field at the same offset,
    /// the kind's low byte where ``Token/kind`` is on this little-endian machine), so that tokens
    /// can be copied in bulk. Checked once; when it fails, tokens are converted one by one.
    static let tokenLayoutMatchesC: Bool = {
        let one = 1 as UInt16
        let littleEndian = withUnsafeBytes(of: one) { $0[0] == 1 }
        return littleEndian && MemoryLayout<Token>.stride == MemoryLayout<MTLToken>.stride
            && MemoryLayout<Token>.offset(of: \.scalarStart) == MemoryLayout<MTLToken>.offset(of: \.scalar_start)
            && MemoryLayout<Token>.offset(of: \.scalarEnd) == MemoryLayout<MTLToken>.offset(of: \.scalar_end)
            && MemoryLayout<Token>.offset(of: \.utf8Start) == MemoryLayout<MTLToken>.offset(of: \.utf8_start)
            && MemoryLayout<Token>.offset(of: \.utf8End) == MemoryLayout<MTLToken>.offset(of: \.utf8_end)
            && MemoryLayout<Token>.offset(of: \.normalizedStart) == MemoryLayout<MTLToken>.offset(of: \.normalized_start)
            && MemoryLayout<Token>.offset(of: \.normalizedEnd) == MemoryLayout<MTLToken>.offset(of: \.normalized_end)
            && MemoryLayout<Token>.offset(of: \.kind) == MemoryLayout<MTLToken>.offset(of: \.kind)
            && MemoryLayout<TokenKind>.size == 1 && TokenKind.allCases.count == Int(MTL_CLASS_OTHER.rawValue) + 1
    }()

    /// `normalized` holds the text's normalized UTF-8 (ignored when `unchanged`). Every token's
    /// kind must be an `MTL_CLASS_*` value (they are `TokenKind`'s raw values).
    mutating func append(original: UnsafeBufferPointer<UInt8>, normalized: UnsafeBufferPointer<UInt8>,
                         unchanged: Bool, tokens: UnsafeBufferPointer<MTLToken>) {
        let originalStart = originalBytes.count
        originalBytes.append(contentsOf: original)
        var normalizedStart = -1, normalizedEnd = -1
        if !unchanged {
            normalizedStart = normalizedBytes.count
            normalizedBytes.append(contentsOf: normalized)
            normalizedEnd = normalizedBytes.count
        }
        let tokenStart = allTokens.count
        if Self.tokenLayoutMatchesC {
            tokens.withMemoryRebound(to: Token.self) { allTokens.append(contentsOf: $0) }
        } else {
            allTokens.append(contentsOf: tokens.lazy.map(Token.init))
        }
        entries.append(Entry(originalStart: originalStart, originalEnd: originalBytes.count,
                             normalizedStart: normalizedStart, normalizedEnd: normalizedEnd,
                             tokenStart: tokenStart, tokenEnd: allTokens.count))
    }
}
