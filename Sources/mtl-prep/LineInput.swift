import Foundation
import Text

/// A block of whole lines read from one input, numbered from `firstLine` (1-based).
struct LineChunk: Sendable {
    var file: String
    var firstLine: Int
    var bytes: [UInt8]
    /// Start offset of each line in `bytes`; line i spans `starts[i]..<ends[i]` without its newline.
    var starts: [Int]
    var ends: [Int]
}

/// Reads files (or standard input) in blocks and hands out chunks of whole lines: each chunk is
/// one block's complete lines plus the partial line carried over from the block before, so memory
/// stays bounded by the block size, not the file size. Strips `\n` and a `\r` before it.
final class LineChunkReader {
    private let paths: [String]
    private var pathIndex = 0
    private var descriptor: Int32 = -1
    private var name = ""
    private var carry: [UInt8] = []
    private var nextLine = 1
    private let blockSize: Int

    /// An empty `paths` (or "-") reads standard input.
    init(paths: [String], blockSize: Int = 256 << 10) {
        self.paths = paths.isEmpty ? ["-"] : paths
        self.blockSize = blockSize
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    func next() throws -> LineChunk? {
        while true {
            if descriptor < 0 {
                guard pathIndex < paths.count else { return nil }
                let path = paths[pathIndex]
                pathIndex += 1
                if path == "-" {
                    descriptor = dup(STDIN_FILENO)
                    name = "<stdin>"
                } else {
                    descriptor = open(path, O_RDONLY)
                    name = path
                    if descriptor < 0 { throw CLIError("\(path): cannot open (\(String(cString: strerror(errno))))") }
                }
                carry.removeAll(keepingCapacity: true)
                nextLine = 1
            }
            if let chunk = try readChunk() { return chunk }
            close(descriptor)
            descriptor = -1
        }
    }

    /// Reads until the buffer holds at least one complete line (or the input ends).
    private func readChunk() throws -> LineChunk? {
        var bytes = carry
        carry = []
        var atEOF = false
        var searchFrom = 0
        while true {
            let before = bytes.count
            bytes.reserveCapacity(before + blockSize)
            let count = readBlock(into: &bytes)
            if count < 0 { throw CLIError("\(name): read failed (\(String(cString: strerror(errno))))") }
            if count == 0 { atEOF = true; break }
            if Self.lastNewline(in: bytes, from: searchFrom) != nil { break }
            searchFrom = before + count
            if bytes.count > TextProcessor.maximumTextBytes {
                throw CLIError("\(name):\(nextLine): line longer than \(TextProcessor.maximumTextBytes >> 20) MiB (one line is one text)")
            }
        }
        var chunk = LineChunk(file: name, firstLine: nextLine, bytes: [], starts: [], ends: [])
        let cut: Int
        if atEOF {
            cut = bytes.count
        } else {
            cut = Self.lastNewline(in: bytes, from: 0)! + 1
            carry = Array(bytes[cut...])
            bytes.removeSubrange(cut...)
        }
        if cut == 0 { return nil }
        bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            while start < cut {
                let found = memchr(buffer.baseAddress! + start, 0x0A, cut - start)
                var end = found.map { UnsafePointer<UInt8>($0.assumingMemoryBound(to: UInt8.self)) - buffer.baseAddress! } ?? cut
                let next = end + 1
                if end > start && buffer[end - 1] == 0x0D { end -= 1 }
                chunk.starts.append(start)
                chunk.ends.append(end)
                start = next
            }
        }
        chunk.bytes = bytes
        nextLine += chunk.starts.count
        return chunk
    }

    private func readBlock(into bytes: inout [UInt8]) -> Int {
        let before = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: blockSize))
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + before, blockSize) }
        bytes.removeLast(blockSize - max(count, 0))
        return count
    }

    /// The last newline at or after `from` (searched from the end: it is usually near it).
    private static func lastNewline(in bytes: [UInt8], from: Int) -> Int? {
        bytes.withUnsafeBufferPointer { buffer -> Int? in
            guard buffer.count > from else { return nil }
            return UnsafeBufferPointer(rebasing: buffer[from...]).lastIndex(of: 0x0A).map { $0 + from }
        }
    }
}

/// A user-facing error: printed as its message, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Writes to standard output; a failure (a full disk, a closed pipe) is an error, not silence.
enum StandardOutput {
    static func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(STDOUT_FILENO, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { throw CLIError("cannot write to standard output (\(String(cString: strerror(errno))))") }
                offset += written
            }
        }
    }
}
