/// Where a record (or an error) comes from: file and line (and column) for line-based
/// formats, file, record index and element path (plus the start tag's line) for XML.
///
/// `description` is what users see and what `examples.locator` stores:
/// `reviews.csv:42`, `reviews.csv:42:7`, `rest.xml:17 (record 3, /sentences/sentence)`.
/// Lines, columns and record indexes are 1-based; columns count UTF-8 bytes from the
/// start of the line (as compilers and editors using byte columns do).
public struct RecordLocator: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The file as shown to users (by default the path's last component).
    public var file: String
    public var line: Int?
    public var column: Int?
    /// XML: 1-based index of the record element among all matched records.
    public var recordIndex: Int?
    /// XML: the record element's path of local names from the root, e.g. `/mediawiki/page`.
    public var elementPath: String?

    public init(file: String, line: Int? = nil, column: Int? = nil, recordIndex: Int? = nil, elementPath: String? = nil) {
        self.file = file; self.line = line; self.column = column
        self.recordIndex = recordIndex; self.elementPath = elementPath
    }

    public var description: String {
        // One allocation, no interpolation: an XML import stores one of these per record.
        let capacity = file.utf8.count + (elementPath?.utf8.count ?? 0) + 3 * 20 + 14 // 3 integers, the punctuation
        return String(unsafeUninitializedCapacity: capacity) { buffer in
            var out = DescriptionWriter(buffer: buffer)
            out.append(file)
            if let line {
                out.append(":"); out.append(line)
                if let column { out.append(":"); out.append(column) }
            }
            if let recordIndex {
                out.append(" (record "); out.append(recordIndex)
                if let elementPath { out.append(", "); out.append(elementPath) }
                out.append(")")
            }
            return out.count
        }
    }
}

/// Fills `RecordLocator.description`'s buffer.
private struct DescriptionWriter {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    var count = 0

    mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            guard let from = utf8.baseAddress else { return }
            (buffer.baseAddress! + count).update(from: from, count: utf8.count)
            count += utf8.count
        }
    }

    mutating func append(_ v: Int) {
        if v < 0 { append("-") }
        var m = v.magnitude, digits = 1
        while m >= 10 { m /= 10; digits += 1 }
        m = v.magnitude
        for k in stride(from: count + digits - 1, through: count, by: -1) {
            buffer[k] = UInt8(ascii: "0") + UInt8(m % 10)
            m /= 10
        }
        count += digits
    }
}

/// The one error type of `CorpusImport`: what went wrong and where, printed as
/// `corpus.csv:42:7: unterminated quoted field at end of file`.
public struct ImportError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable {
        case io
        case invalidUTF8
        case unterminatedQuote
        case strayQuote
        case raggedRow
        case recordTooLong
        case unknownColumn
        case invalidJSON
        case invalidCoNLL
        case notWellFormedXML
        /// Refused for safety: DTD entity declarations (entity-expansion bombs), limits.
        case unsafeXML
        case invalidXPath
        /// A line that a line-pattern reader's regular expression does not match (the whole
        /// line). The reader has consumed the line and goes on: a reject of that line.
        case patternMismatch
        /// Line-aligned files (a parallel corpus's source and target) with different line
        /// counts: fatal, the pairs cannot be trusted.
        case unalignedFiles
        /// Mapping-level problems found by the import driver.
        case missingField
        /// A field that is present with an empty value (`polarity=""`, an empty cell) where a
        /// label is expected: not a missing field, and not a label either.
        case emptyValue
        case emptyText
        case unknownTask
        case invalidMapping
        /// A span that is empty, out of its text's range, or whose fields do not match up.
        case invalidSpan
        /// A label outside a task's fixed label set, or several values where one is expected.
        case invalidLabel
        /// A tagging task's tags do not line up with the text's tokens (one tag per token).
        case tagCountMismatch
        /// The text pipeline failed on a record.
        case textPipeline
        /// The store refused a write (a task of another kind, SQLite errors).
        case store
        /// A non-empty file without a single record (a misspelled `--record`, a wrong
        /// `--namespace`, a CSV with only its header); `--allow-empty` accepts it.
        case noRecords
        /// A size beyond one of the `ReaderLimits` (XML nesting or text node, JSON nesting,
        /// tokens per example): the record is a bad record, the reader goes on.
        case limitExceeded
    }
    public var kind: Kind
    public var locator: RecordLocator
    public var message: String

    public init(_ kind: Kind, _ locator: RecordLocator, _ message: String) {
        self.kind = kind; self.locator = locator; self.message = message
    }

    public var description: String { "\(locator): \(message)" }
}

