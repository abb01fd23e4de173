#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - safetensors

/// Reading and writing the safetensors format: an 8-byte little-endian header length, a JSON header
/// `{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}`,
/// then the raw little-endian data. PyTorch users open our files with `safetensors.torch.load_file`.
/// Only F32 tensors are written; F32 and F64 are read (F64 converted to Float).
public enum SafeTensors {
    /// Writes `tensors` (names unique) atomically and durably: to `path + ".tmp"`, which is flushed and
    /// `fsync`ed, then renamed over `path`; the directory is `fsync`ed so the rename survives a crash.
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String] = [:], to path: String) throws(NNError) {
        let sorted = tensors.sorted { $0.0 < $1.0 }
        for k in 1..<Swift.max(sorted.count, 1) where k < sorted.count && sorted[k].0 == sorted[k - 1].0 {
            throw .invalidArgument(where: "SafeTensors.write", message: "duplicate tensor name '\(sorted[k].0)'")
        }
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            parts.append("\"__metadata__\":{" + metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",") + "}")
        }
        var offset = 0
        for (name, t) in sorted {
            let bytes = t.count * 4
            parts.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        header += parts.joined(separator: ",") + "}"
        var h = Array(header.utf8)
        while (8 + h.count) % 8 != 0 { h.append(0x20) }
        let tmp = path + ".tmp"
        guard let f = fopen(tmp, "wb") else { throw .io(path: tmp, message: "cannot open for writing: \(String(cString: strerror(errno)))") }
        var ok = true
        var len = UInt64(h.count).littleEndian
        ok = ok && fwrite(&len, 8, 1, f) == 1
        ok = ok && fwrite(h, 1, h.count, f) == h.count
        for (_, t) in sorted where t.count > 0 {
            // Host is little-endian on every platform we build for (x86-64, arm64).
            ok = ok && fwrite(t.data, 4, t.count, f) == t.count
        }
        ok = (fflush(f) == 0) && ok
        ok = (fsync(fileno(f)) == 0) && ok
        ok = (fclose(f) == 0) && ok
        guard ok else { unlink(tmp); throw .io(path: path, message: "write failed: \(String(cString: strerror(errno)))") }
        guard rename(tmp, path) == 0 else { unlink(tmp); throw .io(path: path, message: "rename failed: \(String(cString: strerror(errno)))") }
        let dir: String
        if let slash = path.lastIndex(of: "/") { dir = slash == path.startIndex ? "/" : String(path[..<slash]) } else { dir = "." }
        let fd = open(dir, O_RDONLY)
        guard fd >= 0 else { throw .io(path: dir, message: "cannot open directory to sync: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // EINVAL: the file system does not support syncing directories; the data itself is synced.
        guard fsync(fd) == 0 || errno == EINVAL else {
            throw .io(path: dir, message: "directory fsync failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Reads every tensor and the metadata of a safetensors file.
    public static func read(_ path: String) throws(NNError) -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard let f = fopen(path, "rb") else { throw .io(path: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        defer { fclose(f) }
        var st = stat()
        guard fstat(fileno(f), &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw .io(path: path, message: "not a regular file")
        }
        fseek(f, 0, SEEK_END)
        let size = ftell(f)
        fseek(f, 0, SEEK_SET)
        guard size >= 8 else { throw .format(path: path, message: "file shorter than 8 bytes") }
        var bytes = [UInt8](repeating: 0, count: size)
        guard fread(&bytes, 1, size, f) == size else { throw .io(path: path, message: "short read") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(size - 8) else { throw .format(path: path, message: "header length \(n) exceeds file size \(size)") }
        let headerEnd = 8 + Int(n)
        var parser = JSONParser(bytes: bytes[8..<headerEnd])
        let root: JSONValue
        do { root = try parser.parseDocument() } catch { throw .format(path: path, message: "header JSON: \(error.message)") }
        guard case let .object(entries) = root else { throw .format(path: path, message: "header is not a JSON object") }
        var tensors: [String: Tensor] = [:], metadata: [String: String] = [:]
        let dataSize = size - headerEnd
        for (name, value) in entries {
            if name == "__metadata__" {
                guard case let .object(m) = value else { throw .format(path: path, message: "__metadata__ is not an object") }
                for (k, v) in m { if case let .string(s) = v { metadata[k] = s } else { throw .format(path: path, message: "metadata '\(k)' is not a string") } }
                continue
            }
            guard case let .object(fields) = value, let dtypeV = fields.first(where: { $0.0 == "dtype" })?.1,
                  case let .string(dtype) = dtypeV,
                  case let .array(shapeV)? = fields.first(where: { $0.0 == "shape" })?.1,
                  case let .array(offV)? = fields.first(where: { $0.0 == "data_offsets" })?.1, offV.count == 2,
                  case let .number(b0) = offV[0], case let .number(b1) = offV[1]
            else { throw .format(path: path, message: "tensor '\(name)': missing dtype, shape or data_offsets") }
            var shape: [Int] = []
            for s in shapeV { guard case let .number(d) = s, d >= 0 else { throw .format(path: path, message: "tensor '\(name)': bad shape") }; shape.append(d) }
            var count = 1
            for d in shape {
                let (c, o) = count.multipliedReportingOverflow(by: d)
                guard !o else { throw .format(path: path, message: "tensor '\(name)': shape \(shape) overflows") }
                count = c
            }
            let width: Int
            switch dtype { case "F32": width = 4; case "F64": width = 8
            default: throw .format(path: path, message: "tensor '\(name)': unsupported dtype \(dtype) (F32, F64 supported)") }
            let (byteCount, o) = count.multipliedReportingOverflow(by: width)
            guard !o, b0 >= 0, b1 >= b0, b1 <= dataSize, b1 - b0 == byteCount else {
                throw .format(path: path, message: "tensor '\(name)': data_offsets [\(b0), \(b1)] do not match shape \(shape) × \(width) bytes within \(dataSize) data bytes")
            }
            let t = Tensor(shape: shape)
            bytes.withUnsafeBytes { raw in
                let base = raw.baseAddress! + headerEnd + b0
                for i in 0..<count {
                    if width == 4 {
                        t.data[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    } else {
                        t.data[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                    }
                }
            }
            tensors[name] = t
        }
        return (tensors, metadata)
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16) }
                else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

// MARK: - Checkpoints

/// Parameters plus optimizer state in one safetensors file. Loading validates every tensor (present,
/// right shape) before changing anything.
public enum Checkpoint {
    /// Writes parameter values under their names, optimizer state under `optimizer.*`, and `metadata`.
    public static func save(parameters: [Parameter], optimizer: (any Optimizer)? = nil,
                            metadata: [String: String] = [:], to path: String) throws(NNError) {
        var ts = parameters.map { ($0.name, $0.value) }
        if let optimizer { ts += optimizer.stateTensors() }
        try SafeTensors.write(ts, metadata: metadata, to: path)
    }

    /// Loads parameter values (and optimizer state when given); returns the metadata.
    @discardableResult
    public static func load(parameters: [Parameter], optimizer: (any Optimizer)? = nil, from path: String) throws(NNError) -> [String: String] {
        let (ts, meta) = try SafeTensors.read(path)
        for p in parameters {
            guard let t = ts[p.name] else { throw .missingTensor(path: path, name: p.name) }
            guard t.shape == p.value.shape else { throw .shapeMismatch(where: "\(path): tensor '\(p.name)'", expected: p.value.shape, got: t.shape) }
        }
        if let optimizer { try optimizer.loadState(ts, parameters: parameters) }
        for p in parameters { try p.value.assign(ts[p.name]!) }
        return meta
    }
}

// MARK: - Minimal JSON (safetensors headers only)

enum JSONValue { case object([(String, JSONValue)]), array([JSONValue]), string(String), number(Int), double(Double), bool(Bool), null }

struct JSONError: Error { let message: String }

struct JSONParser {
    let bytes: ArraySlice<UInt8>
    var i: Int
    /// Nesting depth of the value being parsed; bounded so a hostile header cannot exhaust the stack.
    var depth = 0
    static let maxDepth = 64
    init(bytes: ArraySlice<UInt8>) { self.bytes = bytes; i = bytes.startIndex }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        let v = try value()
        skip()
        guard i == bytes.endIndex else { throw JSONError(message: "trailing characters at byte \(i)") }
        return v
    }
    mutating func skip() { while i < bytes.endIndex, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 } }
    mutating func expect(_ c: UInt8) throws(JSONError) {
        skip()
        guard i < bytes.endIndex, bytes[i] == c else { throw JSONError(message: "expected '\(Character(Unicode.Scalar(c)))' at byte \(i)") }
        i += 1
    }
    mutating func value() throws(JSONError) -> JSONValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw JSONError(message: "nesting deeper than \(Self.maxDepth) at byte \(i)") }
        skip()
        guard i < bytes.endIndex else { throw JSONError(message: "unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1; var out: [(String, JSONValue)] = []
            skip()
            if i < bytes.endIndex, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
            while true {
                skip()
                guard case let .string(k) = try value() else { throw JSONError(message: "object key must be a string at byte \(i)") }
                try expect(UInt8(ascii: ":"))
                out.append((k, try value()))
                skip()
                guard i < bytes.endIndex else { throw JSONError(message: "unterminated object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
                throw JSONError(message: "expected ',' or '}' at byte \(i)")
            }
        case UInt8(ascii: "["):
            i += 1; var out: [JSONValue] = []
            skip()
            if i < bytes.endIndex, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
            while true {
                out.append(try value())
                skip()
                guard i < bytes.endIndex else { throw JSONError(message: "unterminated array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
                throw JSONError(message: "expected ',' or ']' at byte \(i)")
            }
        case UInt8(ascii: "\""):
            i += 1
            var s = [UInt8]()
            while true {
                guard i < bytes.endIndex else { throw JSONError(message: "unterminated string") }
                let c = bytes[i]; i += 1
                if c == UInt8(ascii: "\"") { break }
                guard c >= 0x20 else { throw JSONError(message: "control character in string at byte \(i - 1)") }
                if c != UInt8(ascii: "\\") { s.append(c); continue }
                guard i < bytes.endIndex else { throw JSONError(message: "unterminated escape") }
                let e = bytes[i]; i += 1
                switch e {
                case UInt8(ascii: "n"): s.append(0x0A)
                case UInt8(ascii: "t"): s.append(0x09)
                case UInt8(ascii: "r"): s.append(0x0D)
                case UInt8(ascii: "b"): s.append(0x08)
                case UInt8(ascii: "f"): s.append(0x0C)
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): s.append(e)
                case UInt8(ascii: "u"):
                    let at = i - 2
                    var cp = try hex4()
                    if cp >= 0xDC00 && cp < 0xE000 { throw JSONError(message: "unpaired low surrogate at byte \(at)") }
                    if cp >= 0xD800 && cp < 0xDC00 {
                        guard i + 1 < bytes.endIndex, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw JSONError(message: "unpaired high surrogate at byte \(at)")
                        }
                        i += 2
                        let lo = try hex4()
                        guard lo >= 0xDC00 && lo < 0xE000 else { throw JSONError(message: "high surrogate not followed by a low one at byte \(at)") }
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(cp) else { throw JSONError(message: "bad code point at byte \(at)") }
                    s.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw JSONError(message: "bad escape at byte \(i - 2)")
                }
            }
            return .string(String(decoding: s, as: UTF8.self))
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default:
            let start = i
            while i < bytes.endIndex, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            // JSON numbers: no leading '+', no leading zeros, digits on both sides of '.'.
            guard Self.isJSONNumber(Array(bytes[start..<i])) else { throw JSONError(message: "bad value at byte \(start)") }
            if let n = Int(text) { return .number(n) }
            if let d = Double(text) { return .double(d) }
            throw JSONError(message: "bad value at byte \(start)")
        }
    }
    mutating func literal(_ word: StaticString) throws(JSONError) {
        let w = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard bytes.endIndex - i >= w.count, bytes[i..<(i + w.count)].elementsEqual(w) else {
            throw JSONError(message: "bad literal at byte \(i)")
        }
        i += w.count
    }
    /// Exactly four hex digits (no sign, no spaces).
    mutating func hex4() throws(JSONError) -> UInt32 {
        guard bytes.endIndex - i >= 4 else { throw JSONError(message: "bad \\u escape at byte \(i)") }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = bytes[i + k]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw JSONError(message: "bad \\u escape at byte \(i)")
            }
            v = v << 4 | d
        }
        i += 4
        return v
    }
    /// RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    static func isJSONNumber(_ b: [UInt8]) -> Bool {
        var k = 0
        func digits() -> Int { let s = k; while k < b.count, b[k] >= 0x30, b[k] <= 0x39 { k += 1 }; return k - s }
        if k < b.count, b[k] == UInt8(ascii: "-") { k += 1 }
        guard k < b.count else { return false }
        if b[k] == UInt8(ascii: "0") { k += 1 } else if digits() == 0 { return false }
        if k < b.count, b[k] == UInt8(ascii: ".") { k += 1; if digits() == 0 { return false } }
        if k < b.count, b[k] == UInt8(ascii: "e") || b[k] == UInt8(ascii: "E") {
            k += 1
            if k < b.count, b[k] == UInt8(ascii: "+") || b[k] == UInt8(ascii: "-") { k += 1 }
            if digits() == 0 { return false }
        }
        return k == b.count
    }
}
