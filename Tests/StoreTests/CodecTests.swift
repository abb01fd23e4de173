import Testing
@testable import Store

@Suite struct CodecTests {
    @Test func tokenBlobLayoutIsExactlyAsDocumented() throws {
        let blob = TokenBlob.encode(spans: [TokenSpan(scalarStart: 0, scalarEnd: 2, utf8Start: 0, utf8End: 6),
                                            TokenSpan(scalarStart: 3, scalarEnd: 4, utf8Start: 7, utf8End: 8)],
                                    tokens: ["好书", "a"])
        func le(_ v: Int32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        let expected = le(2) + [0, 2, 0, 6, 3, 4, 7, 8].flatMap { le($0) } + [0, 6, 7].flatMap { le($0) } + Array("好书a".utf8)
        #expect(blob == expected)
        let d = try TokenBlob.decode(blob)
        #expect(d.tokens == ["好书", "a"])
        #expect(d.spans[1] == TokenSpan(scalarStart: 3, scalarEnd: 4, utf8Start: 7, utf8End: 8))
        #expect(TokenBlob.tokenCount(blob) == 2)
    }

    @Test func emptyTokenBlobAndBuilderReuse() throws {
        var b = TokenBlob.Builder()
        #expect(b.finish() == [0, 0, 0, 0, 0, 0, 0, 0])
        b.append(TokenSpan(scalarStart: 0, scalarEnd: 1, utf8Start: 0, utf8End: 1), normalized: "x")
        b.reset()
        b.append(TokenSpan(scalarStart: 5, scalarEnd: 6, utf8Start: 5, utf8End: 6), normalized: "")
        #expect(try TokenBlob.decode(b.finish()) == DecodedTokens(spans: [TokenSpan(scalarStart: 5, scalarEnd: 6, utf8Start: 5, utf8End: 6)], tokens: [""]))
    }

    @Test func malformedTokenBlobsAreRejected() {
        let good = TokenBlob.encode(spans: [TokenSpan(scalarStart: 0, scalarEnd: 1, utf8Start: 0, utf8End: 1)], tokens: ["ab"])
        for (bad, message) in [([UInt8]([1, 0]), "token blob: shorter than its 4-byte header"),
                               (Array(good.dropLast()), "token blob: string offset 2 of token 0 out of range 0...1"),
                               (good + [0], "token blob: 1 trailing bytes"),
                               (Array(good.dropLast(2)) + [0xC3, 0x28], "token blob: token 0 is not valid UTF-8")] {
            #expect { try TokenBlob.decode(bad) } throws: { ($0 as? StoreError)?.message == message }
        }
    }

    @Test func annotationValuesRoundTripAsInt32Arrays() throws {
        #expect(AnnotationValue.label(3).encoded() == [3, 0, 0, 0])
        #expect(AnnotationValue.labels([5, 1, 5]).encoded() == [1, 0, 0, 0, 5, 0, 0, 0])
        #expect(try AnnotationValue.decode(AnnotationValue.tags([0, 2, 1]).encoded(), kind: .spans) == .tags([0, 2, 1]))
        #expect(try AnnotationValue.decode([], kind: .multilabel) == .labels([]))
        #expect(throws: StoreError.self) { try AnnotationValue.decode([1, 0, 0, 0, 2, 0, 0, 0], kind: .classification) }
        #expect(throws: StoreError.self) { try AnnotationValue.decode([1, 0], kind: .tagging) }
    }

    @Test func sha256KnownVectorsAndChunking() {
        var h = SHA256(); h.update(Array("abc".utf8))
        #expect(h.finalizeHex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var e = SHA256()
        #expect(e.finalizeHex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let msg = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        var one = SHA256(); one.update(msg)
        #expect(one.finalizeHex() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let big = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var whole = SHA256(); whole.update(big)
        var parts = SHA256(); var i = 0
        for n in [1, 63, 64, 65, 1000, 7] { parts.update(big[i..<(i + n)]); i += n }
        parts.update(big[i...])
        #expect(whole.finalizeHex() == parts.finalizeHex())
    }

    @Test func stableHashIsFNV1a64() {
        #expect(StableHash.fnv1a64("") == Int64(bitPattern: 0xcbf29ce484222325))
        #expect(StableHash.fnv1a64("a") == Int64(bitPattern: 0xaf63dc4c8601ec8c))
    }
}