extension ImportError.Kind {
    /// Errors a reader throws from `next()` after consuming the bad record, so that calling
    /// `next()` again continues with the following one (`--on-error skip` makes them rejects).
    /// Any other error thrown by `next()` stopped the reader for good.
    public var readerContinues: Bool {
        switch self {
        case .raggedRow, .invalidUTF8, .invalidJSON, .patternMismatch, .limitExceeded: return true
        default: return false
        }
    }
}

/// One value a reader extracted for one requested field.
public enum FieldValue: Sendable, Hashable {
    /// The field is absent (JSON key missing or null, XPath matched nothing is `.list([])`).
    case missing
    /// One string (a CSV cell, a JSON string or number, an XPath string/number/boolean).
    case string(String)
    /// Several strings (a CoNLL column over a sentence's words, an XPath node-set, a JSON array).
    case list([String])

    /// The value as one string: `.string`, or a one-element `.list`; nil otherwise.
    public var single: String? {
        switch self {
        case .string(let s): return s
        case .list(let l) where l.count == 1: return l[0]
        default: return nil
        }
    }

    /// The value as a list: `[]` for missing, `[s]` for a string.
    public var strings: [String] {
        switch self {
        case .missing: return []
        case .string(let s): return [s]
        case .list(let l): return l
        }
    }
}

/// One record as the reader saw it: its locator and one value per field the reader was
/// asked for, in the order asked (readers decode only the fields asked for).
public struct RawRecord: Sendable, Hashable {
    public var locator: RecordLocator
    public var fields: [FieldValue]
    /// CoNLL-U: the sentence as written and where the text field's words lie in it, or why the
    /// words do not fit it (a reject of this sentence, not of the file). Nil elsewhere.
    public var sentence: Result<SentenceText, ImportError>?
    public init(locator: RecordLocator, fields: [FieldValue], sentence: Result<SentenceText, ImportError>? = nil) {
        self.locator = locator; self.fields = fields; self.sentence = sentence
    }
}

/// A CoNLL-U sentence's text (`# text`, or the forms with `SpaceAfter=No` respected) and the
/// UTF-8 range of each word of the text field in it, so that offsets point into the real sentence.
public struct SentenceText: Sendable, Hashable {
    public var text: String
    /// One range per word, in order. The words of a multiword token whose forms do not spell it
    /// (Spanish "del" = "de" + "el") each get the whole token: there is no truer place for them.
    public var words: [Range<Int>]
    public init(text: String, words: [Range<Int>]) { self.text = text; self.words = words }
}

/// A streaming reader of records; memory does not grow with the file.
///
/// Readers own file handles: use one from one thread (the import's reader thread).
public protocol RecordReader: AnyObject {
    /// The next record, or nil at the end of the file.
    func next() throws(ImportError) -> RawRecord?
    /// Bytes of the file consumed so far (for progress).
    var bytesRead: Int64 { get }
    /// The file's size, when known.
    var totalBytes: Int64? { get }
    /// SHA-256 of the whole file, once the reader has reached its end with hashing on.
    var contentSHA256: String? { get }
    /// After `next()` returned nil without a record from a non-empty file: what was looked
    /// for, and what the file holds instead (XML: the elements at its top levels).
    func noRecordsExplanation() -> String
}

extension RecordReader {
    public func noRecordsExplanation() -> String { "no records found" }
}
