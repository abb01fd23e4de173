import CICU

/// Options of the line-pattern reader.
public struct RegexLineOptions: Sendable, Hashable {
    /// Skip lines that are empty or hold only ASCII whitespace (space, tab, VT, FF; a CR before
    /// the LF is removed from every line anyway). Default true.
    public var skipBlankLines = true
    /// Lines starting with this prefix (at their first byte; `;;;`, `#`) are comments and
    /// skipped. Nil (the default): no comment lines.
    public var commentPrefix: String?
    /// The name in the locator of pattern errors (`mapping`, `--pattern`).
    public var patternOrigin = "pattern"
    /// A longer line fails with `recordTooLong` (bounds memory).
    public var maxLineBytes = 64 << 20
    /// Bytes per `read(2)`.
    public var blockSize = 1 << 20

    public init(skipBlankLines: Bool = true, commentPrefix: String? = nil) {
        self.skipBlankLines = skipBlankLines; self.commentPrefix = commentPrefix
    }
}

/// A compiled ICU regular expression matched against UTF-8 lines in place (no conversion):
/// group ranges are byte offsets into the line. One thread at a time (it holds the matcher).
final class ICURegex {
    private let handle: OpaquePointer
    let pattern: String
    /// Capture groups (named or not).
    let groupCount: Int

    /// Compiles `pattern`; a syntax error is an `invalidMapping` error naming ICU's position
    /// (line and code-point offset in that line, as its UParseError gives them) and error name.
    init(pattern: String, origin: String) throws(ImportError) {
        self.pattern = pattern
        var parse = MTLRegexParseError()
        var error = MTLError()
        let bytes = Array(pattern.utf8)
        let opened: OpaquePointer? = bytes.withUnsafeBufferPointer { b in
            mtl_regex_open(b.baseAddress, Int32(b.count), 0, &parse, &error)
        }
        guard let opened else {
            let name = Self.message(&error)
            if error.code == Int32(MTL_ERR_BAD_ARGUMENT) {
                let near = withUnsafeBytes(of: &parse.near) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                var position = parse.line > 0 ? "line \(parse.line), offset \(parse.offset)" : "offset \(parse.offset)"
                if !near.isEmpty { position += " (after '\(near)')" }
                throw ImportError(.invalidMapping, RecordLocator(file: origin),
                                  "invalid regular expression at \(position): \(name)")
            }
            throw ImportError(.invalidMapping, RecordLocator(file: origin), "cannot compile the regular expression: \(name)")
        }
        handle = opened
        groupCount = Int(mtl_regex_group_count(opened))
    }

    deinit { mtl_regex_close(handle) }

