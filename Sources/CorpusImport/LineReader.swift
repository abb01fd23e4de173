/// Reads a file line by line from large blocks: LF or CRLF, a UTF-8 BOM at the start
/// skipped. The line bytes are valid until the next call.
final class LineReader {
    let source: ByteSource
    private var buf: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    let maxLineBytes: Int
    private var pos = 0, end = 0
    private var started = false
    /// 1-based number of the line last returned.
    private(set) var lineNumber = 0
    /// File offset of the line last returned.
    private(set) var lineOffset: Int64 = 0
    private var base: Int64 = 0

    /// A line over `limit` bytes: the limit and the flag that raises it.
    static func tooLong(_ limit: Int, _ bytes: Int?, _ locator: RecordLocator) -> ImportError {
        var limits = ReaderLimits()
        limits.recordBytes = limit
        return limits.recordTooLong("line", bytes: bytes, locator)
    }

    init(source: ByteSource, blockSize: Int = 1 << 20, maxLineBytes: Int = 64 << 20) {
        self.source = source
        capacity = max(blockSize, 16)
        self.maxLineBytes = maxLineBytes
        buf = .allocate(capacity: capacity)
    }

    deinit { buf.deallocate() }

    private func fill() throws(ImportError) -> Bool {
        if pos > 0 {
            let n = end - pos
            if n > 0 { buf.update(from: buf + pos, count: n) }
            base += Int64(pos); end = n; pos = 0
        }
        if end == capacity {
            guard capacity < maxLineBytes else {
                throw Self.tooLong(maxLineBytes, nil, RecordLocator(file: source.displayName, line: lineNumber + 1))
            }
            let c = min(capacity * 2, maxLineBytes)
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
            bigger.update(from: buf, count: end)
            buf.deallocate(); buf = bigger; capacity = c
        }
        let got = try source.read(into: buf + end, count: capacity - end)
        end += got
        return got > 0
    }

    /// The next line without its terminator, or nil at end of file.
    func nextLine() throws(ImportError) -> UnsafeRawBufferPointer? {
        if !started {
            started = true
            _ = try fill()
            if end >= 3, buf[0] == 0xEF, buf[1] == 0xBB, buf[2] == 0xBF { pos = 3 }
        }
        var scanFrom = pos
        while true {
            if let nl = memchrIndex(from: scanFrom) {
                var e = nl
                if e > pos, buf[e - 1] == UInt8(ascii: "\r") { e -= 1 }
                let line = UnsafeRawBufferPointer(start: buf + pos, count: e - pos)
                lineNumber += 1; lineOffset = base + Int64(pos)
                pos = nl + 1
                if line.count > maxLineBytes { throw Self.tooLong(maxLineBytes, line.count, locator()) }
                return line
            }
            let consumedBefore = end - pos
            if try !fill() {
                if pos >= end { return nil }
                var e = end
                if buf[e - 1] == UInt8(ascii: "\r") { e -= 1 }
                let line = UnsafeRawBufferPointer(start: buf + pos, count: e - pos)
                lineNumber += 1; lineOffset = base + Int64(pos)
                pos = end
                if line.count > maxLineBytes { throw Self.tooLong(maxLineBytes, line.count, locator()) }
                return line
            }
            scanFrom = pos + consumedBefore
        }
    }

    private func memchrIndex(from start: Int) -> Int? {
        var i = start
        while i < end { if buf[i] == UInt8(ascii: "\n") { return i }; i += 1 }
        return nil
    }

    func locator(column: Int? = nil) -> RecordLocator {
        RecordLocator(file: source.displayName, line: lineNumber, column: column)
    }

    /// Decodes a line as UTF-8, or fails with `invalidUTF8` at its line and column.
    func decode(_ line: UnsafeRawBufferPointer) throws(ImportError) -> String {
        if let s = UTF8Check.decode(line) { return s }
        let bad = UTF8Check.firstInvalid(line)
        throw ImportError(.invalidUTF8, locator(column: bad + 1), "invalid UTF-8 at byte offset \(lineOffset + Int64(bad))")
    }
}
