import ArgumentParser
import CICU
import CorpusImport
import Foundation
import Text

/// `mtl-bench tokenize`: NFKC_Casefold + ICU words + offsets over the SST-2 sentences and the
/// Chinese reviews, one and two threads, tokens materialized as the pipeline hands them on;
/// beside ICU's own break iterator over one buffer, `mtl-prep tokenize` end to end, and the
/// peers (HF tokenizers, PyICU) from ../shared/bench/tok_peers.py.
struct TokenizeBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Tokenizer throughput against ICU and the Python peers.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Repeat each corpus until its line file holds at least this many bytes, so that thread start-up and the last chunk do not dominate a run.")
    var minimumBytes = 16_000_000

    @Option(help: "Which corpora to run: sst2, chinese or both.")
    var corpus: CorpusChoice = .both

    enum CorpusChoice: String, ExpressibleByArgument { case sst2, chinese, both }

    func run() throws {
        let workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-bench-tokenize-\(getpid())")
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDirectory) }
        let corpora = URL(fileURLWithPath: options.corpora)
        if corpus != .chinese {
            let file = try LineFiles.repeated(LineFiles.sst2Sentences(corpora, into: workDirectory), toAtLeast: minimumBytes)
            try bench(corpus: "sst2", file: file, mtlPrep: options.mtlPrepPath)
        }
        if corpus != .sst2 {
            let file = try LineFiles.repeated(LineFiles.chineseReviews(corpora, into: workDirectory), toAtLeast: minimumBytes)
            try bench(corpus: "chinese", file: file, mtlPrep: options.mtlPrepPath)
        }
    }

    private func bench(corpus: String, file: URL, mtlPrep: String) throws {
        let content = try Data(contentsOf: file)
        let lines = content.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map { Array($0) }
        let megabytes = Double(content.count) / 1e6
        let pipeline = try TextPipeline(normalize: "nfkc_cf", tokenize: "words")
        // tokens_per_s counts what each side produces: ICU's reference counts only segments with a
        // non-zero rule status, mtl every kept token (punctuation too). Compare MB/s.
        func report(_ impl: String, threads: Int, seconds: Double, tokens: Int) {
            emit(["bench": "tokenize", "corpus": corpus, "impl": impl, "threads": threads, "mb_per_s": megabytes / seconds,
                  "tokens_per_s": Double(tokens) / seconds, "tokens": tokens, "seconds_median": seconds, "mb": megabytes])
        }

        // Reference: ICU's own break iterator over the whole file as one UTF-16 buffer, nothing kept.
        let units = Array(String(decoding: content, as: UTF8.self).utf16)
        var referenceCount: Int64 = 0
        let reference = medianSeconds(repeats: options.repeats) {
            referenceCount = units.withUnsafeBufferPointer { mtl_reference_word_count($0.baseAddress, Int32($0.count), "") }
        }
        report("icu-breakiterator-one-buffer", threads: 1, seconds: reference, tokens: Int(referenceCount))
        // The same iterator run line by line: what ICU itself costs when each text is set on its own.
        var lineStarts: [Int32] = [0]
        for (i, unit) in units.enumerated() where unit == 0x0A { lineStarts.append(Int32(i + 1)) }
        let perLine = medianSeconds(repeats: options.repeats) {
            referenceCount = units.withUnsafeBufferPointer { text in
                lineStarts.withUnsafeBufferPointer { mtl_reference_word_count_lines(text.baseAddress, $0.baseAddress, Int32($0.count - 1), "") }
            }
        }
        report("icu-breakiterator-per-line", threads: 1, seconds: perLine, tokens: Int(referenceCount))

        // Ours, one thread: every line through the pipeline, every token materialized with its
        // offsets into a TokenizedBatch per chunk of lines — the form the pipeline hands on.
        // Chunks of ~256 KB of lines, as `mtl-prep tokenize` reads them.
        var chunks: [[[UInt8]]] = [[]]
        var chunkBytes = 0
        for line in lines {
            if chunkBytes >= 256 << 10 { chunks.append([]); chunkBytes = 0 }
            chunks[chunks.count - 1].append(line)
            chunkBytes += line.count + 1
        }
        let tokenizeChunk: @Sendable (TextProcessor, [[UInt8]]) throws -> TokenizedBatch = { processor, chunk in
            var batch = TokenizedBatch()
            batch.reserveCapacity(texts: chunk.count, bytes: chunk.reduce(0) { $0 + $1.count })
            for line in chunk { try line.withUnsafeBufferPointer { try processor.tokenize(utf8: $0, into: &batch) } }
            return batch
        }
        func tokenizeAll(threads: Int) throws -> Double {
            var count = 0
            let seconds = try medianSeconds(repeats: options.repeats) {
                count = 0
                var iterator = chunks.makeIterator()
                try OrderedParallelMap.run(threads: threads, makeWorker: { try pipeline.makeProcessor() }, next: { iterator.next() },
                                           transform: tokenizeChunk, consume: { count += $0.allTokens.count })
            }
            report("mtl", threads: threads, seconds: seconds, tokens: count)
            return seconds
        }
        let one = try tokenizeAll(threads: 1)
        let two = try tokenizeAll(threads: 2)
        let processor = try pipeline.makeProcessor()
        var tokenCount = 0
        let perText = try medianSeconds(repeats: options.repeats) {
            tokenCount = 0
            for line in lines { tokenCount += try line.withUnsafeBufferPointer { try processor.tokenize(utf8: $0) }.tokens.count }
        }
        report("mtl-one-TokenizedText-per-line", threads: 1, seconds: perText, tokens: tokenCount)

        var figures: [String: Any] = ["bench": "tokenize", "corpus": corpus, "figure": "ratios",
                                      "one_thread_vs_icu_breakiterator": reference / one,
                                      "one_thread_vs_icu_breakiterator_per_line": perLine / one,
                                      "two_threads_vs_one": one / two]

        // End to end: the CLI reading the file and writing tokens (to /dev/null).
        if FileManager.default.isExecutableFile(atPath: mtlPrep) {
            for threads in [1, 2] {
                let seconds = try medianSeconds(repeats: max(1, options.repeats / 2)) {
                    _ = try runProgram(mtlPrep, ["tokenize", "--threads", "\(threads)", file.path], stdoutTo: "/dev/null")
                }
                emit(["bench": "tokenize", "corpus": corpus, "impl": "mtl-prep-tokenize-cli", "threads": threads,
                      "mb_per_s": megabytes / seconds, "seconds_median": seconds, "mb": megabytes])
                figures["cli_\(threads)_thread_mb_per_s"] = megabytes / seconds
            }
        }

        // Peers, same file, same run.
        if let script = options.peerScript("tok_peers.py") {
            let output = try runProgram(options.python, [script, file.path, "hf", "icu"], environment: ["RAYON_NUM_THREADS": "1"])
            for line in output.split(separator: "\n") {
                let fields = line.split(separator: "\t")
                guard let name = fields.first, let rate = fields.first(where: { $0.hasPrefix("MB/s=") }).flatMap({ Double($0.dropFirst(5)) }) else { continue }
                emit(["bench": "tokenize", "corpus": corpus, "impl": String(name), "threads": 1, "mb_per_s": rate])
                let key = name.hasPrefix("pyicu") ? "one_thread_vs_pyicu" : "one_thread_vs_hf_tokenizers"
                figures[key] = (megabytes / one) / rate
            }
        }
        emit(figures)
    }
}

