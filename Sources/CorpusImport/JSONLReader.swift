import Foundation

/// Streaming JSON Lines reader: one JSON object per line; fields by key path.
///
/// Key paths are dot-separated: object keys, array indexes (`a.b.0.c`) and `*` for every
/// element of an array (`spans.*.label` gives a list). Strings, numbers and booleans become
/// `.string` (numbers in their JSON spelling, booleans `true`/`false`); arrays of scalars
/// become `.list`; a missing key or `null` is `.missing`. Blank lines are skipped.
/// Errors (`invalidJSON`, `invalidUTF8`) name the file and line.
public final class JSONLReader: RecordReader {
    private let lines: LineReader
    private let paths: [[String]]
    private let limits: ReaderLimits

    /// - Parameters:
    ///   - fields: key paths, in the order `RawRecord.fields` will hold them.
    public init(path: String, fields: [String], displayName: String? = nil, hashing: Bool = false, blockSize: Int = 1 << 20,
                limits: ReaderLimits = ReaderLimits()) throws(ImportError) {
        self.limits = limits
        lines = LineReader(source: try ByteSource(path: path, displayName: displayName, hashing: hashing), blockSize: blockSize,
                           maxLineBytes: limits.recordBytes)
        paths = fields.map { $0.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }
    }

    public var bytesRead: Int64 { lines.source.bytesRead }
    public var totalBytes: Int64? { lines.source.totalBytes }
    public var contentSHA256: String? { lines.source.digest }

    public func noRecordsExplanation() -> String { "no JSON lines (only blank lines)" }

    public func next() throws(ImportError) -> RawRecord? {
        while let line = try lines.nextLine() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            _ = try lines.decode(line) // exact invalid-UTF-8 position before JSON parsing
            if jsonNestingDepth(line, stopAbove: limits.depth) > limits.depth {
                throw limits.tooDeep("JSON arrays and objects", lines.locator())
            }
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: Data(line), options: [])
            } catch {
                throw ImportError(.invalidJSON, lines.locator(), "invalid JSON: \(Self.describe(error))")
            }
            guard let dict = object as? [String: Any] else {
                throw ImportError(.invalidJSON, lines.locator(), "expected a JSON object, found \(Self.typeName(object))")
            }
            let loc = lines.locator()
            return RawRecord(locator: loc, fields: paths.map { Self.value(at: $0[...], in: dict) })
        }
        return nil
    }

    static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if let d = ns.userInfo[NSDebugDescriptionErrorKey] as? String { return d }
        return ns.localizedDescription
    }

    static func typeName(_ v: Any) -> String {
        switch v {
        case is [Any]: return "an array"
        case is String: return "a string"
        case is NSNull: return "null"
        default: return "a scalar"
        }
    }

    static func scalar(_ v: Any) -> String? {
        switch v {
        case let s as String: return s
        case let n as NSNumber:
            if String(cString: n.objCType) == "c" { return n.boolValue ? "true" : "false" } // JSON booleans
            return n.stringValue
        default: return nil
        }
    }

    static func value(at path: ArraySlice<String>, in v: Any) -> FieldValue {
        guard let key = path.first else {
            if v is NSNull { return .missing }
            if let s = scalar(v) { return .string(s) }
            if let a = v as? [Any] { return .list(a.compactMap { scalar($0) }) }
            return .missing
        }
        let rest = path.dropFirst()
        if let d = v as? [String: Any] {
            guard let child = d[key] else { return .missing }
            return value(at: rest, in: child)
        }
        if let a = v as? [Any] {
            if key == "*" {
                return .list(a.flatMap { value(at: rest, in: $0).strings })
            }
            guard let i = Int(key), i >= 0, i < a.count else { return .missing }
            return value(at: rest, in: a[i])
        }
        return .missing
    }
}
