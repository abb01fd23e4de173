/// The sizes every reader accepts, one set for all formats, each raised by its own
/// `mtl-prep import` flag. They exist so that a hostile or mistaken input (a runaway quote,
/// a file read as one record, a nesting bomb) ends in a clear error instead of exhausting
/// memory or the stack; each error names the limit and the flag.
///
/// | limit | applies to | default | when exceeded |
/// |---|---|---|---|
/// | `recordBytes` | a CSV/TSV record, a JSONL/regex/parallel line, a CoNLL sentence, an XML record element | 64 MiB | `recordTooLong`, ends the import |
/// | `textNodeBytes` | an XML text node or attribute value | 10,000,000 (libxml2's own) | `limitExceeded` |
/// | `depth` | XML element nesting (from the root), JSON array/object nesting in a JSONL line | 256 (libxml2's own) | `limitExceeded` |
/// | `tokensPerExample` | the tokens of one example's text | 1,048,576 | `limitExceeded`, a bad record |
///
/// A bad record under `--on-error skip` is a reject; limits that leave the reader unable to
/// find the next record (a record too long to buffer, XML nesting libxml2 refuses) end the
/// import. XML sizes up to libxml2's defaults are checked by libxml2 and by the subset
/// parser alike; raising `textNodeBytes` above 10,000,000 or `depth` above 256 turns on
/// libxml2's `XML_PARSE_HUGE` (whose own ceilings are 1 GB text nodes and depth 2,048), and
/// the limits given are then checked on every record element.
public struct ReaderLimits: Sendable, Hashable, Codable {
    public var recordBytes = 64 << 20
    public var textNodeBytes = 10_000_000
    public var depth = 256
    public var tokensPerExample = 1 << 20

    public init() {}

    /// libxml2's limits without `XML_PARSE_HUGE`.
    static let libxml2TextNodeBytes = 10_000_000, libxml2Depth = 256
    /// libxml2's ceiling for nesting with `XML_PARSE_HUGE`.
    public static let maxXMLDepth = 2048

    /// The command-line flag that raises each limit (named in the errors).
    public enum Flag {
        public static let recordBytes = "--max-record-bytes"
        public static let textNodeBytes = "--max-text-node-bytes"
        public static let depth = "--max-depth"
        public static let tokensPerExample = "--max-tokens-per-example"
    }

    /// Whether libxml2 needs `XML_PARSE_HUGE` to reach these limits.
    var needsHugeXML: Bool { textNodeBytes > Self.libxml2TextNodeBytes || depth > Self.libxml2Depth }

    /// A byte count as the flags take it: `1000`, or with a binary suffix `64K`, `64M`, `1G`
    /// (KiB, MiB, GiB); nil for anything else.
    public static func bytes(_ text: String) -> Int? {
        var digits = Substring(text)
        var scale = 1
        switch digits.last.map({ Character($0.uppercased()) }) {
        case "K": scale = 1 << 10; digits = digits.dropLast()
        case "M": scale = 1 << 20; digits = digits.dropLast()
        case "G": scale = 1 << 30; digits = digits.dropLast()
        default: break
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let n = Int(digits), n >= 0 else { return nil }
        let (v, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow ? nil : v
    }

    /// A problem with the limits themselves, or nil.
    public func problem() -> String? {
        if recordBytes < 1 { return "\(Flag.recordBytes) must be at least 1, not \(recordBytes)" }
        if textNodeBytes < 1 { return "\(Flag.textNodeBytes) must be at least 1, not \(textNodeBytes)" }
        if depth < 1 || depth > Self.maxXMLDepth { return "\(Flag.depth) must be between 1 and \(Self.maxXMLDepth), not \(depth)" }
        if tokensPerExample < 1 { return "\(Flag.tokensPerExample) must be at least 1, not \(tokensPerExample)" }
        return nil
    }

    func recordTooLong(_ what: String, bytes: Int? = nil, hint: String? = nil, _ locator: RecordLocator) -> ImportError {
        let size = bytes.map { "\($0) bytes, " } ?? "", hint = hint.map { $0 + " " } ?? ""
        return ImportError(.recordTooLong, locator,
                           "\(what) longer than the limit of \(recordBytes) bytes (\(size)\(hint)\(Flag.recordBytes) raises it)")
    }

    func tooDeep(_ what: String, _ locator: RecordLocator) -> ImportError {
        ImportError(.limitExceeded, locator, "\(what) nested deeper than the limit of \(depth) levels (\(Flag.depth) raises it)")
    }

    func textNodeTooLong(_ what: String, bytes: Int?, _ locator: RecordLocator) -> ImportError {
        let size = bytes.map { " (\($0) bytes)" } ?? ""
        return ImportError(.limitExceeded, locator,
                           "\(what)\(size) longer than the limit of \(textNodeBytes) bytes (\(Flag.textNodeBytes) raises it)")
    }

    func tooManyTokens(_ count: Int, _ locator: RecordLocator) -> ImportError {
        ImportError(.limitExceeded, locator,
                    "text of \(count) tokens is over the limit of \(tokensPerExample) tokens per example (\(Flag.tokensPerExample) raises it; a file read as one record? check --record or the delimiter)")
    }
}

/// The deepest array/object nesting of a JSON text, scanning bytes (strings skipped): a
/// check before `JSONSerialization`, which recurses once per level.
func jsonNestingDepth(_ bytes: UnsafeRawBufferPointer, stopAbove limit: Int) -> Int {
    var depth = 0, deepest = 0, inString = false, escaped = false
    for b in bytes {
        if inString {
            if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
            continue
        }
        switch b {
        case UInt8(ascii: "\""): inString = true
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            depth += 1
            if depth > deepest { deepest = depth; if deepest > limit { return deepest } }
        case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
        default: break
        }
    }
    return deepest
}