    private static func message(_ error: inout MTLError) -> String {
        withUnsafeBytes(of: &error.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    /// The number of the group called `name`, nil when there is none.
    func groupNumber(_ name: String) -> Int? {
        var name = name
        let n = name.withUTF8 { u in
            u.withMemoryRebound(to: CChar.self) { mtl_regex_group_number(handle, $0.baseAddress, Int32($0.count)) }
        }
        return n >= 0 ? Int(n) : nil
    }

    /// The pattern's named groups, by group number. ICU has no call that lists them: candidates
    /// `(?<name>` are found in the pattern text (skipping escapes, `\Q…\E` and bracket
    /// expressions, which cannot open a group) and each is confirmed by ICU.
    var groupNames: [String] {
        let p = Array(pattern.utf8)
        var found: [(Int, String)] = []
        var i = 0, brackets = 0
        func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") }
        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
        while i < p.count {
            let c = p[i]
            if c == UInt8(ascii: "\\") {
                if i + 1 < p.count, p[i + 1] == UInt8(ascii: "Q") {
                    i += 2
                    while i + 1 < p.count, !(p[i] == UInt8(ascii: "\\") && p[i + 1] == UInt8(ascii: "E")) { i += 1 }
                }
                i += 2; continue
            }
            if c == UInt8(ascii: "[") { brackets += 1 } else if c == UInt8(ascii: "]"), brackets > 0 { brackets -= 1 }
            if brackets == 0, c == UInt8(ascii: "("), i + 3 < p.count, p[i + 1] == UInt8(ascii: "?"),
               p[i + 2] == UInt8(ascii: "<"), isLetter(p[i + 3]) {
                var j = i + 3
                while j < p.count, isLetter(p[j]) || isDigit(p[j]) { j += 1 }
                if j < p.count, p[j] == UInt8(ascii: ">") {
                    let name = String(decoding: p[(i + 3)..<j], as: UTF8.self)
                    if let n = groupNumber(name), !found.contains(where: { $0.1 == name }) { found.append((n, name)) }
                }
            }
            i += 1
        }
        return found.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// Matches the whole `line` (valid UTF-8); on a match, `ranges` gets a [start, end) byte
    /// range per group of `groups`, (-1, -1) for a group that did not take part. ICU failing
    /// on the line (U_REGEX_STACK_OVERFLOW, U_REGEX_TIME_OUT) is an `invalidMapping` error there.
    func matches(_ line: UnsafeRawBufferPointer, groups: [Int32], ranges: inout [Int64],
                 at locator: @autoclosure () -> RecordLocator) throws(ImportError) -> Bool {
        var error = MTLError()
        let r = groups.withUnsafeBufferPointer { g in
            ranges.withUnsafeMutableBufferPointer { out in
                mtl_regex_match(handle, line.baseAddress?.assumingMemoryBound(to: UInt8.self), Int64(line.count),
                                g.baseAddress, Int32(g.count), out.baseAddress, &error)
            }
        }
        if r < 0 { throw ImportError(.invalidMapping, locator(), "matching the regular expression failed: \(Self.message(&error))") }
        return r == 1
    }
}

/// Reads a UTF-8 file line by line, each line matched against an ICU regular expression
/// (full ICU syntax, named groups `(?<word>…)`); the fields are the pattern's named groups.
///
/// - A line must match as a whole (`uregex_matches`, as if the pattern were anchored at both
///   ends). A line that does not is thrown from `next()` as a `patternMismatch` error at its
///   line, after the line was consumed: calling `next()` again continues with the next line
///   (`ImportError.Kind.readerContinues`), so that the import can count it as a reject.
/// - Fields: `.string(group text)`, `.missing` when the group did not take part in the match
///   (an optional group); an empty match is `.string("")`.
/// - Blank lines (see `RegexLineOptions.skipBlankLines`) and comment lines
///   (`commentPrefix`) are skipped; LF or CRLF line ends, a UTF-8 BOM at the start skipped.
/// - Invalid UTF-8 is an `invalidUTF8` error at its line and column (the reader goes on).
/// - The pattern is compiled once; the line is matched in place as UTF-8 (no conversion to
///   UTF-16) and group ranges are UTF-8 byte ranges.
/// - One thread at a time, as every reader (the compiled pattern holds the matcher state).
public final class RegexLineReader: RecordReader {
    public let options: RegexLineOptions
    /// The pattern's named groups, in group order.
    public let groupNames: [String]
    private let regex: ICURegex
    private let lines: LineReader
    private let groups: [Int32]
    private var ranges: [Int64]
    private let comment: [UInt8]?
    /// Lines skipped as blank or comments so far.
    public private(set) var skippedLines = 0
    /// Lines the pattern did not match so far.
    public private(set) var mismatchedLines = 0

    /// Compiles `pattern` and opens `path`.
    ///
    /// - Throws: `invalidMapping` for a pattern ICU rejects (with its position and ICU's error
    ///   name); `unknownColumn` for a field that is no named group of the pattern (naming the
    ///   groups it has); `io` when the file cannot be opened.
    /// - Parameters:
    ///   - fields: named groups, in the order `RawRecord.fields` will hold them.
    ///   - displayName: the name used in locators (default: the file name).
    ///   - hashing: compute `contentSHA256` while reading.
    public init(path: String, pattern: String, fields: [String], options: RegexLineOptions = RegexLineOptions(),
                displayName: String? = nil, hashing: Bool = false) throws(ImportError) {
        self.options = options
        (regex, groups, groupNames) = try Self.compile(pattern: pattern, fields: fields, origin: options.patternOrigin)
        ranges = [Int64](repeating: -1, count: 2 * groups.count)
        comment = options.commentPrefix.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        lines = LineReader(source: try ByteSource(path: path, displayName: displayName, hashing: hashing),
                           blockSize: options.blockSize, maxLineBytes: options.maxLineBytes)
    }

    /// Checks a pattern and the fields asked of it without a file (mapping validation);
    /// returns the pattern's named groups. Throws as `init` does.
    @discardableResult
    public static func validate(pattern: String, fields: [String], origin: String = "pattern") throws(ImportError) -> [String] {
        try compile(pattern: pattern, fields: fields, origin: origin).2
    }

    private static func compile(pattern: String, fields: [String], origin: String) throws(ImportError) -> (ICURegex, [Int32], [String]) {
        let regex = try ICURegex(pattern: pattern, origin: origin)
        let names = regex.groupNames
        var numbers: [Int32] = []
        for f in fields {
            guard let n = regex.groupNumber(f) else {
                let known = names.isEmpty ? "the pattern has no named groups" : "its named groups are " + names.map { "'\($0)'" }.joined(separator: ", ")
                throw ImportError(.unknownColumn, RecordLocator(file: origin), "field '\(f)' is not a named group of the pattern (\(known))")
            }
            numbers.append(Int32(n))
        }
        return (regex, numbers, names)
    }

    public var bytesRead: Int64 { lines.source.bytesRead }
    public var totalBytes: Int64? { lines.source.totalBytes }
    public var contentSHA256: String? { lines.source.digest }

    public func noRecordsExplanation() -> String {
        "no lines to match (\(skippedLines) blank or comment line\(skippedLines == 1 ? "" : "s") skipped)"
    }

    @inline(__always)
    private static func isBlank(_ line: UnsafeRawBufferPointer) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0B || $0 == 0x0C }
    }

    public func next() throws(ImportError) -> RawRecord? {
        while let line = try lines.nextLine() {
            if options.skipBlankLines, Self.isBlank(line) { skippedLines += 1; continue }
            if let comment, line.count >= comment.count, line.prefix(comment.count).elementsEqual(comment) {
                skippedLines += 1; continue
            }
            if UTF8Check.firstInvalid(line) != line.count { _ = try lines.decode(line) } // throws at the bad byte
            guard try regex.matches(line, groups: groups, ranges: &ranges, at: lines.locator()) else {
                mismatchedLines += 1
                throw ImportError(.patternMismatch, lines.locator(), "line does not match the pattern: \(Self.excerpt(line))")
            }
            var fields: [FieldValue] = []
            fields.reserveCapacity(groups.count)
            for k in groups.indices {
                let s = Int(ranges[2 * k]), e = Int(ranges[2 * k + 1])
                if s < 0 { fields.append(.missing); continue }
                fields.append(.string(String(decoding: UnsafeRawBufferPointer(rebasing: line[s..<e]), as: UTF8.self)))
            }
            return RawRecord(locator: lines.locator(), fields: fields)
        }
        return nil
    }

    /// The line quoted for a message, cut at 80 characters.
    private static func excerpt(_ line: UnsafeRawBufferPointer) -> String {
        let s = String(decoding: line, as: UTF8.self)
        return s.count > 80 ? "'\(s.prefix(80))…'" : "'\(s)'"
    }
}
