import Foundation
import Testing
@testable import Text

@Suite("Bad input: clear errors, never a crash")
struct BadInputTests {
    @Test func invalidUTF8ReportsByteOffset() throws {
        let processor = try TextPipeline().makeProcessor()
        let bytes: [UInt8] = Array("ok é".utf8) + [0xC3, 0x28] + Array(" end".utf8)
        let error = #expect(throws: TextError.self) {
            _ = try bytes.withUnsafeBufferPointer { try processor.tokenize(utf8: $0) }
        }
        #expect(error?.kind == .invalidUTF8(byteOffset: 5))
        #expect(error?.message == "invalid UTF-8 at byte 5")
    }

    @Test func invalidUTF8CanBeReplaced() throws {
        let processor = try TextPipeline(invalidUTF8: .replace).makeProcessor()
        let bytes: [UInt8] = Array("ab ".utf8) + [0xFF] + Array(" cd".utf8)
        let text = try bytes.withUnsafeBufferPointer { try processor.tokenize(utf8: $0) }
        #expect(text.original == "ab \u{FFFD} cd")
        #expect(text.tokenTexts.first == "ab")
        #expect(text.tokenTexts.last == "cd")
        try expectOffsetsHold(text, processor)
    }

    @Test(arguments: [
        ("nfkc,bogus", "words", "", "unknown normalizer 'bogus'"),
        ("transform(Foo-Bar)", "words", "", "unknown or invalid transform ID 'Foo-Bar'"),
        ("keep([a-)", "words", "", "unclosed '(' or '['"),
        ("keep([:NoSuchProperty:])", "words", "", "invalid Unicode set '[:NoSuchProperty:]'"),
        ("nfkc(x)", "words", "", "normalizer 'nfkc' takes no argument"),
        ("transform()", "words", "", "needs an argument"),
        ("nfkc", "wordz", "", "unknown tokenizer 'wordz'"),
        ("nfkc", "regex(\\p{L}+()", "", "unclosed"),
        ("nfkc", "regex([a-z)", "", "unclosed"),
        ("nfkc", "regex(a{2,1})", "", "invalid regular expression"),
        ("nfkc", "words(punct=maybe)", "", "takes keep or drop"),
        ("nfkc", "words(colour=red)", "", "unknown option 'colour'"),
        ("nfkc", "words", "xx", "unknown locale 'xx'"),
        ("lowercase(qq)", "words", "", "unknown locale 'qq'"),
        ("nfkc,,nfc", "words", "", "empty item"),
    ])
    func badSpecsNameTheirPart(normalize: String, tokenize: String, locale: String, expected: String) {
        let error = #expect(throws: TextError.self) {
            _ = try TextPipeline(normalize: normalize, tokenize: tokenize, locale: locale)
        }
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "no error")")
    }

    @Test func pretokenizedRepairKeepsOffsetsInTheRepairedText() throws {
        let processor = try TextPipeline(normalize: "nfkc", tokenize: "pretokenized", invalidUTF8: .replace).makeProcessor()
        let bytes: [UInt8] = [0xE2, 0x82, 0x20, 0x78]  // a cut-off 3-byte sequence, space, x
        let text = try bytes.withUnsafeBufferPointer { try processor.tokenize(utf8: $0) }
        #expect(text.original == "\u{FFFD} x")
        #expect(text.tokenTexts == ["\u{FFFD}", "x"])
        #expect(text.tokens[1].utf8Range == 4..<5)
        #expect(text.tokens[1].scalarRange == 2..<3)
        try expectOffsetsHold(text, processor)
    }

    @Test func pathologicalRegexFailsInsteadOfHanging() throws {
        let processor = try TextPipeline(normalize: "none", tokenize: "regex((a+)+$)").makeProcessor()
        let error = #expect(throws: TextError.self) {
            _ = try processor.tokenize(String(repeating: "a", count: 40) + "b")
        }
        #expect(error?.message.contains("gave up") == true, "\(error?.message ?? "")")
        #expect(try processor.tokenize("aaa").tokenTexts == ["aaa"])  // and the processor still works
    }

    @Test func oversizedTextIsAnError() throws {
        let processor = try TextPipeline().makeProcessor()
        let bytes = [UInt8](repeating: 0x61, count: TextProcessor.maximumTextBytes + 1)
        let error = #expect(throws: TextError.self) { _ = try bytes.withUnsafeBufferPointer { try processor.tokenize(utf8: $0) } }
        #expect(error?.kind == .tooLong(bytes: bytes.count))
    }

    @Test func pipelineRoundTripsThroughJSON() throws {
        let pipeline = try TextPipeline(normalize: "clean,nfkc,casefold(tr),transform(Traditional-Simplified)",
                                        tokenize: "words(locale=zh,punct=drop)", locale: "tr", invalidUTF8: .replace)
        let data = try JSONEncoder().encode(pipeline)
        let decoded = try JSONDecoder().decode(TextPipeline.self, from: data)
        #expect(decoded == pipeline)
        let future = Data(#"{"version": 9, "normalize": "nfc"}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TextPipeline.self, from: future) }
    }
}
