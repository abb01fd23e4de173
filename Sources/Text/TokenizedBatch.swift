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

    mutating func append(original: UnsafeBufferPointer<UInt8>, normalized: (UnsafeMutableRawBufferPointer) -> Int,
                         normalizedCapacity: Int, unchanged: Bool, tokens: UnsafeBufferPointer<MTLToken>) {
        let originalStart = originalBytes.count
        originalBytes.append(contentsOf: original)
        var normalizedStart = -1, normalizedEnd = -1
        if !unchanged {
            normalizedStart = normalizedBytes.count
            normalizedBytes.append(contentsOf: repeatElement(0, count: normalizedCapacity))
            let written = normalizedBytes.withUnsafeMutableBytes { raw in
                normalized(UnsafeMutableRawBufferPointer(rebasing: raw[normalizedStart...]))
            }
            normalizedBytes.removeLast(normalizedCapacity - written)
            normalizedEnd = normalizedStart + written
        }
        let tokenStart = allTokens.count
        allTokens.append(contentsOf: tokens.lazy.map(Token.init))
        entries.append(Entry(originalStart: originalStart, originalEnd: originalBytes.count,
                             normalizedStart: normalizedStart, normalizedEnd: normalizedEnd,
                             tokenStart: tokenStart, tokenEnd: allTokens.count))
    }
}
