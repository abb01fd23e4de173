import Testing
@testable import Text

@Suite("Golden cases across scripts")
struct GoldenTests {
    @Test func englishContractionsHyphensNumbers() throws {
        #expect(try tokens("Don't re-use 3.14 or 1,000 cats!") == ["don't", "re", "-", "use", "3.14", "or", "1,000", "cats", "!"])
        #expect(try tokens("Don't stop.", normalize: "none", tokenize: "words(punct=drop)") == ["Don't", "stop"])
    }

    @Test func chineseDictionarySegmentation() throws {
        #expect(try tokens("我正在写这本书") == ["我", "正在", "写", "这", "本", "书"])
        let text = try TextPipeline().makeProcessor().tokenize("我正在写这本书")
        #expect(text.tokens.map(\.kind) == Array(repeating: .ideographic, count: 6))
        #expect(text.tokens[1].scalarRange == 1..<3)
        #expect(text.tokens[1].utf8Range == 3..<9)
    }

    @Test func japaneseMixesKanjiAndKana() throws {
        let words = try tokens("東京都に住んでいます。")
        #expect(words.joined() == "東京都に住んでいます。")
        #expect(words.count >= 4)
        #expect(words.last == "。")
    }

    @Test func thaiDictionarySegmentation() throws {
        #expect(try tokens("สวัสดีครับ") == ["สวัสดี", "ครับ"])
    }

    @Test func arabicAndDevanagariKeepCombiningMarks() throws {
        #expect(try tokens("مرحبا بالعالم", normalize: "nfc") == ["مرحبا", "بالعالم"])
        // क्षत्रिय: the virama and vowel signs stay inside the word.
        #expect(try tokens("क्षत्रिय राजा", normalize: "nfc") == ["क्षत्रिय", "राजा"])
        #expect(try tokens("क्षत्रिय", normalize: "nfd").count == 1)
    }

    @Test func emojiZWJSequenceIsOneGrapheme() throws {
        let family = "👨\u{200D}👩\u{200D}👧"
        #expect(try tokens("a\(family)b", normalize: "none", tokenize: "graphemes") == ["a", family, "b"])
        #expect(try tokens("hi \(family)", normalize: "none", tokenize: "words") == ["hi", family])
    }

    @Test func fullwidthDigitsUnderNFKC() throws {
        let processor = try TextPipeline(normalize: "nfkc").makeProcessor()
        let text = try processor.tokenize("价格１２３元")
        #expect(text.tokenTexts.contains("123"))
        let number = try #require(text.tokens.first { text.text(of: $0) == "123" })
        #expect(number.scalarRange == 2..<5)
        #expect(number.utf8Range == 6..<15)  // three 3-byte fullwidth digits
        #expect(number.kind == .number)
    }

    @Test func turkishAndGermanCaseFolding() throws {
        #expect(try tokens("İSTANBUL Istanbul", normalize: "lowercase", locale: "tr") == ["istanbul", "ıstanbul"])
        #expect(try tokens("İSTANBUL", normalize: "casefold(tr)") == ["istanbul"])
        #expect(try tokens("İSTANBUL", normalize: "lowercase") == ["i\u{307}stanbul"])
        #expect(try tokens("STRASSE Straße", normalize: "casefold") == ["strasse", "strasse"])
        #expect(try tokens("Straße", normalize: "lowercase") == ["straße"])
    }

    @Test func byteOrderMarkInsideAField() throws {
        let processor = try TextPipeline(normalize: "clean,nfkc_cf").makeProcessor()
        let text = try processor.tokenize("ab\u{FEFF}cd ok")
        #expect(text.tokenTexts == ["abcd", "ok"])
        #expect(text.tokens[0].scalarRange == 0..<5)
        #expect(text.originalText(of: text.tokens[0]) == "ab\u{FEFF}cd")
    }

    @Test func ligaturesAndFractionsKeepExactOffsets() throws {
        let processor = try TextPipeline(normalize: "nfkc_cf").makeProcessor()
        let text = try processor.tokenize("ﬁne ½ cup")
        #expect(text.tokenTexts == ["fine", "1⁄2", "cup"])
        #expect(text.tokens[0].scalarRange == 0..<3)
        #expect(text.tokens[1].scalarRange == 4..<5)
        try expectOffsetsHold(text, processor)
    }

    @Test func transformsAndAccents() throws {
        #expect(try tokens("漢語書籍", normalize: "transform(Traditional-Simplified)") == ["汉语", "书籍"])
        #expect(try tokens("Crème brûlée", normalize: "strip_accents,lowercase") == ["creme", "brulee"])
        #expect(try tokens("Crème", normalize: "transform(Any-Latin; Latin-ASCII)") == ["Creme"])
        #expect(try tokens("ＡＢＣ ｶﾀｶﾅ", normalize: "width", tokenize: "whitespace") == ["ABC", "カタカナ"])
    }

