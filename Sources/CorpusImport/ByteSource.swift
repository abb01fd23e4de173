#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Store

private func sysRead(_ fd: Int32, _ buf: UnsafeMutableRawPointer, _ n: Int) -> Int { read(fd, buf, n) }

/// A file read in large blocks with `read(2)`, counting bytes and optionally hashing them
/// (SHA-256) on the way, so that the content hash costs no second pass.
final class ByteSource {
    let path: String
    let displayName: String
    private let fd: Int32
    private(set) var bytesRead: Int64 = 0
    let totalBytes: Int64?
    private var hasher: SHA256?
    private(set) var digest: String?
    private(set) var atEOF = false

    init(path: String, displayName: String?, hashing: Bool) throws(ImportError) {
        self.path = path
        self.displayName = displayName ?? Self.lastComponent(path)
        fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw ImportError(.io, RecordLocator(file: self.displayName), "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        totalBytes = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? Int64(st.st_size) : nil
        hasher = hashing ? SHA256() : nil
    }

    deinit { close(fd) }

    static func lastComponent(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
    }

    /// Calls of `read(into:count:)` that returned bytes (tests check that a long record costs
    /// a few large reads, not one per pipe buffer).
    private(set) var reads = 0

    /// Reads `count` bytes into `buffer`, fewer only at the end of the file; 0 means end of file.
    ///
    /// Always the whole `count`: a pipe hands over at most its buffer (64 KiB) per read(2), and
    /// the readers re-scan a record that did not fit from its start after each read, so partial
    /// reads made a 50 MB record from stdin quadratic (~800 re-scans). Full reads at least double
    /// what a re-scan sees (the readers grow their buffers by doubling), which keeps the re-scans
    /// linear in the record's bytes from any source.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(ImportError) -> Int {
        if atEOF { return 0 }
        var filled = 0
        while filled < count {
            let n = sysRead(fd, buffer + filled, count - filled)
            if n < 0 {
                if errno == EINTR { continue }
                throw ImportError(.io, RecordLocator(file: displayName), "read error on \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { atEOF = true; break }
            filled += n
        }
        if filled > 0 {
            reads += 1
            bytesRead += Int64(filled)
            hasher?.update(UnsafeRawBufferPointer(start: buffer, count: filled))
        }
        if atEOF, var h = hasher { digest = h.finalizeHex(); hasher = nil }
        return filled
    }
}

/// UTF-8 validation that reports where the first invalid byte is.
enum UTF8Check {
    /// Decodes bytes as a String; nil when not valid UTF-8 (then see `firstInvalid`).
    @inline(__always)
    static func decode(_ bytes: UnsafeRawBufferPointer) -> String? {
        let n = bytes.count
        guard let p = bytes.baseAddress, n > 0 else { return "" }
        var i = 0
        while i + 8 <= n, p.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
        while i < n, p.load(fromByteOffset: i, as: UInt8.self) < 0x80 { i += 1 }
        let s = String(decoding: bytes.bindMemory(to: UInt8.self), as: UTF8.self)
        if i == n { return s } // ASCII is always valid
        // The standard library's (fast, internal) validation repairs invalid input with
        // U+FFFD; the input was valid exactly when the result has the same bytes.
        let same = s.utf8.withContiguousStorageIfAvailable { u in
            u.count == n && memcmp(u.baseAddress!, p, n) == 0
        } ?? s.utf8.elementsEqual(bytes)
        return same ? s : nil
    }

    /// Offset of the first byte that does not start or continue a well-formed UTF-8 sequence.
    static func firstInvalid(_ b: UnsafeRawBufferPointer) -> Int {
        var i = 0
        let n = b.count
        guard let p = b.baseAddress else { return 0 }
        while i < n {
            // ASCII fast path, 8 bytes at a time.
            while i + 8 <= n, p.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
            if i >= n { break }
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            let len: Int, lo: UInt8, hi: UInt8
            switch c {
            case 0xC2...0xDF: len = 2; lo = 0x80; hi = 0xBF
            case 0xE0: len = 3; lo = 0xA0; hi = 0xBF
            case 0xE1...0xEC, 0xEE...0xEF: len = 3; lo = 0x80; hi = 0xBF
            case 0xED: len = 3; lo = 0x80; hi = 0x9F
            case 0xF0: len = 4; lo = 0x90; hi = 0xBF
            case 0xF1...0xF3: len = 4; lo = 0x80; hi = 0xBF
            case 0xF4: len = 4; lo = 0x80; hi = 0x8F
            default: return i
            }
            if i + 1 >= n || b[i + 1] < lo || b[i + 1] > hi { return i }
            for k in 2..<len where i + k >= n || b[i + k] & 0xC0 != 0x80 { return i }
            i += len
        }
        return n
    }
}
