import Foundation
import Store

/// Pretrained word vectors aligned to a vocabulary, read as a stream: only the rows of
/// vocabulary tokens are kept, so a multi-GB vectors file never sits in memory.
///
/// Formats: word2vec text (`count dim` header line, then `word v1 … vd` per line; fastText's
/// `.vec` is the same), word2vec binary (the same header, then per word `word ` and `dim`
/// little-endian float32, optionally followed by a newline), GloVe text (no header).
///
/// Alignment: a token takes the vector of the same word; failing that, of the first word
/// (files are ordered by frequency) whose lowercase form equals the token's lowercase form.
/// Rows without a vector are drawn from N(0, σ²) with σ the standard deviation of the found
/// values (seeded), and the `pad` row is zero.
public enum Embeddings {
    public enum Format: String, Sendable, Codable, CaseIterable {
        case word2vec, word2vecBinary = "word2vec-binary", glove, fasttext
    }

    public struct Aligned: Sendable {
        public var dim: Int
        /// Row-major [vocabulary size × dim].
        public var matrix: [Float]
        public var found: Int
        public var folded: Int
        /// Vectors read from the file.
        public var read: Int
        /// (found + folded) / rows, special tokens excluded.
        public var coverage: Double
    }

    /// Guesses the format from the file name and first bytes.
    public static func guessFormat(path: String) throws -> Format {
        if path.hasSuffix(".bin") { return .word2vecBinary }
        if path.hasSuffix(".vec") { return .fasttext }
        guard let h = FileHandle(forReadingAtPath: path) else { throw VocabError("\(path): cannot open") }
        defer { try? h.close() }
        let head = (try? h.read(upToCount: 256)) ?? Data()
        let firstLine = head.prefix { $0 != 0x0A }
        let fields = String(decoding: firstLine, as: UTF8.self).split(separator: " ")
        return fields.count == 2 && fields.allSatisfy({ Int($0) != nil }) ? .word2vec : .glove
    }

    /// Reads `path` and aligns it to `tokens` (index = id).
    public static func align(path: String, format: Format, tokens: [String], padID: Int?, specialIDs: Set<Int>, seed: UInt64 = 0) throws -> Aligned {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw VocabError("\(path): cannot open") }
        defer { try? handle.close() }
        var reader = ChunkReader(handle: handle)
        var exact: [String: Int] = [:]
        for (i, t) in tokens.enumerated() where !specialIDs.contains(i) { exact[t] = i }
        var byLower: [String: [Int]] = [:]
        for (i, t) in tokens.enumerated() where !specialIDs.contains(i) { byLower[t.lowercased(), default: []].append(i) }

