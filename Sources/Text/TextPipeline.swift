import CICU

/// What to do with bytes that are not UTF-8.
public enum InvalidUTF8Policy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Throw ``TextError`` with the byte offset of the first bad sequence.
    case fail
    /// Replace bad sequences with U+FFFD; offsets then refer to the repaired text.
    case replace
}

/// A normalizer chain plus a tokenizer: the whole recipe that turns text into tokens.
///
/// A pipeline is a small `Sendable` value, described by two spec strings (the same strings a
/// pipeline file holds and the store records with every source). It does no work itself: each
/// thread asks it for a ``TextProcessor``, which owns the ICU objects (costly to open, not
/// thread-safe) and reuses them line after line.
///
/// ```swift
/// let pipeline = try TextPipeline(normalize: "nfkc_cf", tokenize: "words")
/// let processor = try pipeline.makeProcessor()
/// let text = try processor.tokenize("Ｔｈｅ ＣＡＴ sat.")
/// text.tokenTexts   // ["the", "cat", "sat", "."]
/// text.tokens[1].scalarRange   // 4..<7, in the original
/// ```
public struct TextPipeline: Sendable, Hashable {
    public let normalizers: [NormalizerStep]
    public let tokenizer: TokenizerSpec
    /// The default locale for case mapping and segmentation ("" is ICU's root locale).
    public let locale: String
    public let invalidUTF8: InvalidUTF8Policy

    /// Parses and checks both specs, and opens every ICU object once so that an unknown
    /// transform ID, Unicode set, regex or locale fails here, naming the bad part.
    public init(normalize: String = "nfkc_cf", tokenize: String = "words", locale: String = "",
                invalidUTF8: InvalidUTF8Policy = .fail) throws {
        self.normalizers = try NormalizerStep.parse(normalize)
        self.tokenizer = try TokenizerSpec.parse(tokenize)
        self.locale = locale
        self.invalidUTF8 = invalidUTF8
        try checkLocale(locale, spec: "--locale \(locale)", part: locale)
        for step in normalizers {
            if let stepLocale = step.locale { try checkLocale(stepLocale, spec: normalize, part: step.spec) }
        }
        if let tokenizerLocale = tokenizer.locale { try checkLocale(tokenizerLocale, spec: tokenize, part: tokenizerLocale) }
        _ = try makeProcessor()
    }

    /// The normalizer chain as a spec string (`none` when empty).
    public var normalizerSpec: String {
        normalizers.isEmpty ? "none" : normalizers.map(\.spec).joined(separator: ",")
    }

    /// The tokenizer as a spec string.
    public var tokenizerSpec: String { tokenizer.spec }

    /// A processor for the calling thread. Use one per thread; reuse it for every text.
    public func makeProcessor() throws -> TextProcessor {
        try TextProcessor(pipeline: self)
    }

    private func checkLocale(_ locale: String, spec: String, part: String) throws {
        if mtl_locale_is_known(locale) == 0 {
            throw TextError.badSpec(spec, part, "unknown locale '\(locale)'")
        }
    }
}

extension TextPipeline: Codable {
    enum CodingKeys: String, CodingKey {
        case version, normalize, tokenize, locale
        case invalidUTF8 = "invalid_utf8"
    }

    /// The version of the JSON form; decoding refuses other versions.
    public static let formatVersion = 1

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let version = try c.decodeIfPresent(Int.self, forKey: .version) ?? Self.formatVersion
        guard version == Self.formatVersion else {
            throw DecodingError.dataCorruptedError(forKey: .version, in: c,
                debugDescription: "text pipeline format version \(version) is not supported (expected \(Self.formatVersion))")
        }
        try self.init(normalize: c.decodeIfPresent(String.self, forKey: .normalize) ?? "nfkc_cf",
                      tokenize: c.decodeIfPresent(String.self, forKey: .tokenize) ?? "words",
                      locale: c.decodeIfPresent(String.self, forKey: .locale) ?? "",
                      invalidUTF8: c.decodeIfPresent(InvalidUTF8Policy.self, forKey: .invalidUTF8) ?? .fail)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.formatVersion, forKey: .version)
        try c.encode(normalizerSpec, forKey: .normalize)
        try c.encode(tokenizerSpec, forKey: .tokenize)
        try c.encode(locale, forKey: .locale)
        try c.encode(invalidUTF8, forKey: .invalidUTF8)
    }
}
