/// Options of the CoNLL / CoNLL-U reader.
public struct CoNLLOptions: Sendable, Hashable {
    public enum Dialect: String, Sendable, Hashable {
        /// One token per line, columns separated by tabs or spaces, blank lines between
        /// sentences. `#` has no special meaning (WNUT-17 has `#hashtag` tokens);
        /// `-DOCSTART-` lines (CoNLL-2003) are skipped.
        case conll
        /// Universal Dependencies CoNLL-U: 10 tab-separated columns, `# key = value`
        /// comments before each sentence, multiword-token ranges `1-2`, empty nodes `8.1`.
        case conllu
    }
    public enum Separator: String, Sendable, Hashable {
        case tab
        /// Runs of spaces or tabs.
        case whitespace
    }
    public var dialect: Dialect
    public var separator: Separator

    public init(dialect: Dialect = .conll, separator: Separator? = nil) {
        self.dialect = dialect
        self.separator = separator ?? (dialect == .conllu ? .tab : .whitespace)
    }
    public static let conll = CoNLLOptions()
    public static let conllu = CoNLLOptions(dialect: .conllu)
}

/// A field of a CoNLL sentence record.
public enum CoNLLField: Sendable, Hashable {
    /// Column `i` (0-based: CoNLL-U FORM = 1, UPOS = 3) of every word, as a list.
    /// CoNLL-U: words are the integer-id lines; ranges and empty nodes are not words.
    case column(Int)
    /// The value of a `# key = value` comment (CoNLL-U), e.g. `text`, `sent_id`.
    case comment(String)
    /// CoNLL-U: the surface tokens: each multiword range's FORM replaces its words' FORMs.
    case surfaceForms
}

/// Streaming CoNLL / CoNLL-U reader: one record per sentence, located at the sentence's
/// first line. Malformed lines fail with `invalidCoNLL` at their line and column.
public final class CoNLLReader: RecordReader {
    public let options: CoNLLOptions
    private let lines: LineReader
    private let fields: [CoNLLField]
    private let maxColumn: Int
    private let wantedColumns: [Int]
    /// Sentences, words, multiword ranges and empty nodes read so far.
    public private(set) var sentences = 0, words = 0, multiwordRanges = 0, emptyNodes = 0

    public init(path: String, fields: [CoNLLField], options: CoNLLOptions = .conll,
                displayName: String? = nil, hashing: Bool = false, blockSize: Int = 1 << 20) throws(ImportError) {
        self.options = options
        self.fields = fields
        lines = LineReader(source: try ByteSource(path: path, displayName: displayName, hashing: hashing), blockSize: blockSize)
        maxColumn = fields.reduce(options.dialect == .conllu ? 1 : 0) { m, f in
            if case .column(let i) = f { return max(m, i) }; return m
        }
        let conllu = options.dialect == .conllu
        wantedColumns = (0...maxColumn).filter { i in
            fields.contains(.column(i)) || (i == 0 && !conllu && fields.contains(.surfaceForms))
        }
        if options.dialect == .conllu, maxColumn > 9 {
            throw ImportError(.unknownColumn, RecordLocator(file: lines.source.displayName), "CoNLL-U has columns 0…9, column \(maxColumn) requested")
        }
    }

    public var bytesRead: Int64 { lines.source.bytesRead }
    public var totalBytes: Int64? { lines.source.totalBytes }
    public var contentSHA256: String? { lines.source.digest }

    public func noRecordsExplanation() -> String { "no sentences (only blank and comment lines)" }

    /// Splits a line into column byte ranges.
    private func split(_ line: UnsafeRawBufferPointer) -> [Range<Int>] {
        var cols: [Range<Int>] = []
        var s = 0, i = 0
        switch options.separator {
        case .tab:
            while i < line.count { if line[i] == 0x09 { cols.append(s..<i); s = i + 1 }; i += 1 }
            cols.append(s..<line.count)
        case .whitespace:
            while i < line.count {
                while i < line.count, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
                s = i
                while i < line.count, line[i] != 0x20, line[i] != 0x09 { i += 1 }
                if i > s { cols.append(s..<i) }
            }
        }
        return cols
    }

