import Foundation
import Testing
import TestSupport
@testable import Vocab

@Suite struct EmbeddingTests {
    let words: [(String, [Float])] = [("the", [0.5, -1, 2]), ("Cat", [1, 2, 3]), ("dog", [-0.25, 0, 1e-3]), ("zebra", [9, 9, 9])]
    let tokens = ["<pad>", "<unk>", "the", "cat", "dog", "missing"]

    func writeText(_ path: String, header: Bool) throws {
        var s = header ? "\(words.count) 3\n" : ""
        for (w, v) in words { s += w + " " + v.map { "\($0)" }.joined(separator: " ") + "\n" }
        try s.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func writeBinary(_ path: String, truncateAt: Int? = nil) throws {
        var d = Data("\(words.count) 3\n".utf8)
        for (w, v) in words {
            d.append(contentsOf: Array(w.utf8) + [0x20])
            for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
            d.append(0x0A)
        }
        if let t = truncateAt { d = d.prefix(t) }
        try d.write(to: URL(fileURLWithPath: path))
    }

    @Test func textAndBinaryWord2VecLoadIdentically() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try writeText(dir.path("v.txt"), header: true)
        try writeBinary(dir.path("v.bin"))
        try writeText(dir.path("g.txt"), header: false)
        let text = try Embeddings.align(path: dir.path("v.txt"), format: .word2vec, tokens: tokens, padID: 0, specialIDs: [0, 1])
        let binary = try Embeddings.align(path: dir.path("v.bin"), format: .word2vecBinary, tokens: tokens, padID: 0, specialIDs: [0, 1])
        let glove = try Embeddings.align(path: dir.path("g.txt"), format: .glove, tokens: tokens, padID: 0, specialIDs: [0, 1])
        #expect(text.matrix == binary.matrix && text.matrix == glove.matrix)
        #expect(text.dim == 3 && text.found == 2 && text.folded == 1 && text.read == 4)
        #expect(Array(text.matrix[6..<9]) == [0.5, -1, 2])       // the
        #expect(Array(text.matrix[9..<12]) == [1, 2, 3])         // cat ← Cat (lowercase fallback)
        #expect(Array(text.matrix[0..<3]) == [0, 0, 0])          // pad
        #expect(text.matrix[15..<18].contains { $0 != 0 })        // missing: random, not zero
        #expect(abs(text.coverage - 0.75) < 1e-9)
        #expect(try Embeddings.guessFormat(path: dir.path("v.txt")) == .word2vec)
        #expect(try Embeddings.guessFormat(path: dir.path("g.txt")) == .glove)
    }

    @Test func badFilesAreClearErrors() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try "2 3\nthe 1 2 3\ncat 1 2\n".write(toFile: dir.path("ragged.txt"), atomically: true, encoding: .utf8)
        #expect(throws: VocabError("\(dir.path("ragged.txt")):3: 'cat' has 2 values, expected 3 (inconsistent dimensions)")) {
            try Embeddings.align(path: dir.path("ragged.txt"), format: .word2vec, tokens: tokens, padID: 0, specialIDs: [0, 1])
        }
        try writeBinary(dir.path("cut.bin"), truncateAt: 30)
        do {
            _ = try Embeddings.align(path: dir.path("cut.bin"), format: .word2vecBinary, tokens: tokens, padID: 0, specialIDs: [0, 1])
            Issue.record("a truncated binary file was accepted")
        } catch let e as VocabError {
            #expect(e.message.contains("truncated"))
        }
        try "3 3\nthe 1 2 3\n".write(toFile: dir.path("short.txt"), atomically: true, encoding: .utf8)
        #expect(throws: VocabError("\(dir.path("short.txt")): the header promises 3 vectors, the file has 1 (truncated?)")) {
            try Embeddings.align(path: dir.path("short.txt"), format: .word2vec, tokens: tokens, padID: 0, specialIDs: [0, 1])
        }
        try "the 1 x 3\n".write(toFile: dir.path("nan.txt"), atomically: true, encoding: .utf8)
        #expect(throws: VocabError("\(dir.path("nan.txt")):1: 'x' is not a number")) {
            try Embeddings.align(path: dir.path("nan.txt"), format: .glove, tokens: tokens, padID: 0, specialIDs: [0, 1])
        }
    }
}
