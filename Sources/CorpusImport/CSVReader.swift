/// Options of the CSV/TSV reader.
public struct CSVOptions: Sendable, Hashable {
    /// Where column names come from.
    public enum Header: Sendable, Hashable {
        /// The first record holds the names.
        case firstRow
        /// The file has no header; these are the names (`--columns`).
        case columns([String])
        /// No header and no names: columns are addressed by index only.
        case none
    }
    public var delimiter: UInt8
    /// The quote byte, or nil for no quoting at all (every byte but delimiter and newline
    /// is data — SST-2's TSV).
    public var quote: UInt8?
    public var header: Header
    /// Skip lines that are completely empty (default true; otherwise they are ragged rows).
    public var skipEmptyLines = true
    /// A record longer than this fails (bounds memory on a runaway quote).
    public var maxRecordBytes = 64 << 20
    /// Bytes per `read(2)`.
    public var blockSize = 1 << 20

    public init(delimiter: UInt8 = UInt8(ascii: ","), quote: UInt8? = UInt8(ascii: "\""), header: Header = .firstRow) {
        self.delimiter = delimiter; self.quote = quote; self.header = header
    }

    /// RFC 4180 CSV with a header row.
    public static let csv = CSVOptions()
    /// Tab-separated, no quoting (IANA text/tab-separated-values), header row.
    public static let tsv = CSVOptions(delimiter: UInt8(ascii: "\t"), quote: nil)
}

/// A column, by header name or by 0-based index.
public enum ColumnRef: Sendable, Hashable, CustomStringConvertible {
    case name(String)
    case index(Int)
    public var description: String {
        switch self { case .name(let n): return "'\(n)'"; case .index(let i): return "#\(i)" }
    }
}

/// Streaming RFC 4180 CSV/TSV reader over bytes.
///
/// - Quoted fields may hold delimiters, doubled quotes (`""` → `"`) and newlines; LF and
///   CRLF line ends; a UTF-8 BOM at the very start of the file is skipped (U+FEFF inside
///   fields is kept).
/// - Every record must have as many fields as the header (or the first record):
///   otherwise `raggedRow`. Empty lines are skipped unless `skipEmptyLines` is off.
/// - Stray quote policy (strict, like Python's `csv` with `strict=True`): a quote inside an
///   unquoted field, or anything but a delimiter or line end after a closing quote, is a
///   `strayQuote` error at its line and column. With `quote: nil` quotes are plain data.
/// - Only requested columns are decoded; they must be valid UTF-8 (`invalidUTF8` names the
///   line, column and byte offset). Columns never requested are not decoded.
/// - Memory: one buffer of `blockSize` (grown only for a single longer record, up to
///   `maxRecordBytes`).
public final class CSVReader: RecordReader {
    public let options: CSVOptions
    /// The column names (from the header row or `.columns`; empty for `.none`).
    public private(set) var columnNames: [String] = []
    private let source: ByteSource
    private var wanted: [Int] = []
    private var expectedFields: Int?
    private var scanner: CSVScanner

    /// Opens `path` and reads the header (if any); fails with `unknownColumn` when a
    /// requested column does not exist.
    /// - Parameters:
    ///   - columns: the fields to extract, in the order `RawRecord.fields` will hold them.
    ///   - displayName: the name used in locators (default: the file name).
    ///   - hashing: compute `contentSHA256` while reading.
    public init(path: String, columns: [ColumnRef], options: CSVOptions = .csv,
                displayName: String? = nil, hashing: Bool = false) throws(ImportError) {
        self.options = options
        source = try ByteSource(path: path, displayName: displayName, hashing: hashing)
        scanner = CSVScanner(options: options, file: source.displayName)
        try scanner.start(source)
        switch options.header {
        case .firstRow:
            if try scanner.scanRecord(source) {
                columnNames = try (0..<scanner.starts.count).map { (i) throws(ImportError) in try scanner.string(i, recordLine: 1) }
                expectedFields = columnNames.count
            }
        case .columns(let names):
            columnNames = names
            expectedFields = names.count
        case .none: break
        }
        for c in columns {
            switch c {
            case .name(let n):
                guard let i = columnNames.firstIndex(of: n) else {
                    let known = columnNames.isEmpty ? "the file has no header" : "columns are " + columnNames.map { "'\($0)'" }.joined(separator: ", ")
                    throw ImportError(.unknownColumn, RecordLocator(file: source.displayName, line: 1), "unknown column '\(n)' (\(known))")
                }
                wanted.append(i)
            case .index(let i):
                if let n = expectedFields, i >= n || i < 0 {
                    throw ImportError(.unknownColumn, RecordLocator(file: source.displayName, line: 1), "column index \(i) out of range (\(n) columns)")
                }
                wanted.append(i)
            }
        }
    }

    deinit { scanner.buf.deallocate() }

    public var bytesRead: Int64 { source.bytesRead }
    public var totalBytes: Int64? { source.totalBytes }
    public var contentSHA256: String? { source.digest }

