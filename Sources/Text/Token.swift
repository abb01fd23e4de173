import CICU

/// What kind of text a token is, from ICU's word rule status or, where ICU gives none, the
/// general category of the token's first code point.
public enum TokenKind: UInt8, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    case word = 0, number, kana, ideographic, punctuation, symbol, whitespace, other

    public var description: String {
        switch self {
        case .word: "word"
        case .number: "number"
        case .kana: "kana"
        case .ideographic: "ideographic"
        case .punctuation: "punctuation"
        case .symbol: "symbol"
        case .whitespace: "whitespace"
        case .other: "other"
        }
    }
}

/// One token: where it is in the original text (in Unicode scalars and in UTF-8 bytes), where
/// its normalized form is in ``TokenizedText/normalized`` (UTF-8 bytes), and its kind.
///
/// Offsets are half-open and always point into the ORIGINAL text, whatever normalization did to
/// lengths: normalizing `original[scalarStart..<scalarEnd]` with the same pipeline gives the token.
/// Stored as `Int32`s so that a token is 28 bytes; ranges are computed on demand.
public struct Token: Sendable, Hashable {
    public var scalarStart: Int32
    public var scalarEnd: Int32
    public var utf8Start: Int32
    public var utf8End: Int32
    public var normalizedStart: Int32
    public var normalizedEnd: Int32
    public var kind: TokenKind

    public init(scalarStart: Int32, scalarEnd: Int32, utf8Start: Int32, utf8End: Int32,
                normalizedStart: Int32, normalizedEnd: Int32, kind: TokenKind) {
        self.scalarStart = scalarStart
        self.scalarEnd = scalarEnd
        self.utf8Start = utf8Start
        self.utf8End = utf8End
        self.normalizedStart = normalizedStart
        self.normalizedEnd = normalizedEnd
        self.kind = kind
    }

    init(_ c: MTLToken) {
        self.init(scalarStart: c.scalar_start, scalarEnd: c.scalar_end, utf8Start: c.utf8_start, utf8End: c.utf8_end,
                  normalizedStart: c.normalized_start, normalizedEnd: c.normalized_end,
                  kind: TokenKind(rawValue: UInt8(truncatingIfNeeded: c.kind)) ?? .other)
    }

    /// The token's range in the original text, in Unicode scalars.
    public var scalarRange: Range<Int> { Int(scalarStart)..<Int(scalarEnd) }
    /// The token's range in the original text, in UTF-8 bytes.
    public var utf8Range: Range<Int> { Int(utf8Start)..<Int(utf8End) }
}

extension MTLToken {
    init(_ t: Token) {
        self.init(scalar_start: t.scalarStart, scalar_end: t.scalarEnd, utf8_start: t.utf8Start, utf8_end: t.utf8End,
                  normalized_start: t.normalizedStart, normalized_end: t.normalizedEnd, kind: Int32(t.kind.rawValue))
    }
}

/// One text's tokens lent by ``TextProcessor/withTokens(utf8:_:)``: views of the processor's
/// scratch buffers, valid only inside the call.
public struct BorrowedTokens {
    private let storage: UnsafeBufferPointer<MTLToken>
    /// The whole normalized text as UTF-8; token `i` is `normalizedUTF8[normalizedStart..<normalizedEnd]`.
    public let normalizedUTF8: UnsafeBufferPointer<UInt8>
    /// Normalization left the text as it was: `normalizedUTF8` is the original text and every
    /// token's normalized range is its UTF-8 range in the original.
    public let isUnchanged: Bool

    init(tokens: UnsafeBufferPointer<MTLToken>, normalizedUTF8: UnsafeBufferPointer<UInt8>, isUnchanged: Bool) {
        storage = tokens; self.normalizedUTF8 = normalizedUTF8; self.isUnchanged = isUnchanged
    }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }
    public subscript(i: Int) -> Token { Token(storage[i]) }
    /// Every token, copied out (for the rare callers that keep them).
    public var tokens: [Token] { storage.map(Token.init) }
    /// The normalized UTF-8 of token `i`.
    public func normalizedUTF8(of i: Int) -> UnsafeBufferPointer<UInt8> {
        let t = storage[i]
        return UnsafeBufferPointer(rebasing: normalizedUTF8[Int(t.normalized_start)..<Int(t.normalized_end)])
    }
}

/// The original text, its normalized form, and its tokens.
public struct TokenizedText: Sendable, Hashable {
    /// The text as it came in (after `--invalid-utf8 replace`, if that repaired it).
    public let original: String
    /// The whole text after the normalizer chain; tokens are slices of it.
    public let normalized: String
    public let tokens: [Token]

    public init(original: String, normalized: String, tokens: [Token]) {
        self.original = original
        self.normalized = normalized
        self.tokens = tokens
    }

    /// The normalized form of a token.
    public func text(of token: Token) -> Substring {
        let utf8 = normalized.utf8
        let start = utf8.index(utf8.startIndex, offsetBy: Int(token.normalizedStart))
        let end = utf8.index(start, offsetBy: Int(token.normalizedEnd - token.normalizedStart))
        return normalized[start..<end]
    }

    /// The original text a token came from.
    public func originalText(of token: Token) -> Substring {
        let utf8 = original.utf8
        let start = utf8.index(utf8.startIndex, offsetBy: Int(token.utf8Start))
        let end = utf8.index(start, offsetBy: Int(token.utf8End - token.utf8Start))
        return original[start..<end]
    }

    /// Every token's normalized form, in order.
    public var tokenTexts: [Substring] { tokens.map { text(of: $0) } }
}
