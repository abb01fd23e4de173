import Foundation
import Testing
@testable import Text

/// The offset guarantee over real text: for every token of every line of every corpus file,
/// normalizing the original text at the token's offsets gives the token, scalar and UTF-8
/// offsets agree, and tokens never overlap. Lines hold every text field of these files (CSV
/// and TSV rows, XML text, CoNLL tokens), plus the markup around them, which is more text to check.
@Suite("Offsets hold on every corpus file", .enabled(if: Corpora.available, Comment(rawValue: Corpora.skipMessage)))
struct CorpusPropertyTests {
    static let pipelines: [(String, String, String)] = [
        ("nfkc_cf", "words", ""),
        ("clean,nfkc,lowercase,collapse_ws", "words(punct=drop)", ""),
        ("nfd,strip_accents,width,casefold(tr)", "regex(\\p{L}+|\\p{N}+|\\S)", "tr"),
        ("clean,nfkc_cf,transform(Traditional-Simplified)", "graphemes", "zh"),
        ("nfc", "sentences", "en"),
    ]

    @Test(arguments: (try? Corpora.files()) ?? [], 0..<pipelines.count)
    func offsetsHold(file: URL, pipelineIndex: Int) throws {
        let (normalize, tokenize, locale) = Self.pipelines[pipelineIndex]
        let processor = try TextPipeline(normalize: normalize, tokenize: tokenize, locale: locale).makeProcessor()
        let content = try String(contentsOf: file, encoding: .utf8)
        var checked = 0
        for line in content.split(separator: "\n", omittingEmptySubsequences: true) {
            let text = try processor.tokenize(String(line))
            try expectOffsetsHold(text, processor)
            checked += text.tokens.count
        }
        #expect(checked > 0, "no tokens in \(file.lastPathComponent)")
    }
}

@Suite("Threads")
struct ParallelTests {
    @Test func outputOrderAndContentDoNotDependOnThreadCount() throws {
        let pipeline = try TextPipeline()
        let lines = (0..<3000).map { i in i % 3 == 0 ? "第\(i)行：我正在写这本书" : "Line \(i): Don't re-use ＴＨＩＳ ½" }
        func run(threads: Int) throws -> [[String]] {
            var chunks = stride(from: 0, to: lines.count, by: 97).map { Array(lines[$0..<min($0 + 97, lines.count)]) }.makeIterator()
            var out: [[String]] = []
            try OrderedParallelMap.run(threads: threads, makeWorker: { try pipeline.makeProcessor() },
                                       next: { chunks.next() },
                                       transform: { processor, chunk in try chunk.map { try processor.tokenize($0).tokenTexts.map(String.init) } },
                                       consume: { out.append(contentsOf: $0) })
            return out
        }
        let one = try run(threads: 1)
        #expect(one.count == lines.count)
        #expect(try run(threads: 2) == one)
        #expect(try run(threads: 4) == one)
    }

    @Test func workerErrorsReachTheCaller() throws {
        let pipeline = try TextPipeline()
        var items = [Array("ok".utf8), [0xFF], Array("fine".utf8)].makeIterator()
        #expect(throws: TextError.self) {
            try OrderedParallelMap.run(threads: 2, makeWorker: { try pipeline.makeProcessor() },
                                       next: { items.next() },
                                       transform: { processor, bytes in try bytes.withUnsafeBufferPointer { try processor.tokenize(utf8: $0) } },
                                       consume: { _ in })
        }
    }
}
