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

/// The ASCII word segmenter must cut exactly where ICU does, with the same kinds.
@Suite("ASCII fast path equals ICU", .enabled(if: Corpora.available, Comment(rawValue: Corpora.skipMessage)))
struct FastPathTests {
    @Test(arguments: (try? Corpora.files()) ?? [])
    func sameSegmentsAsICU(file: URL) throws {
        let pipeline = try TextPipeline(normalize: "none", tokenize: "words(whitespace=keep)")
        let fast = try TextProcessor(pipeline: pipeline), icu = try TextProcessor(pipeline: pipeline, fastPaths: false)
        let content = try String(contentsOf: file, encoding: .utf8)
        var asciiLines = 0
        for line in content.split(separator: "\n") {
            let text = String(line)
            if text.utf8.allSatisfy({ $0 < 0x80 }) { asciiLines += 1 }
            let a = try fast.tokenize(text), b = try icu.tokenize(text)
            if a.tokens != b.tokens {
                Issue.record("fast path \(a.tokenTexts) (\(a.tokens.map(\.kind))) but ICU \(b.tokenTexts) (\(b.tokens.map(\.kind))) for \(text.debugDescription)")
                return
            }
        }
        #expect(asciiLines > 0 || file.path.contains("chinese"))
    }

    @Test(arguments: ["", "en", "en_US_POSIX", "fi", "sv", "ja"])
    func tricky(locale: String) throws {
        let pipeline = try TextPipeline(normalize: "none", tokenize: "words(whitespace=keep)", locale: locale)
        let fast = try TextProcessor(pipeline: pipeline), icu = try TextProcessor(pipeline: pipeline, fastPaths: false)
        for text in ["don't", "U.S.A. 3.14.15 1,000,000 a.b 1.a a'1 '' x'' 'x", "a\"b\"", "  \t\t  x  ", "a1b2 3c 4'5 6,7;8",
                     "e.g.,", "...", "$5.00", "50%", "#tag @user http://x.y/z?q=1&r=2", "a-b--c", "x__y _ a_1", "10:30 a:b", ""] {
            #expect(try fast.tokenize(text).tokens == icu.tokenize(text).tokens, "\(text)")
        }
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

    /// Memory is bounded by the items in flight: the queue must not keep consumed items alive.
    @Test func consumedItemsAreReleased() throws {
        final class Tracked: @unchecked Sendable {
            nonisolated(unsafe) static var live = 0
            static let lock = NSLock()
            let payload = [UInt8](repeating: 1, count: 1024)
            init() { Self.lock.withLock { Self.live += 1 } }
            deinit { Self.lock.withLock { Self.live -= 1 } }
        }
        var produced = 0
        var mostAlive = 0
        try OrderedParallelMap.run(threads: 2, makeWorker: { 0 },
                                   next: { () -> Tracked? in produced += 1; return produced <= 3000 ? Tracked() : nil },
                                   transform: { _, item in item.payload.count },
                                   consume: { _ in mostAlive = max(mostAlive, Tracked.lock.withLock { Tracked.live }) })
        #expect(mostAlive <= 2 * 2 + 64, "\(mostAlive) items alive at once")
        #expect(Tracked.lock.withLock { Tracked.live } == 0)
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
