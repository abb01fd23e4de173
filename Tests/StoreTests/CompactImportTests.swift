import Testing
import Foundation
@testable import Store

/// Layout 2 of the token blob, the bulk insert path, the SHA extensions path of SHA-256.
@Suite struct CompactImportTests {
    private func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    @Test func compactTokenBlobLayoutIsExactlyAsDocumented() throws {
        // Non-ASCII: scalar offsets differ from UTF-8 offsets, so both are stored; width 1.
        let spans = [TokenSpan(scalarStart: 0, scalarEnd: 2, utf8Start: 0, utf8End: 6),
                     TokenSpan(scalarStart: 3, scalarEnd: 4, utf8Start: 7, utf8End: 8)]
        let blob = TokenBlob.encodeCompact(spans: spans, tokens: ["好书", "a"])
        let expected: [UInt8] = [1, 0, 0, 0x82, 2, 0, 0, 0] + [0, 6, 7, 8] + [0, 2, 3, 4] + [0, 6, 7] + Array("好书a".utf8)
        #expect(blob == expected)
        #expect(TokenBlob.isCompact(blob) && TokenBlob.tokenCount(blob) == 2)
        #expect(try TokenBlob.decode(blob) == DecodedTokens(spans: spans, tokens: ["好书", "a"]))
        // Both layouts decode to the same tokens.
        #expect(try TokenBlob.decode(TokenBlob.encode(spans: spans, tokens: ["好书", "a"])) == TokenBlob.decode(blob))
    }

    @Test func asciiOffsetsAreStoredOnceAndWidthGrowsWithTheText() throws {
        let ascii = [TokenSpan(scalarStart: 0, scalarEnd: 3, utf8Start: 0, utf8End: 3),
                     TokenSpan(scalarStart: 300, scalarEnd: 302, utf8Start: 300, utf8End: 302)]
        let blob = TokenBlob.encodeCompact(spans: ascii, tokens: ["the", "ok"])
        let expected: [UInt8] = [2, 1, 0, 0x82, 2, 0, 0, 0] + [0, 3, 300, 302, 0, 3, 5].flatMap { le16($0) } + Array("theok".utf8)
        #expect(blob == expected)
        #expect(try TokenBlob.decode(blob) == DecodedTokens(spans: ascii, tokens: ["the", "ok"]))
        let far = [TokenSpan(scalarStart: 70_000, scalarEnd: 70_001, utf8Start: 70_000, utf8End: 70_004)]
        let wide = TokenBlob.encodeCompact(spans: far, tokens: ["x"])
        #expect(wide[0] == 4 && wide[1] == 0 && wide.count == 8 + 4 * (4 + 2) + 1)
        #expect(try TokenBlob.decode(wide).spans == far)
        let empty = TokenBlob.encodeCompact(spans: [], tokens: [])
        #expect(empty == [1, 1, 0, 0x82, 0, 0, 0, 0, 0])
        #expect(try TokenBlob.decode(empty) == DecodedTokens(spans: [], tokens: []))
    }

