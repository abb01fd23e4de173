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
    /// Writes `tensors` (names unique) atomically: to `path + ".tmp"`, then renamed over `path`.
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
        fclose(f)
        guard ok else { unlink(tmp); throw .io(path: path, message: "write failed") }
        guard rename(tmp, path) == 0 else { unlink(tmp); throw .io(path: path, message: "rename failed: \(String(cString: strerror(errno)))") }
    }

    /// Reads every tensor and the metadata of a safetensors file.
    public static func read(_ path: String) throws(NNError) -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard let f = fopen(path, "rb") else { throw .io(path: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        defer { fclose(f) }
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
            let count = shape.reduce(1, *)
            let width: Int
            switch dtype { case "F32": width = 4; case "F64": width = 8
            default: throw .format(path: path, message: "tensor '\(name)': unsupported dtype \(dtype) (F32, F64 supported)") }
            guard b0 >= 0, b1 >= b0, b1 <= dataSize, b1 - b0 == count * width else {
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
                if c != UInt8(ascii: "\\") { s.append(c); continue }
                guard i < bytes.endIndex else { throw JSONError(message: "unterminated escape") }
                let e = bytes[i]; i += 1
                switch e {
                case UInt8(ascii: "n"): s.append(0x0A)
                case UInt8(ascii: "t"): s.append(0x09)
                case UInt8(ascii: "r"): s.append(0x0D)
                case UInt8(ascii: "b"): s.append(0x08)
                case UInt8(ascii: "f"): s.append(0x0C)
                case UInt8(ascii: "u"):
                    var cp = try hex4()
                    if cp >= 0xD800 && cp < 0xDC00, i + 1 < bytes.endIndex, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let lo = try hex4()
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                    }
                    s.append(contentsOf: Array(String(Character(Unicode.Scalar(cp) ?? "\u{FFFD}")).utf8))
                default: s.append(e)
                }
            }
            return .string(String(decoding: s, as: UTF8.self))
        case UInt8(ascii: "t"): i += 4; return .bool(true)
        case UInt8(ascii: "f"): i += 5; return .bool(false)
        case UInt8(ascii: "n"): i += 4; return .null
        default:
            let start = i
            while i < bytes.endIndex, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            if let n = Int(text) { return .number(n) }
            if let d = Double(text) { return .double(d) }
            throw JSONError(message: "bad value at byte \(start)")
        }
    }
    mutating func hex4() throws(JSONError) -> UInt32 {
        guard i + 4 <= bytes.endIndex, let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16) else {
            throw JSONError(message: "bad \\u escape at byte \(i)")
        }
        i += 4
        return v
    }
}
