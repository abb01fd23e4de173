import ArgumentParser
import Foundation
import Text

extension InvalidUTF8Policy: ExpressibleByArgument {}

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Normalize and tokenize lines of text and print the tokens.",
        discussion: """
            Reads lines from the files given (or standard input) and prints, per line, its tokens: \
            with --format text the normalized tokens separated by spaces, one output line per input line; \
            with --format jsonl one JSON object per line with every token's normalized text, its \
            [start, end) in Unicode scalars and in UTF-8 bytes of the ORIGINAL line, and its kind.

            Normalizer spec: comma-separated steps, e.g. 'nfkc_cf' or \
            'clean,nfkc,casefold(tr),transform(Traditional-Simplified),collapse_ws'. Steps: \
            nfc, nfd, nfkc, nfkd, nfkc_cf, lowercase[(locale)], uppercase[(locale)], casefold[(locale)], \
            strip_accents, width, clean, collapse_ws, transform(ICU-ID), keep([set]), remove([set]), none.

            Tokenizer spec: words | sentences | graphemes | whitespace | regex(PATTERN) | pretokenized, \
            with options such as words(locale=th,punct=drop,symbols=drop,whitespace=keep).
            """
    )

    @Option(name: .customLong("normalize"), help: "Normalizer chain spec.")
    var normalize = "nfkc_cf"

    @Option(name: .customLong("tokenizer"), help: "Tokenizer spec.")
    var tokenizer = "words"

    @Option(help: "Locale for case mapping and segmentation, e.g. tr, th, zh (default: root).")
    var locale = ""

    @Option(help: "Worker threads (default: all cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Output format: text or jsonl.")
    var format: OutputFormat = .text

    @Option(name: .customLong("invalid-utf8"), help: "On bytes that are not UTF-8: fail (report the line and byte) or replace with U+FFFD.")
    var invalidUTF8: InvalidUTF8Policy = .fail

    @Argument(help: "Input files (default: standard input; '-' is standard input).")
    var files: [String] = []

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, jsonl
    }

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let pipeline: TextPipeline
        do {
            pipeline = try TextPipeline(normalize: normalize, tokenize: tokenizer, locale: locale, invalidUTF8: invalidUTF8)
        } catch let error as TextError {
            throw CLIError(error.message)
        }
        let reader = LineChunkReader(paths: files)
        let format = self.format
        try OrderedParallelMap.run(
            threads: threads,
            makeWorker: { try pipeline.makeProcessor() },
            next: { try reader.next() },
            transform: { processor, chunk in try Self.render(chunk, with: processor, format: format) },
            consume: { try StandardOutput.write($0) }
        )
    }

    private static func render(_ chunk: LineChunk, with processor: TextProcessor, format: OutputFormat) throws -> [UInt8] {
        var batch = TokenizedBatch()
        batch.reserveCapacity(texts: chunk.starts.count, bytes: chunk.bytes.count)
        try chunk.bytes.withUnsafeBufferPointer { bytes in
            for i in chunk.starts.indices {
                do {
                    try processor.tokenize(utf8: UnsafeBufferPointer(rebasing: bytes[chunk.starts[i]..<chunk.ends[i]]), into: &batch)
                } catch let error as TextError {
                    var message = "\(chunk.file):\(chunk.firstLine + i): \(error.message)"
                    if case .invalidUTF8 = error.kind { message += " of the line (--invalid-utf8 replace substitutes U+FFFD)" }
                    throw CLIError(message)
                }
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(chunk.bytes.count * (format == .text ? 1 : 8) + 64)
        for i in 0..<batch.count {
            switch format {
            case .text:
                for (k, token) in batch.tokens(of: i).enumerated() {
                    if k > 0 { out.append(0x20) }
                    out.append(contentsOf: batch.normalizedBytes(of: token, in: i))
                }
            case .jsonl:
                out.append(contentsOf: #"{"line":\#(chunk.firstLine + i),"tokens":["#.utf8)
                for (k, token) in batch.tokens(of: i).enumerated() {
                    if k > 0 { out.append(0x2C) }
                    out.append(contentsOf: #"{"text":"#.utf8)
                    JSONText.appendString(batch.normalizedBytes(of: token, in: i), to: &out)
                    out.append(contentsOf: #","start":\#(token.scalarStart),"end":\#(token.scalarEnd),"byte_start":\#(token.utf8Start),"byte_end":\#(token.utf8End),"kind":"\#(token.kind)"}"#.utf8)
                }
                out.append(contentsOf: "]}".utf8)
            }
            out.append(0x0A)
        }
        return out
    }
}

/// JSON string escaping without Foundation's encoder (which would cost more than tokenizing).
enum JSONText {
    static func appendString(_ text: ArraySlice<UInt8>, to out: inout [UInt8]) {
        out.append(0x22)
        for byte in text {
            switch byte {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            default: out.append(byte)
            }
        }
        out.append(0x22)
    }
}
