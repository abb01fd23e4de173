import CICU

/// One step of a normalizer chain. A chain is written as a spec string, e.g.
/// `nfkc_cf` or `clean,nfkc,lowercase(tr),transform(Any-Latin; Latin-ASCII),collapse_ws`.
///
/// | spec | effect |
/// |---|---|
/// | `nfc` `nfd` `nfkc` `nfkd` | Unicode normalization forms |
/// | `nfkc_cf` (`nfkc_casefold`) | NFKC with case folding and default-ignorable removal (ICU's `nfkc_cf`) |
/// | `lowercase`, `uppercase`, `lowercase(tr)` | locale-aware case mapping (pipeline locale if none given) |
/// | `casefold`, `casefold(tr)` | full case folding (ß → ss); Turkic locales fold I → ı |
/// | `strip_accents` | NFD, drop nonspacing marks, NFC |
/// | `width` | fullwidth ASCII → ASCII, halfwidth kana → fullwidth, U+3000 → space |
/// | `clean` | drop controls, NUL, U+FEFF, zero-width spaces and other invisible format characters (ZWJ/ZWNJ kept); tab and newlines → space |
/// | `collapse_ws` | runs of white space → one space, trimmed |
/// | `transform(ID)` | any ICU transform ID, e.g. `Traditional-Simplified` |
/// | `keep([set])`, `remove([set])` | keep only / drop code points of a Unicode set, e.g. `remove([:Mn:])` |
///
/// Case mapping and transforms run per normalization segment (a code point and the marks that
/// follow it), so each output character maps to its own source: exact offsets, at the price of
/// context-sensitive rules (Greek final sigma, some transliterations) not seeing neighbours.
public enum NormalizerStep: Sendable, Hashable {
    case nfc, nfd, nfkc, nfkd, nfkcCasefold
    case lowercase(locale: String?)
    case uppercase(locale: String?)
    case casefold(locale: String?)
    case stripAccents, width, clean, collapseWhitespace
    case transform(String)
    case keep(String)
    case remove(String)

    /// Parses a normalizer spec into steps. An empty spec or `none` means no normalization.
    public static func parse(_ spec: String) throws -> [NormalizerStep] {
        try SpecParser.items(spec).compactMap { item in
            let argument = item.argument?.trimmingSpaces
            func noArgument(_ step: NormalizerStep) throws -> NormalizerStep {
                guard argument == nil else {
                    throw TextError.badSpec(spec, item.text, "normalizer '\(item.name)' takes no argument")
                }
                return step
            }
            func required() throws -> String {
                guard let argument, !argument.isEmpty else {
                    throw TextError.badSpec(spec, item.text, "normalizer '\(item.name)' needs an argument, e.g. \(item.name)(...)")
                }
                return argument
            }
            switch item.name {
            case "none", "identity": _ = try noArgument(.nfc); return nil
            case "nfc": return try noArgument(.nfc)
            case "nfd": return try noArgument(.nfd)
            case "nfkc": return try noArgument(.nfkc)
            case "nfkd": return try noArgument(.nfkd)
            case "nfkc_cf", "nfkc_casefold": return try noArgument(.nfkcCasefold)
            case "lowercase", "lower": return .lowercase(locale: argument)
            case "uppercase", "upper": return .uppercase(locale: argument)
            case "casefold", "fold", "case_fold": return .casefold(locale: argument)
            case "strip_accents", "accents", "remove_accents": return try noArgument(.stripAccents)
            case "width", "fold_width": return try noArgument(.width)
            case "clean", "clean_controls": return try noArgument(.clean)
            case "collapse_ws", "collapse_whitespace", "whitespace": return try noArgument(.collapseWhitespace)
            case "transform", "translit", "transliterate": return .transform(try required())
            case "keep", "keep_set", "filter": return .keep(try required())
            case "remove", "remove_set": return .remove(try required())
            default:
                throw TextError.badSpec(spec, item.text, "unknown normalizer '\(item.name)' (known: \(known))")
            }
        }
    }

    static let known = "nfc, nfd, nfkc, nfkd, nfkc_cf, lowercase, uppercase, casefold, strip_accents, width, clean, collapse_ws, transform(ID), keep([set]), remove([set]), none"

    /// The spec item that parses back into this step.
    public var spec: String {
        switch self {
        case .nfc: "nfc"
        case .nfd: "nfd"
        case .nfkc: "nfkc"
        case .nfkd: "nfkd"
        case .nfkcCasefold: "nfkc_cf"
        case .lowercase(let l): l.map { "lowercase(\($0))" } ?? "lowercase"
        case .uppercase(let l): l.map { "uppercase(\($0))" } ?? "uppercase"
        case .casefold(let l): l.map { "casefold(\($0))" } ?? "casefold"
        case .stripAccents: "strip_accents"
        case .width: "width"
        case .clean: "clean"
        case .collapseWhitespace: "collapse_ws"
        case .transform(let id): "transform(\(id))"
        case .keep(let set): "keep(\(set))"
        case .remove(let set): "remove(\(set))"
        }
    }

    /// The C stage kind and argument; `locale` fills in case steps that name none.
    func cStage(locale: String) -> (kind: Int32, argument: String?) {
        switch self {
        case .nfc: (Int32(MTL_STAGE_NFC.rawValue), nil)
        case .nfd: (Int32(MTL_STAGE_NFD.rawValue), nil)
        case .nfkc: (Int32(MTL_STAGE_NFKC.rawValue), nil)
        case .nfkd: (Int32(MTL_STAGE_NFKD.rawValue), nil)
        case .nfkcCasefold: (Int32(MTL_STAGE_NFKC_CASEFOLD.rawValue), nil)
        case .lowercase(let l): (Int32(MTL_STAGE_LOWERCASE.rawValue), l ?? locale)
        case .uppercase(let l): (Int32(MTL_STAGE_UPPERCASE.rawValue), l ?? locale)
        case .casefold(let l): (Int32(MTL_STAGE_CASEFOLD.rawValue), l ?? locale)
        case .stripAccents: (Int32(MTL_STAGE_STRIP_ACCENTS.rawValue), nil)
        case .width: (Int32(MTL_STAGE_WIDTH.rawValue), nil)
        case .clean: (Int32(MTL_STAGE_CLEAN.rawValue), nil)
        case .collapseWhitespace: (Int32(MTL_STAGE_COLLAPSE_WHITESPACE.rawValue), nil)
        case .transform(let id): (Int32(MTL_STAGE_TRANSFORM.rawValue), id)
        case .keep(let set): (Int32(MTL_STAGE_KEEP_SET.rawValue), set)
        case .remove(let set): (Int32(MTL_STAGE_REMOVE_SET.rawValue), set)
        }
    }

    var locale: String? {
        switch self {
        case .lowercase(let l), .uppercase(let l), .casefold(let l): l
        default: nil
        }
    }
}
