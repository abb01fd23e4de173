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
    /// CoNLL-U: the text field (`.column(1)`, the words, or `.surfaceForms`) whose tokens get
    /// offsets into the sentence as written (`RawRecord.sentence`); nil for none.
    public var sentenceFor: CoNLLField?

    public init(dialect: Dialect = .conll, separator: Separator? = nil, sentenceFor: CoNLLField? = nil) {
        self.dialect = dialect
        self.separator = separator ?? (dialect == .conllu ? .tab : .whitespace)
        self.sentenceFor = dialect == .conllu ? sentenceFor : nil
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
    private let limits: ReaderLimits
    /// Sentences, words, multiword ranges and empty nodes read so far.
    public private(set) var sentences = 0, words = 0, multiwordRanges = 0, emptyNodes = 0

    public init(path: String, fields: [CoNLLField], options: CoNLLOptions = .conll,
                displayName: String? = nil, hashing: Bool = false, blockSize: Int = 1 << 20,
                limits: ReaderLimits = ReaderLimits()) throws(ImportError) {
        self.options = options
        self.fields = fields
        self.limits = limits
        lines = LineReader(source: try ByteSource(path: path, displayName: displayName, hashing: hashing), blockSize: blockSize,
                           maxLineBytes: limits.recordBytes)
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

    /// A surface token of a CoNLL-U sentence: a word outside any range, or a multiword range.
    private struct Surface {
        var form: String
        /// What follows the token when the text is rebuilt from the forms.
        var after: String
        var line: Int
        /// 0-based indexes of the words it stands for.
        var words: Range<Int>
    }

    public func next() throws(ImportError) -> RawRecord? {
        var firstLine: Int?
        let rebuild = options.sentenceFor != nil
        var surface: [Surface] = []
        var wordForms: [String] = []
        var comments: [String: String] = [:]
        var columns: [[String]] = Array(repeating: [], count: maxColumn + 1)
        var forms: [String] = []      // surface forms
        var rangeEnd = 0              // last word id covered by the current multiword range
        var wordCount = 0
        var sentenceBytes = 0
        let conllu = options.dialect == .conllu
        while let line = try lines.nextLine() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                if firstLine == nil { comments = [:]; continue }
                break
            }
            if firstLine == nil { firstLine = lines.lineNumber }
            // A sentence is the record: a file without blank lines must not grow one without bound.
            sentenceBytes += line.count + 1
            if sentenceBytes > limits.recordBytes {
                throw limits.recordTooLong("sentence", RecordLocator(file: lines.source.displayName, line: firstLine))
            }
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
                    if rebuild { surface.append(Surface(form: col(1), after: Self.after(col(9)), line: lines.lineNumber, words: (a - 1)..<b)) }
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
                if n > rangeEnd {
                    forms.append(col(1))
                    if rebuild { surface.append(Surface(form: col(1), after: Self.after(col(9)), line: lines.lineNumber, words: (n - 1)..<n)) }
                }
                if rebuild { wordForms.append(col(1)) }
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
        var sentence: Result<SentenceText, ImportError>?
        if let want = options.sentenceFor {
            sentence = Self.sentence(surface: surface, wordForms: wordForms, written: comments["text"],
                                     surfaceTokens: want == .surfaceForms, file: lines.source.displayName)
        }
        return RawRecord(locator: RecordLocator(file: lines.source.displayName, line: firstLine), fields: values, sentence: sentence)
    }

    /// The first byte at or after `i` that does not begin a white space scalar (EWT writes
    /// U+00A0 between some words of `# text`, `SpacesAfter=\u00A0` in MISC).
    private static func skippingWhitespace(_ bytes: [UInt8], from i: Int) -> Int {
        var at = i
        while at < bytes.count {
            if bytes[at] < 0x80 {
                guard bytes[at] == 0x20 || (0x09...0x0D).contains(bytes[at]) else { break }
                at += 1
                continue
            }
            var end = at + 1
            while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
            guard let scalar = String(decoding: bytes[at..<end], as: UTF8.self).unicodeScalars.first,
                  scalar.properties.isWhitespace else { break }
            at = end
        }
        return at
    }

    /// What follows a token by its MISC column: a space unless `SpaceAfter=No`; `SpacesAfter=`
    /// spells other white space out (`\s`, `\t`, `\n`, `\r`, `\p`, `\\`, `\uXXXX`).
    private static func after(_ misc: String) -> String {
        if misc == "_" { return " " }
        var after = " "
        for item in misc.split(separator: "|") {
            if item == "SpaceAfter=No" { after = "" }
            else if item.hasPrefix("SpacesAfter=") { after = unescapeSpaces(item.dropFirst(12)) }
        }
        return after
    }

    private static func unescapeSpaces(_ s: Substring) -> String {
        var out = "", i = s.startIndex
        while i < s.endIndex {
            let c = s[i]; i = s.index(after: i)
            guard c == "\\", i < s.endIndex else { out.append(c); continue }
            let e = s[i]; i = s.index(after: i)
            switch e {
            case "s": out.append(" ")
            case "t": out.append("\t")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "p": out.append("|")
            case "u":
                let hex = s[i...].prefix(4)
                if hex.count == 4, let v = UInt32(hex, radix: 16), let u = Unicode.Scalar(v) {
                    out.unicodeScalars.append(u); i = s.index(i, offsetBy: 4)
                } else { out.append("\\u") }
            default: out.append("\\"); out.append(e)
            }
        }
        return out
    }

    /// The sentence text and each token's range in it: `# text` when the sentence has one (the
    /// forms are found in it in order, whitespace between them skipped), else the surface forms
    /// joined by a space wherever MISC does not say `SpaceAfter=No`.
    private static func sentence(surface: [Surface], wordForms: [String], written: String?, surfaceTokens: Bool,
                                 file: String) -> Result<SentenceText, ImportError> {
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(surface.count)
        let text: String
        if let written {
            let bytes = Array(written.utf8)
            var at = 0
            for token in surface {
                at = Self.skippingWhitespace(bytes, from: at)
                let form = Array(token.form.utf8)
                guard at + form.count <= bytes.count, bytes[at..<(at + form.count)].elementsEqual(form) else {
                    let character = String(decoding: bytes[..<at], as: UTF8.self).unicodeScalars.count + 1
                    let found = String(decoding: bytes[at..<min(bytes.count, at + max(form.count, 1) + 8)], as: UTF8.self)
                    return .failure(ImportError(.invalidCoNLL, RecordLocator(file: file, line: token.line),
                                                "FORM '\(token.form)' does not match '# text' at character \(character) (found '\(found)')"))
                }
                ranges.append(at..<(at + form.count))
                at += form.count
            }
            text = written
        } else {
            var built = ""
            for (i, token) in surface.enumerated() {
                let start = built.utf8.count
                built += token.form
                ranges.append(start..<built.utf8.count)
                if i < surface.count - 1 { built += token.after }
            }
            text = built
        }
        if surfaceTokens { return .success(SentenceText(text: text, words: ranges)) }
        var words: [Range<Int>] = []
        words.reserveCapacity(wordForms.count)
        for (token, range) in zip(surface, ranges) {
            // A multiword token's range names words the sentence must hold (found by fuzzing: a
            // range past the last word crashed here).
            guard token.words.lowerBound >= 0, token.words.upperBound <= wordForms.count, !token.words.isEmpty else {
                return .failure(ImportError(.invalidCoNLL, RecordLocator(file: file, line: token.line),
                                            "token '\(token.form)' covers words \(token.words.lowerBound + 1)-\(token.words.upperBound) but the sentence has \(wordForms.count) word\(wordForms.count == 1 ? "" : "s")"))
            }
            let parts = wordForms[token.words]
            // "don't" = "do" + "n't": each word at its own bytes; "del" = "de" + "el": all at "del".
            if parts.count > 1, parts.reduce(0, { $0 + $1.utf8.count }) == range.count, parts.joined() == token.form {
                var at = range.lowerBound
                for p in parts { words.append(at..<(at + p.utf8.count)); at += p.utf8.count }
            } else {
                words.append(contentsOf: repeatElement(range, count: parts.count))
            }
        }
        return .success(SentenceText(text: text, words: words))
    }
}

extension String {
    var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