    @Test func cleanupWhitespaceAndSets() throws {
        let processor = try TextPipeline(normalize: "clean,collapse_ws", tokenize: "sentences").makeProcessor()
        let text = try processor.tokenize("  One\u{200B} two\u{0}.\t\tThree  four.  ")
        #expect(text.normalized == "One two. Three four.")
        #expect(text.tokenTexts == ["One two.", "Three four."])
        try expectOffsetsHold(text, processor)
        #expect(try tokens("naïve café", normalize: "nfd,remove([:Mn:]),nfc") == ["naive", "cafe"])
        #expect(try tokens("a1b2 c3", normalize: "keep([a-z\\ ])") == ["ab", "c"])
    }

    @Test func cleanKeepsFormatCharactersThatCarryMeaning() throws {
        let scotland = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}"
        #expect(try tokens(scotland, normalize: "clean", tokenize: "graphemes") == [scotland])
        #expect(try tokens("\u{0600}123", normalize: "clean", tokenize: "whitespace") == ["\u{0600}123"])
        let nonCharacter = String(Unicode.Scalar(0xFDD0)!)  // Swift literals refuse noncharacters
        #expect(try tokens("a\(nonCharacter)b\u{200B}c\u{00AD}d", normalize: "clean", tokenize: "whitespace") == ["abcd"])
    }

    @Test func localesWithTheirOwnWordRules() throws {
        #expect(try tokens("a.b", normalize: "none") == ["a.b"])
        #expect(try tokens("a.b", normalize: "none", tokenize: "words(locale=en_US_POSIX)") == ["a", ".", "b"])
    }

    @Test func otherTokenizers() throws {
        #expect(try tokens("a  b\tc", normalize: "none", tokenize: "whitespace") == ["a", "b", "c"])
        #expect(try tokens("abc123 d4", normalize: "none", tokenize: "regex(\\p{L}+|\\p{N}+)") == ["abc", "123", "d", "4"])
        #expect(try tokens("Hello, World", tokenize: "words(punct=drop)") == ["hello", "world"])
        #expect(try tokens("a + b", normalize: "none", tokenize: "words(symbols=drop)") == ["a", "b"])
        #expect(try tokens("a b", normalize: "none", tokenize: "words(whitespace=keep)") == ["a", " ", "b"])
    }

    @Test func pretokenizedKeepsOneTokenPerWord() throws {
        let processor = try TextPipeline(normalize: "clean,nfkc_cf", tokenize: "pretokenized").makeProcessor()
        let text = try processor.tokenize(pretokenized: ["New", "YORK", "\u{FEFF}", "ﬁ"])
        #expect(text.tokenTexts == ["new", "york", "", "fi"])
        #expect(text.original == "New YORK \u{FEFF} ﬁ")
        #expect(text.tokens.map(\.scalarRange) == [0..<3, 4..<8, 9..<10, 11..<12])
        let line = try processor.tokenize("New  YORK")
        #expect(line.tokenTexts == ["new", "york"])
        #expect(line.tokens[1].scalarRange == 5..<9)
    }

    @Test func localeChangesSegmentationSource() throws {
        let pipeline = try TextPipeline(tokenize: "words(locale=th)")
        #expect(pipeline.tokenizer.locale == "th")
        #expect(pipeline.tokenizerSpec == "words(locale=th)")
    }
}

@Suite("TokenizedBatch")
struct BatchTests {
    @Test(arguments: [("nfkc_cf", "words", InvalidUTF8Policy.fail), ("none", "words", .fail),
                      ("clean,nfkc", "pretokenized", .fail), ("nfkc_cf", "sentences", .replace)])
    func batchHoldsWhatPerTextTokenizingGives(normalize: String, tokenize: String, policy: InvalidUTF8Policy) throws {
        let processor = try TextPipeline(normalize: normalize, tokenize: tokenize, invalidUTF8: policy).makeProcessor()
        var inputs: [[UInt8]] = ["Ｔｈｅ ＣＡＴ sat.", "我正在写这本书", "", "ﬁne ½ cup", "plain ascii words", "ab\u{FEFF}cd"].map { Array($0.utf8) }
        if policy == .replace { inputs.append(Array("bad ".utf8) + [0xFF] + Array(" byte".utf8)) }
        var batch = TokenizedBatch()
        for input in inputs { try input.withUnsafeBufferPointer { try processor.tokenize(utf8: $0, into: &batch) } }
        #expect(batch.count == inputs.count)
        for (i, input) in inputs.enumerated() {
            let single = try input.withUnsafeBufferPointer { try processor.tokenize(utf8: $0) }
            #expect(batch.text(i) == single, "text \(i)")
            #expect(batch.tokens(of: i).map { String(decoding: batch.normalizedBytes(of: $0, in: i), as: UTF8.self) }
                    == single.tokenTexts.map(String.init))
        }
    }
}
