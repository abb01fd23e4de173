import CICU
import Foundation
import Testing
@testable import Text

/// The CJK dictionary engine (Sources/CICU/mtl_cjk.c) must cut exactly where ICU's own word break
/// iterator does, with the same rule statuses: compared segment by segment with a processor that
/// leaves everything to ICU, on every line of every corpus file, on the Chinese reviews as one
/// long text, on Japanese and mixed golden cases, and on random strings of awkward characters.
@Suite("CJK dictionary engine equals ICU")
struct CJKEngineTests {
    static let pipelines = ["nfkc_cf", "none"]

    /// Segments of `text` from the fast processor and from ICU; records a mismatch. Returns the fast path taken.
    @discardableResult
    static func compare(_ text: String, _ fast: TextProcessor, _ icu: TextProcessor,
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> Int32 {
        let (mine, path) = try fast.segmentsForTesting(text)
        let (reference, referencePath) = try icu.segmentsForTesting(text)
        #expect(referencePath == Int32(MTL_PATH_ICU), sourceLocation: sourceLocation)
        if mine != reference {
            let first = (0..<min(mine.count, reference.count)).first { mine[$0] != reference[$0] } ?? min(mine.count, reference.count)
            Issue.record("path \(path): segment \(first) is \(first < mine.count ? mine[first] : []) but ICU's is \(first < reference.count ? reference[first] : []) in \(text.prefix(200).debugDescription)",
                         sourceLocation: sourceLocation)
        }
        return path
    }

    static func processors(_ normalize: String, locale: String = "") throws -> (TextProcessor, TextProcessor) {
        let pipeline = try TextPipeline(normalize: normalize, tokenize: "words(whitespace=keep)", locale: locale)
        return (try TextProcessor(pipeline: pipeline), try TextProcessor(pipeline: pipeline, fastPaths: false))
    }

    @Test func engineServesThisICU() {
        let (available, major) = TextProcessor.cjkEngineForTesting
        // Checked against ICU 72's source; other versions are left to ICU until checked.
        #expect(available == (major == 72), "ICU \(major): engine available \(available)")
    }

    @Test(.enabled(if: Corpora.available, Comment(rawValue: Corpora.skipMessage)),
          arguments: (try? Corpora.files()) ?? [], pipelines)
    func everyCorpusLine(file: URL, normalize: String) throws {
        let (fast, icu) = try Self.processors(normalize)
        let content = try String(contentsOf: file, encoding: .utf8)
        var lines = 0, cjkLines = 0
        for line in content.split(separator: "\n") {
            lines += 1
            if try Self.compare(String(line), fast, icu) == Int32(MTL_PATH_CJK) { cjkLines += 1 }
        }
        if file.path.contains("chinese") {
            // Not vacuous: the engine, not ICU, cut (nearly) every line of the Chinese reviews.
            #expect(cjkLines * 1000 >= lines * 999, "\(cjkLines) of \(lines) lines through the engine")
        }
    }

    @Test(.enabled(if: Corpora.available, Comment(rawValue: Corpora.skipMessage)))
    func chineseReviewsAsOneText() throws {
        let (fast, icu) = try Self.processors("nfkc_cf")
        let content = try String(contentsOf: Corpora.root.appendingPathComponent("chinese/online_shopping_10_cats.csv"), encoding: .utf8)
        #expect(try Self.compare(content, fast, icu) == Int32(MTL_PATH_CJK))
    }

    static let golden = [
        "我正在写这本书", "中华人民共和国成立了", "价格１２３元，质量很好！！！",
        "カタカナとひらがなと漢字を混ぜた日本語の文章です。", "コンピューターサイエンスとプログラミング",
        "東京都庁へ行きましたか？はい、行きました。", "ｶﾀｶﾅのﾃｷｽﾄ", "ヴァイオリンとヴィオラ", "ーー中ーカー",
        "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモ",  // a Katakana run longer than 20
        "一二三四五六七八九十百千万亿兆京垓秭穰沟涧正载极恒河沙阿僧祇那由他不可思议无量大数",  // a Han run longer than 20
        "𠮷野家で牛丼を食べた", "中\u{301}文 漢\u{200D}字\u{FE0F}", "々〆〇ゝゞヽヾ", "〱〲ゝ゛゜゠・",
        "丽﨑髙", "한국어와 中文", "ภาษาไทยกับ中文", "日本語とEnglishと123と中文", "ｱｲｳ\u{FF9E}\u{FF9F}",
        "\u{2F00}\u{2F01}部首", "「そうだ、京都」乗車率９０％程度だろうか", "しかもロゴがＵｎｉｃｏｄｅ！",
    ]

    @Test(arguments: pipelines)
    func goldenCases(normalize: String) throws {
        let (fast, icu) = try Self.processors(normalize)
        for text in Self.golden { try Self.compare(text, fast, icu) }
    }

    /// Random strings over characters that stress the run and rule logic: kana of every kind,
    /// iteration and prolonged-sound marks, combining and format characters, supplementary Han,
    /// compatibility ideographs, halfwidth forms, other dictionary scripts.
    @Test(arguments: pipelines)
    func randomStrings(normalize: String) throws {
        let (fast, icu) = try Self.processors(normalize)
        let alphabet = Array(("中文人民共和国日本語東京都学生会社我是的了在有一个大小上下カタカナーコンピュータひらがなのはをにアイウエオ"
            + "ァィヴヵヶヽヾゝゞ々〆〇ー・、。「」（）ａｂ１２abc123 ,.'\u{3099}\u{309A}\u{301}\u{200D}\u{200B}\u{FE0F}\u{3000}"
            + "\u{2F00}\u{F900}\u{FF76}\u{FF9E}\u{FF70}가한ไทย〱゛゠\u{20BB7}\u{2A6A5}").unicodeScalars)
        var generator = SplitMix(seed: 72)
        var cjk = 0
        for _ in 0..<20_000 {
            let length = 1 + Int(generator.next() % 40)
            var text = String.UnicodeScalarView()
            for _ in 0..<length { text.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
            if try Self.compare(String(text), fast, icu) == Int32(MTL_PATH_CJK) { cjk += 1 }
        }
        #expect(cjk > 1000, "only \(cjk) strings through the engine")
    }

    /// Locales with rules of their own, and the tokens themselves, stay what ICU gives.
    @Test func otherLocalesAndTokens() throws {
        for locale in ["ja", "zh", "zh_Hant", "th"] {
            let (fast, icu) = try Self.processors("nfkc_cf", locale: locale)
            for text in Self.golden { try Self.compare(text, fast, icu) }
        }
        #expect(try tokens("我正在写这本书") == ["我", "正在", "写", "这", "本", "书"])
        let result = try TextPipeline().makeProcessor().tokenize("東京都庁へ行きました")
        #expect(result.tokens.allSatisfy { $0.kind == .ideographic })
    }
}

/// A small deterministic generator (SplitMix64) for reproducible random tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
