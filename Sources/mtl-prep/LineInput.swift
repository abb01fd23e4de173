import Foundation

/// A block of whole lines read from one input, numbered from `firstLine` (1-based).
struct LineChunk: Sendable {
    var file: String
    var firstLine: Int
    var bytes: [UInt8]
    /// Start offset of each line in `bytes`; line i spans `starts[i]..<ends[i]` without its newline.
    var starts: [Int]
    var ends: [Int]
}

/// Reads files (or standard input) in large blocks and hands out chunks of whole lines, so
/// memory stays bounded by the chunk size, not the file size. Strips `\n` and a `\r` before it.
final class LineChunkReader {
    private let paths: [String]
    private var pathIndex = 0
    private var descriptor: Int32 = -1
    private var name = ""
    private var carry: [UInt8] = []
    private var nextLine = 1
    private var atEOF = false
    private let linesPerChunk: Int
    private var block = [UInt8](repeating: 0, count: 1 << 20)

    /// An empty `paths` (or "-") reads standard input.
    init(paths: [String], linesPerChunk: Int = 2048) {
        self.paths = paths.isEmpty ? ["-"] : paths
        self.linesPerChunk = linesPerChunk
    }

    deinit {
        if descriptor > 0 { close(descriptor) }
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
                atEOF = false
            }
            if let chunk = try readChunk() { return chunk }
            close(descriptor)
            descriptor = -1
        }
    }

    private func readChunk() throws -> LineChunk? {
        var chunk = LineChunk(file: name, firstLine: nextLine, bytes: [], starts: [], ends: [])
        chunk.bytes = carry
        carry.removeAll(keepingCapacity: true)
        var scanFrom = 0
        while chunk.starts.count < linesPerChunk {
            // Cut the complete lines found so far.
            var lineStart = chunk.starts.last.map { _ in scanFrom } ?? 0
            if let newline = chunk.bytes[scanFrom...].firstIndex(of: 0x0A) {
                lineStart = scanFrom
                var end = newline
                if end > lineStart && chunk.bytes[end - 1] == 0x0D { end -= 1 }
                chunk.starts.append(lineStart)
                chunk.ends.append(end)
                scanFrom = newline + 1
                continue
            }
            if atEOF {
                if scanFrom < chunk.bytes.count {
                    var end = chunk.bytes.count
                    if chunk.bytes[end - 1] == 0x0D { end -= 1 }
                    chunk.starts.append(scanFrom)
                    chunk.ends.append(end)
                    scanFrom = chunk.bytes.count
                }
                break
            }
            let count = block.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 { throw CLIError("\(name): read failed (\(String(cString: strerror(errno))))") }
            if count == 0 { atEOF = true } else { chunk.bytes.append(contentsOf: block[0..<count]) }
        }
        if scanFrom < chunk.bytes.count { carry.append(contentsOf: chunk.bytes[scanFrom...]) }
        if chunk.starts.isEmpty { return nil }
        nextLine += chunk.starts.count
        return chunk
    }
}

/// A user-facing error: printed as its message, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Buffered writes to standard output.
enum StandardOutput {
    static func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(STDOUT_FILENO, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
