import Store

/// Options of the parallel (line-aligned) reader.
public struct ParallelLineOptions: Sendable, Hashable {
    /// A longer line (in either file) fails with `recordTooLong`.
    public var maxLineBytes = 64 << 20
    /// Bytes per `read(2)`, per file.
    public var blockSize = 1 << 20
    public init() {}
}

/// Reads two line-aligned UTF-8 files in lockstep, line k of the source with line k of the
/// target (the Moses / fairseq / OpenNMT layout: `train.de`, `train.en`).
///
/// - Fields: `source` and `target` (the lines, `.string`, empty lines included: alignment is
///   by line number, so nothing is skipped), and `line` (the 1-based line number as a string).
/// - The locator is the source file and the line (`train.de:42`); an error in the target file
///   (invalid UTF-8, a line too long) names the target file and its line instead.
/// - Invalid UTF-8 in either file is an `invalidUTF8` error at that file, line and column; both
///   lines of the pair have been consumed, so `next()` goes on with the next pair.
/// - Different line counts are a fatal `unalignedFiles` error, raised when one file ends
///   before the other: the rest of the longer file is counted so that the message gives both
///   true counts (`src.txt has 120 lines, tgt.txt has 119`). Line counting follows the line
///   readers: a last line without a newline counts, an empty file has no lines.
/// - LF or CRLF line ends (the CR is removed), a UTF-8 BOM at the start of either file skipped.
/// - `contentSHA256` identifies the pair: the SHA-256 of the 128 ASCII characters
///   `<source file's SHA-256 hex><target file's SHA-256 hex>` (lower-case hex, no separator),
///   available once both files have been read to their end with hashing on. It differs from
///   either file's own hash and from the pair's in the other order.
/// - `bytesRead` / `totalBytes` add up both files.
/// - One thread at a time, as every reader.
public final class ParallelLineReader: RecordReader {
    public enum Field: String, Sendable, Hashable, CaseIterable { case source, target, line }

    public let options: ParallelLineOptions
    private let sourceLines: LineReader
    private let targetLines: LineReader
    private let wanted: [Field]
    /// Set once the files turned out unaligned: every later `next()` throws it again.
    private var fatal: ImportError?
    private var done = false

    /// Opens both files.
    ///
    /// - Throws: `unknownColumn` for a field other than `source`, `target` and `line`;
    ///   `io` when a file cannot be opened.
    /// - Parameters:
    ///   - fields: `source`, `target`, `line`, in the order `RawRecord.fields` will hold them.
    ///   - sourceDisplayName / targetDisplayName: the names used in locators and messages
    ///     (default: the file names).
    ///   - hashing: compute `contentSHA256` while reading.
    public init(sourcePath: String, targetPath: String, fields: [String], options: ParallelLineOptions = ParallelLineOptions(),
                sourceDisplayName: String? = nil, targetDisplayName: String? = nil, hashing: Bool = false) throws(ImportError) {
        self.options = options
        var wanted: [Field] = []
        let sourceName = sourceDisplayName ?? ByteSource.lastComponent(sourcePath)
        for f in fields {
            guard let field = Field(rawValue: f) else {
                throw ImportError(.unknownColumn, RecordLocator(file: sourceName),
                                  "unknown field '\(f)' of a parallel corpus (its fields are 'source', 'target' and 'line')")
            }
            wanted.append(field)
        }
        self.wanted = wanted
        sourceLines = LineReader(source: try ByteSource(path: sourcePath, displayName: sourceDisplayName, hashing: hashing),
                                 blockSize: options.blockSize, maxLineBytes: options.maxLineBytes)
        targetLines = LineReader(source: try ByteSource(path: targetPath, displayName: targetDisplayName, hashing: hashing),
                                 blockSize: options.blockSize, maxLineBytes: options.maxLineBytes)
    }

    public var bytesRead: Int64 { sourceLines.source.bytesRead + targetLines.source.bytesRead }
    public var totalBytes: Int64? {
        guard let s = sourceLines.source.totalBytes, let t = targetLines.source.totalBytes else { return nil }
        return s + t
    }
    public var contentSHA256: String? {
        guard let s = sourceLines.source.digest, let t = targetLines.source.digest else { return nil }
        var h = SHA256()
        h.update(Array((s + t).utf8))
        return h.finalizeHex()
    }

    /// Pairs read so far.
    public var lineNumber: Int { sourceLines.lineNumber }

    public func noRecordsExplanation() -> String { "both files are empty" }

    public func next() throws(ImportError) -> RawRecord? {
        if let fatal { throw fatal }
        if done { return nil }
        let s = try sourceLines.nextLine()
        let t = try targetLines.nextLine()
        guard let s, let t else {
            if s == nil, t == nil { done = true; return nil }
            let error = try unaligned(sourceEnded: s == nil)
            fatal = error
            throw error
        }
        var fields: [FieldValue] = []
        fields.reserveCapacity(wanted.count)
        // Both lines are consumed before either is decoded: after an error the files stay in step.
        let source = wanted.contains(.source) ? try sourceLines.decode(s) : nil
        let target = wanted.contains(.target) ? try targetLines.decode(t) : nil
        for f in wanted {
            switch f {
            case .source: fields.append(.string(source!))
            case .target: fields.append(.string(target!))
            case .line: fields.append(.string(String(sourceLines.lineNumber)))
            }
        }
        return RawRecord(locator: sourceLines.locator(), fields: fields)
    }

    /// The error for files of different lengths, once the shorter one has ended: counts the
    /// rest of the longer one (to its end, which also completes its hash).
    private func unaligned(sourceEnded: Bool) throws(ImportError) -> ImportError {
        let longer = sourceEnded ? targetLines : sourceLines
        let shorter = sourceEnded ? sourceLines : targetLines
        let shorterCount = shorter.lineNumber
        while try longer.nextLine() != nil {}
        let longerCount = longer.lineNumber
        let (sourceCount, targetCount) = sourceEnded ? (shorterCount, longerCount) : (longerCount, shorterCount)
        let s = sourceLines.source.displayName, t = targetLines.source.displayName
        func lines(_ n: Int) -> String { n == 1 ? "1 line" : "\(n) lines" }
        return ImportError(.unalignedFiles, RecordLocator(file: s, line: shorterCount + 1),
                           "\(s) has \(lines(sourceCount)), \(t) has \(lines(targetCount)): a parallel corpus needs one target line per source line"
                           + " (line \(shorterCount + 1) of \(longer.source.displayName) has no counterpart)")
    }
}
