import CICU

/// How text is cut into tokens. Written as a spec string:
///
/// | spec | tokens |
/// |---|---|
/// | `words` | ICU word segmentation (UAX #29, with ICU's dictionaries for Chinese, Japanese, Thai, Lao, Khmer, Myanmar); numbers such as `3.14` and `1,000` stay whole |
/// | `sentences` | ICU sentence segmentation, surrounding white space trimmed |
/// | `graphemes` | user-perceived characters (an emoji ZWJ sequence is one) |
/// | `whitespace` | maximal runs of non-white-space |
/// | `regex(PATTERN)` | every match of an ICU regular expression, e.g. `regex(\p{L}+|\p{N}+)` |
/// | `pretokenized` | the input is already tokens separated by spaces (or given as a list); one token each, never merged or dropped |
///
/// Options, e.g. `words(locale=th,punct=drop)`: `locale`, and `punct`, `symbols`, `whitespace`
/// (`ws`), `numbers`, `other` set to `keep` or `drop`. By default everything but white space is kept.
public struct TokenizerSpec: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case words, sentences, graphemes, whitespace, pretokenized
        case regex(String)
    }

    public var kind: Kind
    /// Overrides the pipeline's locale for segmentation.
    public var locale: String?
    /// Token kinds that are kept; the others are dropped.
    public var keep: Set<TokenKind>

    public init(kind: Kind, locale: String? = nil, keep: Set<TokenKind> = TokenizerSpec.defaultKeep) {
        self.kind = kind
        self.locale = locale
        self.keep = keep
    }

    public static let defaultKeep = Set(TokenKind.allCases).subtracting([.whitespace])

    public static func parse(_ spec: String) throws -> TokenizerSpec {
        let items = try SpecParser.items(spec)
        guard items.count == 1, let item = items.first else {
            throw TextError.badSpec(spec, spec, "a tokenizer spec names exactly one tokenizer")
        }
        switch item.name {
        case "regex":
            guard let pattern = item.argument, !pattern.isEmpty else {
                throw TextError.badSpec(spec, item.text, "regex needs a pattern, e.g. regex(\\p{L}+)")
            }
            return TokenizerSpec(kind: .regex(pattern))
        case "words", "word", "icu_words", "sentences", "sentence", "graphemes", "grapheme", "whitespace", "pretokenized":
            let kind: Kind = switch item.name {
            case "words", "word", "icu_words": .words
            case "sentences", "sentence": .sentences
            case "graphemes", "grapheme": .graphemes
            case "whitespace": .whitespace
            default: .pretokenized
            }
            var result = TokenizerSpec(kind: kind)
            for (key, value) in try item.argument.map({ try SpecParser.options($0, item: item, spec: spec) }) ?? [] {
                if key == "locale" {
                    result.locale = value
                    continue
                }
                let kinds: [TokenKind] = switch key {
                case "punct", "punctuation": [.punctuation]
                case "symbols", "symbol": [.symbol]
                case "whitespace", "ws", "spaces": [.whitespace]
                case "numbers", "number": [.number]
                case "other": [.other]
                default: throw TextError.badSpec(spec, "\(key)=\(value)",
                    "unknown option '\(key)' (known: locale, punct, symbols, whitespace, numbers, other)")
                }
                switch value.lowercased() {
                case "keep", "true", "yes": result.keep.formUnion(kinds)
                case "drop", "false", "no": result.keep.subtract(kinds)
                default: throw TextError.badSpec(spec, "\(key)=\(value)", "option '\(key)' takes keep or drop, not '\(value)'")
                }
            }
            return result
        default:
            throw TextError.badSpec(spec, item.text,
                "unknown tokenizer '\(item.name)' (known: words, sentences, graphemes, whitespace, regex(PATTERN), pretokenized)")
        }
    }

    /// The spec string that parses back into this tokenizer.
    public var spec: String {
        let name: String = switch kind {
        case .words: "words"
        case .sentences: "sentences"
        case .graphemes: "graphemes"
        case .whitespace: "whitespace"
        case .pretokenized: "pretokenized"
        case .regex(let pattern): "regex(\(pattern))"
        }
        if case .regex = kind { return name }
        var options: [String] = []
        if let locale { options.append("locale=\(locale)") }
        let named: [(String, TokenKind)] = [("punct", .punctuation), ("symbols", .symbol), ("whitespace", .whitespace),
                                             ("numbers", .number), ("other", .other)]
        for (key, tokenKind) in named where keep.contains(tokenKind) != TokenizerSpec.defaultKeep.contains(tokenKind) {
            options.append("\(key)=\(keep.contains(tokenKind) ? "keep" : "drop")")
        }
        return options.isEmpty ? name : "\(name)(\(options.joined(separator: ",")))"
    }

    func cSegmenter(locale pipelineLocale: String) -> (kind: Int32, argument: String?)? {
        let locale = self.locale ?? pipelineLocale
        switch kind {
        case .words: return (Int32(MTL_SEGMENT_WORDS.rawValue), locale)
        case .sentences: return (Int32(MTL_SEGMENT_SENTENCES.rawValue), locale)
        case .graphemes: return (Int32(MTL_SEGMENT_GRAPHEMES.rawValue), locale)
        case .whitespace: return (Int32(MTL_SEGMENT_WHITESPACE.rawValue), nil)
        case .regex(let pattern): return (Int32(MTL_SEGMENT_REGEX.rawValue), pattern)
        case .pretokenized: return nil
        }
    }
}