    public func next() throws(ImportError) -> RawRecord? {
        var firstLine: Int?
        var comments: [String: String] = [:]
        var columns: [[String]] = Array(repeating: [], count: maxColumn + 1)
        var forms: [String] = []      // surface forms
        var rangeEnd = 0              // last word id covered by the current multiword range
        var wordCount = 0
        let conllu = options.dialect == .conllu
        while let line = try lines.nextLine() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                if firstLine == nil { comments = [:]; continue }
                break
            }
            if firstLine == nil { firstLine = lines.lineNumber }
            if UTF8Check.firstInvalid(line) != line.count { _ = try lines.decode(line) } // throws with the exact position
            if conllu, line[0] == UInt8(ascii: "#") {
                let text = try lines.decode(line)
                guard wordCount == 0 else {
                    throw ImportError(.invalidCoNLL, lines.locator(column: 1), "comment line inside a sentence")
                }
                let body = text.dropFirst().drop(while: { $0 == " " })
                if let eq = body.range(of: " = ") {
                    comments[String(body[..<eq.lowerBound])] = String(body[eq.upperBound...])
                } else if let eq = body.firstIndex(of: "=") {
                    comments[String(body[..<eq]).trimmingSpaces] = String(body[body.index(after: eq)...]).trimmingSpaces
                } else {
                    comments[String(body)] = ""
                }
                continue
            }
            if !conllu, line.starts(with: "-DOCSTART-".utf8) { firstLine = nil; continue }
            let cols = split(line)
            if conllu, cols.count != 10 {
                throw ImportError(.invalidCoNLL, lines.locator(column: 1), "expected 10 tab-separated columns, found \(cols.count)")
            }
            if cols.count <= maxColumn {
                throw ImportError(.invalidCoNLL, lines.locator(column: 1), "line has \(cols.count) column\(cols.count == 1 ? "" : "s"), column \(maxColumn) requested")
            }
            // The whole line is valid UTF-8 and columns split at ASCII bytes, so every column is too.
            func col(_ i: Int) -> String {
                String(decoding: UnsafeRawBufferPointer(rebasing: line[cols[i]]).bindMemory(to: UInt8.self), as: UTF8.self)
            }
            if conllu {
                let id = col(0)
                if let dash = id.firstIndex(of: "-") {
                    guard let a = Int(id[..<dash]), let b = Int(id[id.index(after: dash)...]), a == wordCount + 1, b > a else {
                        throw ImportError(.invalidCoNLL, lines.locator(column: 1), "bad multiword range '\(id)' after word \(wordCount)")
                    }
                    multiwordRanges += 1
                    forms.append(col(1)); rangeEnd = b
                    continue
                }
                if id.contains(".") {
                    guard let dot = id.firstIndex(of: "."), Int(id[..<dot]) == wordCount, Int(id[id.index(after: dot)...]) != nil else {
                        throw ImportError(.invalidCoNLL, lines.locator(column: 1), "bad empty node id '\(id)' after word \(wordCount)")
                    }
                    emptyNodes += 1
                    continue   // empty nodes are not words: skipped for tagging
                }
                guard let n = Int(id), n == wordCount + 1 else {
                    throw ImportError(.invalidCoNLL, lines.locator(column: 1), "word id '\(id)' out of sequence (expected \(wordCount + 1))")
                }
                if n > rangeEnd { forms.append(col(1)) }
            }
            wordCount += 1
            for i in wantedColumns { columns[i].append(col(i)) }
        }
        guard let firstLine else { return nil }
        if wordCount == 0 {
            throw ImportError(.invalidCoNLL, RecordLocator(file: lines.source.displayName, line: firstLine), "sentence without words")
        }
        sentences += 1; words += wordCount
        let values: [FieldValue] = fields.map { f in
            switch f {
            case .column(let i): return .list(columns[i])
            case .comment(let k): return comments[k].map { .string($0) } ?? .missing
            case .surfaceForms: return .list(conllu ? forms : columns[0])
            }
        }
        return RawRecord(locator: RecordLocator(file: lines.source.displayName, line: firstLine), fields: values)
    }
}

extension String {
    var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