    @Test func textSliceBlobsStoreOffsetsOnlyAndReadTheirTokensFromTheText() throws {
        var b = TokenBlob.Builder()
        b.appendSlice(TokenSpan(scalarStart: 0, scalarEnd: 2, utf8Start: 0, utf8End: 6))
        b.appendSlice(TokenSpan(scalarStart: 3, scalarEnd: 4, utf8Start: 7, utf8End: 8))
        let blob = b.finishCompact()
        #expect(blob == [1, 2, 0, 0x82, 2, 0, 0, 0] + [0, 6, 7, 8] + [0, 2, 3, 4])
        #expect(TokenBlob.tokenCount(blob) == 2)
        #expect(try TokenBlob.decode(blob, text: "好书 a") == DecodedTokens(spans: [TokenSpan(scalarStart: 0, scalarEnd: 2, utf8Start: 0, utf8End: 6),
                                                                             TokenSpan(scalarStart: 3, scalarEnd: 4, utf8Start: 7, utf8End: 8)],
                                                                     tokens: ["好书", "a"]))
        // ASCII: flags 3, the UTF-8 offsets only.
        var a = TokenBlob.Builder()
        a.appendSlice(TokenSpan(scalarStart: 0, scalarEnd: 3, utf8Start: 0, utf8End: 3))
        #expect(a.finishCompact() == [1, 3, 0, 0x82, 1, 0, 0, 0, 0, 3])
        for (text, message) in [(nil, "token blob: its tokens are slices of the example's text, which was not given"),
                                ("好书", "token blob: token 1 at UTF-8 7..<8 is outside the 6-byte text"),
                                ("x好书 a", "token blob: token 0 does not fall on character boundaries of the text")] as [(String?, String)] {
            #expect { try TokenBlob.decode(blob, text: text) } throws: { ($0 as? StoreError)?.message == message }
        }
        #expect { try TokenBlob.decode(blob + [0], text: "好书 a") } throws: { ($0 as? StoreError)?.message == "token blob: 1 trailing bytes" }
    }

    /// The bulk writer of text-slice blobs writes exactly what the builder writes.
    @Test func bulkSliceWriterEqualsTheBuilder() throws {
        var seed: UInt64 = 7
        func next(_ bound: Int32) -> Int32 { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int32((seed >> 33) % UInt64(bound)) }
        for round in 0..<300 {
            let n = round % 7 == 0 ? 0 : Int(next(40)) + 1
            let step: Int32 = [1, 3, 200, 5000][round % 4]
            var spans: [TokenSpan] = []
            var utf8: Int32 = 0, scalar: Int32 = 0
            for _ in 0..<n {
                let length = next(step) + 1, gap = next(3)
                let scalars = round % 2 == 0 ? length : max(1, length / 2)   // ASCII, or multi-byte characters
                spans.append(TokenSpan(scalarStart: scalar + gap, scalarEnd: scalar + gap + scalars, utf8Start: utf8 + gap, utf8End: utf8 + gap + length))
                utf8 += gap + length; scalar += gap + scalars
            }
            var builder = TokenBlob.Builder()
            for s in spans { builder.appendSlice(s) }
            var bulk: [UInt8] = [9, 9]   // appends after what is there
            let size = TokenBlob.appendCompactSlices(count: n, to: &bulk) { spans[$0] }
            #expect(Array(bulk.dropFirst(2)) == builder.finishCompact(), "round \(round)")
            #expect(size == bulk.count - 2)
        }
    }

    @Test func malformedCompactBlobsAreRejected() {
        let good = TokenBlob.encodeCompact(spans: [TokenSpan(scalarStart: 0, scalarEnd: 1, utf8Start: 0, utf8End: 1)], tokens: ["ab"])
        var badWidth = good; badWidth[0] = 3
        var badFlags = good; badFlags[1] = 6
        for (bad, message) in [(Array(good.prefix(6)), "token blob: shorter than its 8-byte header"),
                               (badWidth, "token blob: offset width 3 is not 1, 2 or 4"),
                               (badFlags, "token blob: unknown flags 6"),
                               (Array(good.dropLast()), "token blob: string offset 2 of token 0 out of range 0...1"),
                               (good + [0], "token blob: 1 trailing bytes"),
                               (Array(good.dropLast(2)) + [0xC3, 0x28], "token blob: token 0 is not valid UTF-8")] {
            #expect { try TokenBlob.decode(bad) } throws: { ($0 as? StoreError)?.message == message }
        }
    }

    @Test func bulkPathWritesWhatAddWritesAndValidatesFirst() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("mtl.sqlite"))
        let s = try session(store, info())
        let topic = try s.task("topic", kind: .classification)
        let tags = try s.task("tags", kind: .tagging, tagScheme: .bio)
        let set = try s.task("set", kind: .multilabel)
        for n in ["a", "b"] { _ = try s.labelID(n, task: topic.id); _ = try s.labelID(n, task: tags.id); _ = try s.labelID(n, task: set.id) }
        let blob = TokenBlob.encodeCompact(spans: [TokenSpan(scalarStart: 0, scalarEnd: 2, utf8Start: 0, utf8End: 2),
                                                   TokenSpan(scalarStart: 3, scalarEnd: 5, utf8Start: 3, utf8End: 5)], tokens: ["ab", "cd"])
        func add(_ annotations: [ImportSession.RawAnnotation], _ ids: [Int32]) throws -> Int64 {
            let loc = Array("x.csv:2".utf8), text = Array("ab cd".utf8), group = Array("g".utf8)
            return try loc.withUnsafeBytes { l in try text.withUnsafeBytes { t in try blob.withUnsafeBytes { b in
                try group.withUnsafeBytes { g in try annotations.withUnsafeBufferPointer { a in try ids.withUnsafeBufferPointer { i in
                    try s.addExample(locator: l, text: t, tokens: b, normHash: 7, groupKey: g, annotations: a, ids: i)
                } } } } } }
        }
        let id = try add([.init(taskID: topic.id, start: 0, count: 1), .init(taskID: tags.id, start: 1, count: 2),
                          .init(taskID: set.id, start: 3, count: 2)], [1, 0, 1, 0, 1])
        for (annotations, ids) in [([ImportSession.RawAnnotation(taskID: tags.id, start: 0, count: 1)], [Int32(0)]),   // 1 tag, 2 tokens
                                   ([.init(taskID: topic.id, start: 0, count: 2)], [0, 1]),                           // 2 labels
                                   ([.init(taskID: set.id, start: 0, count: 2)], [1, 1]),                             // not a set
                                   ([.init(taskID: topic.id, start: 0, count: 1)], [5]),                              // unknown id
                                   ([.init(taskID: 99, start: 0, count: 1)], [0])] {                                  // unknown task
            #expect(throws: StoreError.self) { try add(annotations, ids) }
        }
        let r = try s.commit()
        #expect(r.examples == 1 && r.labelCounts["tags"] == ["a": 1, "b": 1] && r.labelCounts["set"] == ["a": 1, "b": 1])
        let d = try #require(try store.example(id: id))
        #expect(d.example.locator == "x.csv:2" && d.example.text == "ab cd" && d.example.groupKey == "g" && d.example.normHash == 7)
        #expect(d.tokens.tokens == ["ab", "cd"])
        #expect(d.annotations.map { "\($0.task.name):\($0.names)" } == [#"topic:["b"]"#, #"tags:["a", "b"]"#, #"set:["a", "b"]"#])
        #expect(try store.stats().examples == 1)
    }

    @Test func newStoresUseLargePagesAndExistingOnesKeepTheirs() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("new.sqlite"))
        #expect(try store.connection.scalar("PRAGMA page_size") == .integer(Int64(ExampleStore.newStorePageSize)))
        let old = try Connection(path: dir.path("old.sqlite"))
        try old.execute("CREATE TABLE t(x)")
        let reopened = try ExampleStore(path: dir.path("old.sqlite"))
        #expect(try reopened.connection.scalar("PRAGMA page_size") == .integer(4096))
    }

    @Test func sha256MatchesKnownDigestsHoweverTheBytesArrive() {
        func hex(_ parts: [[UInt8]]) -> String { var h = SHA256(); for p in parts { h.update(p) }; return h.finalizeHex() }
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        let digest = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        #expect(hex([million]) == digest)
        #expect(hex([Array(million[..<3]), Array(million[3..<200_001]), Array(million[200_001...])]) == digest)
        #expect(hex([Array("abc".utf8)]) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(hex([long]) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}
