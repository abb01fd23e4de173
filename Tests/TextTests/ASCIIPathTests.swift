import Foundation
import Testing
@testable import Text

/// All-ASCII text skips UTF-16 and ICU altogether when every normalizer and the segmenter have an
/// exact ASCII model (`mtl_tokenize_ascii`). It must give exactly what the general path gives:
/// the same normalized text, tokens, offsets and kinds.
@Suite("One-pass ASCII path equals the general path")
struct ASCIIPathTests {
    /// Pipelines with an ASCII model, each with a text that changes under it.
    static let modelled: [(normalize: String, tokenize: String, locale: String)] = [
        ("nfkc_cf", "words", ""),
        ("nfc", "words(whitespace=keep)", ""),
        ("nfkd,lowercase", "words(punct=drop)", "en"),
        ("uppercase,nfkc", "words", ""),
        ("casefold,width,strip_accents", "words(whitespace=keep,punct=drop,symbols=drop)", ""),
        ("clean,nfkc_cf", "words(whitespace=keep)", ""),
        ("keep([a-z0-9 ]),nfkc_cf", "words", ""),
        ("remove([aeiou])", "words", ""),
    ]

    static func pair(_ p: (normalize: String, tokenize: String, locale: String)) throws -> (fast: TextProcessor, icu: TextProcessor) {
        let pipeline = try TextPipeline(normalize: p.normalize, tokenize: p.tokenize, locale: p.locale)
        return (try TextProcessor(pipeline: pipeline), try TextProcessor(pipeline: pipeline, fastPaths: false))
    }

    static func expectSame(_ fast: TextProcessor, _ icu: TextProcessor, _ text: String) throws {
        let a = try fast.tokenize(text), b = try icu.tokenize(text)
        #expect(a == b, "\(text.debugDescription): one-pass \(a.tokenTexts) \(a.tokens.map(\.kind)) but general \(b.tokenTexts) \(b.tokens.map(\.kind))")
        // The borrowed view lends the same tokens and normalized bytes.
        var bytes = Array(text.utf8)
        try bytes.withUnsafeMutableBufferPointer { buffer in
            try fast.withTokens(utf8: UnsafeBufferPointer(buffer)) { view in
                #expect(view.tokens == b.tokens)
                #expect(Array(view.normalizedUTF8) == Array(b.normalized.utf8))
                #expect(view.isUnchanged == b.normalized.utf8.elementsEqual(text.utf8), "\(text.debugDescription)")
            }
        }
    }

    @Test(arguments: 0..<modelled.count)
    func randomASCII(pipeline: Int) throws {
        let (fast, icu) = try Self.pair(Self.modelled[pipeline])
        #expect(fast.hasASCIIPathForTesting)
        // Every ASCII character, controls included, in short random strings biased towards the
        // characters the word rules care about.
        let alphabet = Array("aZ9 .',;:-_@#$%&*()[]{}<>!?/\\|\"`~^+=\t") + (0..<128).map { Character(Unicode.Scalar(UInt8($0))) }
        var rng = SplitMix(seed: UInt64(pipeline) &+ 17)
        for _ in 0..<4000 {
            let length = Int(rng.next() % 12)
            let text = String((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
            try Self.expectSame(fast, icu, text)
        }
    }

    @Test(arguments: 0..<modelled.count)
    func sentences(pipeline: Int) throws {
        let (fast, icu) = try Self.pair(Self.modelled[pipeline])
        for text in ["", " ", "Hello, World!", "don't STOP me now", "U.S.A. 3.14 1,000,000 e.g., 50% $5.00",
                     "it 's a charming and often affecting journey . ", "  leading and trailing  ", "tab\there",
                     "line\nbreak", "CRLF\r\nend", "x__y _ a_1 10:30 a:b", "#tag @user http://x.y/z?q=1&r=2",
                     "ünïcödé stays on the general path", "mixed ASCII then 中文"] {
            try Self.expectSame(fast, icu, text)
        }
    }

    /// Real ASCII text: every ASCII line of the corpora under the default pipeline.
    @Test(.enabled(if: Corpora.available, Comment(rawValue: Corpora.skipMessage)), arguments: (try? Corpora.files()) ?? [])
    func corpusLines(file: URL) throws {
        let (fast, icu) = try Self.pair(Self.modelled[0])
        let content = try String(contentsOf: file, encoding: .utf8)
        for line in content.split(separator: "\n").prefix(20_000) {
            let a = try fast.tokenize(String(line)), b = try icu.tokenize(String(line))
            if a != b {
                Issue.record("\(file.lastPathComponent): one-pass \(a.tokenTexts) but general \(b.tokenTexts) for \(line.debugDescription)")
                return
            }
        }
    }

    /// Stages whose ASCII behaviour depends on context or locale keep the general path.
    @Test(arguments: [("casefold(tr)", "tr"), ("lowercase", "tr"), ("nfkc_cf,collapse_ws", ""), ("transform(Latin-ASCII)", "")])
    func unmodelledPipelinesTakeTheGeneralPath(normalize: String, locale: String) throws {
        let pipeline = try TextPipeline(normalize: normalize, tokenize: "words", locale: locale)
        #expect(!(try TextProcessor(pipeline: pipeline).hasASCIIPathForTesting))
        // And Turkic case mapping still maps I to dotless ı.
        if locale == "tr" { #expect(try pipeline.makeProcessor().tokenize("IŞIK I").tokenTexts.first == "ışık") }
    }

    @Test func otherSegmentersTakeTheGeneralPath() throws {
        for tokenize in ["whitespace", "regex(\\S+)", "graphemes", "sentences"] {
            #expect(!(try TextProcessor(pipeline: TextPipeline(normalize: "nfkc_cf", tokenize: tokenize)).hasASCIIPathForTesting))
        }
    }
}