/// The benchmark inputs as files of one text per line, the form the peer scripts read.
enum LineFiles {
    /// The file's lines repeated until it holds at least `bytes` bytes (at least once).
    static func repeated(_ file: URL, toAtLeast bytes: Int) throws -> URL {
        let content = try Data(contentsOf: file)
        guard !content.isEmpty, content.count < bytes else { return file }
        var repeated = Data(capacity: bytes + content.count)
        while repeated.count < bytes { repeated.append(content) }
        try repeated.write(to: file)
        return file
    }

    static func sst2Sentences(_ corpora: URL, into directory: URL) throws -> URL {
        let source = try String(contentsOf: corpora.appendingPathComponent("sst2/train.tsv"), encoding: .utf8)
        let sentences = source.split(separator: "\n").dropFirst().map { $0.split(separator: "\t", omittingEmptySubsequences: false)[0] }
        let file = directory.appendingPathComponent("sst2-sentences.txt")
        try (sentences.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// The `review` column of the Chinese shopping reviews, newlines inside a review turned into spaces.
    static func chineseReviews(_ corpora: URL, into directory: URL) throws -> URL {
        let reader = try CSVReader(path: corpora.appendingPathComponent("chinese/online_shopping_10_cats.csv").path,
                                   columns: [.name("review")])
        var reviews: [String] = []
        while let record = try reader.next() {
            let review = record.fields[0].single ?? ""
            reviews.append(String(review.map { $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 }))
        }
        let file = directory.appendingPathComponent("chinese-reviews.txt")
        try (reviews.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        return file
    }
}