        var dim = 0
        var declaredCount: Int?
        var line = 0
        if format != .glove {
            guard let header = try reader.line() else { throw VocabError("\(path): empty file") }
            line = 1
            let f = String(decoding: header, as: UTF8.self).split(separator: " ")
            guard f.count == 2, let c = Int(f[0]), let d = Int(f[1]), c >= 0, d > 0 else {
                throw VocabError("\(path):1: expected a header `count dim`, found '\(String(decoding: header.prefix(80), as: UTF8.self))'")
            }
            declaredCount = c; dim = d
        }
        var matrix: [Float] = []
        var state = [UInt8](repeating: 0, count: tokens.count)   // 0 none, 1 folded, 2 exact
        var read = 0
        var vector: [Float] = []
        func lower(_ word: String) -> String {
            word.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A || $0 >= 0x80 }) ? word.lowercased() : word
        }
        func wanted(_ word: String) -> Bool {
            if let i = exact[word], state[i] < 2 { return true }
            if let ids = byLower[lower(word)] { return ids.contains { state[$0] == 0 } }
            return false
        }
        func place(_ word: String) {
            if matrix.isEmpty { matrix = [Float](repeating: 0, count: tokens.count * dim) }
            if let i = exact[word], state[i] < 2 {
                matrix.replaceSubrange((i * dim)..<((i + 1) * dim), with: vector); state[i] = 2
            }
            if let ids = byLower[lower(word)] {
                for i in ids where state[i] == 0 { matrix.replaceSubrange((i * dim)..<((i + 1) * dim), with: vector); state[i] = 1 }
            }
        }
        if format == .word2vecBinary {
            while declaredCount.map({ read < $0 }) ?? false {
                guard let word = try reader.word() else {
                    throw VocabError("\(path): truncated: the header promises \(declaredCount!) vectors, the file ends after \(read)")
                }
                guard let raw = try reader.bytes(4 * dim) else {
                    throw VocabError("\(path): truncated inside the vector of word \(read + 1) '\(String(decoding: word, as: UTF8.self))'")
                }
                vector = raw.withUnsafeBytes { r in
                    (0..<dim).map { Float(bitPattern: UInt32(littleEndian: r.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
                }
                read += 1
                place(String(decoding: word, as: UTF8.self))
            }
        } else {
            while let bytes = try reader.line() {
                line += 1
                if bytes.isEmpty || bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
                var fields = bytes.split(separator: 0x20, omittingEmptySubsequences: true)
                if fields.last?.last == 0x0D { fields[fields.count - 1] = fields[fields.count - 1].dropLast() }
                let word = String(decoding: fields[0], as: UTF8.self)
                let values = fields.count - 1
                if dim == 0 { dim = values; guard dim > 0 else { throw VocabError("\(path):\(line): no vector values after '\(word)'") } }
                guard values == dim else {
                    throw VocabError("\(path):\(line): '\(word)' has \(values) values, expected \(dim) (inconsistent dimensions)")
                }
                read += 1
                // Values are parsed only for rows the vocabulary uses (most of a large file is
                // not): every line's dimension is checked, its numbers only when they are kept.
                guard wanted(word) else { continue }
                vector.removeAll(keepingCapacity: true)
                for f in fields.dropFirst() {
                    guard let v = Float(String(decoding: f, as: UTF8.self)), v.isFinite else {
                        throw VocabError("\(path):\(line): '\(String(decoding: f.prefix(40), as: UTF8.self))' is not a number")
                    }
                    vector.append(v)
                }
                place(word)
            }
            if let c = declaredCount, read != c {
                throw VocabError("\(path): the header promises \(c) vectors, the file has \(read)\(read < c ? " (truncated?)" : "")")
            }
        }
        guard dim > 0 else { throw VocabError("\(path): no vectors") }
        if matrix.isEmpty { matrix = [Float](repeating: 0, count: tokens.count * dim) }
        // σ of the found values, for the rows left without a vector.
        var sum = 0.0, sq = 0.0, n = 0.0
        for i in 0..<tokens.count where state[i] > 0 {
            for v in matrix[(i * dim)..<((i + 1) * dim)] { sum += Double(v); sq += Double(v) * Double(v); n += 1 }
        }
        let sigma = n > 1 ? max(1e-3, sqrt(max(0, sq / n - (sum / n) * (sum / n)))) : 0.1
        var rng = seed ^ 0x454D_4245_4444
        func normal() -> Float {
            func next() -> Double { rng = rng &+ 0x9E37_79B9_7F4A_7C15; var z = rng; z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9; z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB; return Double((z ^ (z >> 31)) >> 11) * 0x1p-53 }
            let u = max(next(), 1e-300), v = next()
            return Float(sqrt(-2 * log(u)) * cos(2 * .pi * v))
        }
        for i in 0..<tokens.count where state[i] == 0 {
            for j in 0..<dim { matrix[i * dim + j] = i == padID ? 0 : Float(sigma) * normal() }
        }
        let rows = tokens.count - specialIDs.count
        let found = state.filter { $0 == 2 }.count, folded = state.filter { $0 == 1 }.count
        return Aligned(dim: dim, matrix: matrix, found: found, folded: folded, read: read,
                       coverage: rows > 0 ? Double(found + folded) / Double(rows) : 0)
    }
}

/// Buffered reading of lines, space-terminated words and raw bytes from a file.
struct ChunkReader {
    let handle: FileHandle
    var buffer: [UInt8] = []
    var position = 0
    var eof = false

    init(handle: FileHandle) { self.handle = handle }

    private mutating func fill() throws -> Bool {
        if eof { return false }
        if position > 0 { buffer.removeSubrange(0..<position); position = 0 }
        guard let data = try handle.read(upToCount: 1 << 20), !data.isEmpty else { eof = true; return false }
        buffer.append(contentsOf: data)
        return true
    }

    /// The next line without its `\n`, nil at the end.
    mutating func line() throws -> ArraySlice<UInt8>? {
        var scanFrom = position
        while true {
            if let nl = buffer[scanFrom...].firstIndex(of: 0x0A) {
                let l = buffer[position..<nl]; position = nl + 1
                return l
            }
            let consumed = buffer.count - position
            if try !fill() {
                if position < buffer.count { let l = buffer[position...]; position = buffer.count; return l }
                return nil
            }
            scanFrom = position + consumed
        }
    }

    /// word2vec binary: skips leading newlines/spaces, returns bytes up to the next space.
    mutating func word() throws -> [UInt8]? {
        while true {
            while position < buffer.count && (buffer[position] == 0x0A || buffer[position] == 0x20) { position += 1 }
            if position < buffer.count { break }
            if try !fill() { return nil }
        }
        var scanFrom = position
        while true {
            if let sp = buffer[scanFrom...].firstIndex(of: 0x20) {
                let w = Array(buffer[position..<sp]); position = sp + 1
                return w
            }
            let consumed = buffer.count - position
            if try !fill() { return nil }
            scanFrom = position + consumed
        }
    }

    mutating func bytes(_ n: Int) throws -> [UInt8]? {
        while buffer.count - position < n { if try !fill() { return nil } }
        let b = Array(buffer[position..<(position + n)]); position += n
        return b
    }
}