    /// Bytes scanned twice or more because a record did not fit the bytes read so far.
    var rescannedBytes: Int { scanner.rescanned }
    /// `read` calls that returned bytes.
    var sourceReads: Int { source.reads }

    public func noRecordsExplanation() -> String {
        if case .firstRow = options.header, !columnNames.isEmpty { return "no rows after the header row" }
        return "no rows (only empty lines)"
    }

    public func next() throws(ImportError) -> RawRecord? {
        while true {
            let recordLine = scanner.line
            guard try scanner.scanRecord(source) else { return nil }
            let count = scanner.starts.count
            if scanner.pos - scanner.recordStart > options.maxRecordBytes {
                var limits = ReaderLimits()
                limits.recordBytes = options.maxRecordBytes
                throw limits.recordTooLong("record", bytes: scanner.pos - scanner.recordStart,
                                           RecordLocator(file: source.displayName, line: recordLine))
            }
            if options.skipEmptyLines, count == 1, scanner.isEmptyUnquoted(0) { continue }
            let loc = RecordLocator(file: source.displayName, line: recordLine)
            if let n = expectedFields {
                if count != n {
                    throw ImportError(.raggedRow, loc, "expected \(n) fields, found \(count)")
                }
            } else {
                expectedFields = count
                if let bad = wanted.first(where: { $0 >= count }) {
                    throw ImportError(.unknownColumn, loc, "column index \(bad) out of range (\(count) columns)")
                }
            }
            var fields: [FieldValue] = []
            fields.reserveCapacity(wanted.count)
            for i in wanted { fields.append(.string(try scanner.string(i, recordLine: recordLine))) }
            return RawRecord(locator: loc, fields: fields)
        }
    }
}

/// The scanning state of a `CSVReader`, as a value type so that the hot loop touches
/// plain stored properties (no per-access exclusivity checks of class properties).
struct CSVScanner {
    let options: CSVOptions
    let file: String
    // Buffer: bytes [pos, end) are unconsumed; buf[0] is at file offset `base`.
    var buf: UnsafeMutablePointer<UInt8>
    var capacity: Int
    var pos = 0, end = 0
    var base: Int64 = 0
    var line = 1
    var lineStart: Int64 = 0  // file offset of the current line's first byte
    var recordStart = 0
    var starts: [Int] = [], ends: [Int] = [], escaped: [Bool] = []
    var eof = false
    /// Bytes scanned by passes that ran out of data (and start again from the record's start).
    var rescanned = 0

    init(options: CSVOptions, file: String) {
        self.options = options
        self.file = file
        capacity = max(options.blockSize, 16)
        buf = .allocate(capacity: capacity)
    }

    /// First fill; skips a UTF-8 BOM at the start of the file.
    mutating func start(_ source: ByteSource) throws(ImportError) {
        try fill(source)
        if end - pos >= 3, buf[pos] == 0xEF, buf[pos + 1] == 0xBB, buf[pos + 2] == 0xBF {
            pos += 3; lineStart = 3
        }
    }

    /// An empty field that was not written as `""`.
    mutating func isEmptyUnquoted(_ i: Int) -> Bool { // mutating: called in place, never on a copy
        guard ends[i] == starts[i], !escaped[i] else { return false }
        guard let q = options.quote, starts[i] > 0 else { return true }
        return !(buf[starts[i] - 1] == q && ends[i] < end && buf[ends[i]] == q)
    }

    private func locator(at index: Int) -> RecordLocator {
        RecordLocator(file: file, line: line, column: Int(base + Int64(index) - lineStart) + 1)
    }

