#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the importer reads XML; the defaults are what `mtl-prep import` uses, tests and the
/// fuzzing harness change them.
public struct XMLReading: Sendable {
    /// Use `XMLSubsetParser` when the field expressions allow it (else libxml2 throughout).
    public var subsetParser = true
    /// Bytes read at a time; small values make every construct cross a block boundary.
    public var blockSize = 1 << 20

    public init(subsetParser: Bool = true, blockSize: Int = 1 << 20) { self.subsetParser = subsetParser; self.blockSize = blockSize }

    /// The reader for `path`: the subset parser's when it can serve the fields and the file
    /// can be read twice (a regular file), else libxml2's `XMLRecordReader`.
    public func makeReader(path: String, fields: [String], options: XMLOptions, displayName: String?,
                           hashing: Bool) throws(ImportError) -> any RecordReader {
        let paths = fields.compactMap { XMLFieldPath($0, namespaces: options.namespaces) }
        var st = stat()
        guard subsetParser, paths.count == fields.count, stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            return try XMLRecordReader(path: path, fields: fields, options: options, displayName: displayName, hashing: hashing)
        }
        return try FastXMLRecordReader(path: path, fields: fields, paths: paths, options: options, displayName: displayName,
                                       hashing: hashing, blockSize: blockSize)
    }
}

/// Reads XML records with `XMLSubsetParser` and hands the file to libxml2's
/// `XMLRecordReader` when the parser stops at something it does not check (another
/// encoding, a DTD, an error): libxml2 reads the file again from the start, the records
/// already returned are skipped, and it goes on from there — or reports the error exactly as
/// it does without this reader. Hand-overs cost a second parse of what came before; they
/// happen on unusual files and on errors, which end the import anyway.
///
/// Memory: one block (1 MB) plus the record being parsed; a unit (a record, a text run) that
/// outgrows `maxBuffer` is left to libxml2.
final class FastXMLRecordReader: RecordReader {
    static let maxBuffer = 64 << 20

    private let path: String, fields: [String], options: XMLOptions, displayName: String?, hashing: Bool
    private var source: ByteSource?
    private var parser: XMLSubsetParser
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    private var atEOF = false
    private let size: Int64?
    private var fallback: XMLRecordReader?
    /// Why libxml2 took over, nil while it has not.
    private(set) var handOverReason: String?

    init(path: String, fields: [String], paths: [XMLFieldPath], options: XMLOptions, displayName: String?,
         hashing: Bool, blockSize: Int) throws(ImportError) {
        self.path = path; self.fields = fields; self.options = options; self.displayName = displayName; self.hashing = hashing
        let source = try ByteSource(path: path, displayName: displayName, hashing: hashing)
        self.source = source
        size = source.totalBytes
        parser = XMLSubsetParser(fields: paths, options: options, file: source.displayName)
        capacity = max(blockSize, 16)
        buffer = .allocate(capacity: capacity + XMLSubsetParser.padding)
        buffer.initialize(repeating: 0, count: XMLSubsetParser.padding)
    }

    deinit { buffer.deallocate() }

    var bytesRead: Int64 { fallback?.bytesRead ?? source?.bytesRead ?? 0 }
    var totalBytes: Int64? { size }
    var contentSHA256: String? { fallback?.contentSHA256 ?? source?.digest }

    /// libxml2 reads the file once more to list its top elements: only on the way to an error.
    func noRecordsExplanation() -> String {
        if let fallback { return fallback.noRecordsExplanation() }
        guard let survey = try? XMLRecordReader(path: path, fields: [], options: options, displayName: displayName) else {
            return ElementSurvey().explanation(options)
        }
        while (try? survey.next()) ?? nil != nil {}
        return survey.noRecordsExplanation()
    }

    func next() throws(ImportError) -> RawRecord? {
        if let fallback { return try fallback.next() }
        while true {
            let start = parser.pos
            let record: RawRecord?
            do throws(XMLScanStop) {
                record = try parser.next(buffer, end: count, atEOF: atEOF)
            } catch {
                switch error {
                case .needMore where !atEOF:
                    if try !refill() { return try handOver("a unit longer than \(Self.maxBuffer) bytes") }
                case .needMore:
                    return try handOver("unexpected end of file")
                case .unsupported(let reason):
                    return try handOver(reason)
                }
                continue
            }
            // The bytes parsed for it bound the record element's size from above: when they pass
            // the limit, libxml2 measures the record and reports it if it is too long.
            if record != nil, parser.pos - start > options.limits.recordBytes {
                return try handOver("a record of up to \(parser.pos - start) bytes, over the record limit", skipping: parser.records - 1)
            }
            return record
        }
    }

    /// Moves the unparsed bytes to the front and reads more after them, growing the buffer when
    /// they fill it. False when it would grow past `maxBuffer`.
    private func refill() throws(ImportError) -> Bool {
        let keep = count - parser.pos
        if parser.pos > 0 {
            buffer.update(from: buffer + parser.pos, count: keep)
            count = keep
            parser.pos = 0
        }
        if count == capacity {
            guard capacity < Self.maxBuffer else { return false }
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2 + XMLSubsetParser.padding)
            bigger.initialize(from: buffer, count: count)
            buffer.deallocate()
            buffer = bigger
            capacity *= 2
        }
        let n = try source!.read(into: buffer + count, count: capacity - count)
        if n == 0 { atEOF = true }
        count += n
        (buffer + count).initialize(repeating: 0, count: XMLSubsetParser.padding)
        return true
    }

    /// libxml2 reads the file from the start; the records the subset parser returned are skipped.
    private func handOver(_ reason: String, skipping: Int? = nil) throws(ImportError) -> RawRecord? {
        handOverReason = reason
        source = nil
        buffer.deallocate()
        buffer = .allocate(capacity: 0)
        capacity = 0
        count = 0
        let reader = try XMLRecordReader(path: path, fields: fields, options: options, displayName: displayName, hashing: hashing)
        let done = skipping ?? parser.records
        for _ in 0..<done {
            guard try reader.next() != nil else {
                throw ImportError(.notWellFormedXML, RecordLocator(file: parser.file),
                                  "libxml2 finds fewer records than the \(done) read before (\(reason))")
            }
        }
        fallback = reader
        return try reader.next()
    }
}