    /// Moves unconsumed bytes to the front (growing if full) and reads more.
    /// Returns false at end of file.
    @discardableResult
    mutating func fill(_ source: ByteSource) throws(ImportError) -> Bool {
        if pos > 0 {
            let n = end - pos
            if n > 0 { (buf).update(from: buf + pos, count: n) }
            base += Int64(pos)
            shift(by: pos)
            end = n; pos = 0
        }
        if end == capacity {
            guard capacity < options.maxRecordBytes else {
                var limits = ReaderLimits()
                limits.recordBytes = options.maxRecordBytes
                throw limits.recordTooLong("record", hint: "an unterminated quote?", RecordLocator(file: file, line: line))
            }
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: min(capacity * 2, options.maxRecordBytes))
            bigger.update(from: buf, count: end)
            buf.deallocate()
            buf = bigger
            capacity = min(capacity * 2, options.maxRecordBytes)
        }
        let got = try source.read(into: buf + end, count: capacity - end)
        end += got
        if got == 0 { eof = true }
        return got > 0
    }

    private mutating func shift(by n: Int) {
        for i in starts.indices { starts[i] -= n; ends[i] -= n }
    }

    private enum Scan { case record, needMore }

    /// Scans one record into starts/ends/escaped, consuming it. False at end of file.
    mutating func scanRecord(_ source: ByteSource) throws(ImportError) -> Bool {
        while true {
            let savedLine = line, savedLineStart = lineStart
            if pos >= end, eof { return false }
            switch try scanOnce(eof: eof) {
            case .record: return true
            case .needMore:
                line = savedLine; lineStart = savedLineStart
                rescanned += end - pos
                try fill(source)
            }
        }
    }

    private mutating func scanOnce(eof: Bool) throws(ImportError) -> Scan {
        recordStart = pos
        starts.removeAll(keepingCapacity: true); ends.removeAll(keepingCapacity: true); escaped.removeAll(keepingCapacity: true)
        let d = options.delimiter, lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        let q = options.quote ?? d   // d never starts a quoted field, so `q == d` disables quoting
        let quoting = options.quote != nil
        var i = pos
        while true {
            if quoting, i < end, buf[i] == q {
                let open = i, openLine = line, openLineStart = lineStart
                i += 1
                let fs = i
                var esc = false
                while true {
                    if i >= end {
                        if !eof { return .needMore }
                        let l = RecordLocator(file: file, line: openLine,
                                              column: Int(base + Int64(open) - openLineStart) + 1)
                        throw ImportError(.unterminatedQuote, l, "unterminated quoted field at end of file")
                    }
                    let c = buf[i]
                    if c == q {
                        if i + 1 >= end, !eof { return .needMore }
                        if i + 1 < end, buf[i + 1] == q { esc = true; i += 2; continue }
                        break
                    }
                    if c == lf { line += 1; lineStart = base + Int64(i) + 1 }
                    i += 1
                }
                starts.append(fs); ends.append(i); escaped.append(esc)
                i += 1 // closing quote
                if i >= end {
                    if !eof { return .needMore }
                    pos = i; return .record
                }
                let c = buf[i]
                if c == d { i += 1; continue }
                if c == lf { line += 1; lineStart = base + Int64(i) + 1; pos = i + 1; return .record }
                if c == cr {
                    if i + 1 >= end, !eof { return .needMore }
                    if i + 1 < end, buf[i + 1] == lf { line += 1; lineStart = base + Int64(i) + 2; pos = i + 2; return .record }
                }
                throw ImportError(.strayQuote, locator(at: i), "unexpected \(Self.show(c)) after closing quote (policy: strict RFC 4180)")
            }
            let fs = i
            while i < end {
                let c = buf[i]
                if c == d || c == lf { break }
                if quoting, c == q {
                    throw ImportError(.strayQuote, locator(at: i), "quote inside an unquoted field (policy: strict RFC 4180; quote the field and double its quotes)")
                }
                i += 1
            }
            if i >= end {
                if !eof { return .needMore }
                var fe = i
                if fe > fs, buf[fe - 1] == cr { fe -= 1 }
                starts.append(fs); ends.append(fe); escaped.append(false)
                pos = i; return .record
            }
            if buf[i] == d {
                starts.append(fs); ends.append(i); escaped.append(false)
                i += 1; continue
            }
            var fe = i
            if fe > fs, buf[fe - 1] == cr { fe -= 1 }
            starts.append(fs); ends.append(fe); escaped.append(false)
            line += 1; lineStart = base + Int64(i) + 1
            pos = i + 1
            return .record
        }
    }

    private static func show(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x" + String(c, radix: 16)
    }

    // MARK: - Fields

    /// Decodes field `i` of the scanned record (unescaping doubled quotes).
    mutating func string(_ i: Int, recordLine: Int) throws(ImportError) -> String { // mutating: in place
        let s = starts[i], e = ends[i]
        var decoded: String?
        var rawBad = 0
        if escaped[i], let q = options.quote {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(e - s)
            var k = s
            while k < e { bytes.append(buf[k]); k += (buf[k] == q ? 2 : 1) }
            decoded = bytes.withUnsafeBytes { UTF8Check.decode($0) }
            if decoded == nil {
                // Map the offset in the unescaped bytes back to the raw bytes.
                let bad = bytes.withUnsafeBytes { UTF8Check.firstInvalid($0) }
                var raw = s, out = 0
                while out < bad { raw += (buf[raw] == q ? 2 : 1); out += 1 }
                rawBad = raw
            }
        } else {
            let bytes = UnsafeRawBufferPointer(start: buf + s, count: e - s)
            decoded = UTF8Check.decode(bytes)
            if decoded == nil { rawBad = s + UTF8Check.firstInvalid(bytes) }
        }
        if let decoded { return decoded }
        // Line and column of the bad byte: records start at a line start.
        var k = recordStart, ln = recordLine, ls = base + Int64(recordStart)
        if recordLine == 1, base == 0, recordStart == 3 { ls = 3 } // after a BOM
        while k < rawBad { if buf[k] == UInt8(ascii: "\n") { ln += 1; ls = base + Int64(k) + 1 }; k += 1 }
        throw ImportError(.invalidUTF8, RecordLocator(file: file, line: ln, column: Int(base + Int64(rawBad) - ls) + 1),
                          "invalid UTF-8 at byte offset \(base + Int64(rawBad))")
    }
}
