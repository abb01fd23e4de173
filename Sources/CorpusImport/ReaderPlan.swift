import Foundation
import Store

/// The fields a mapping needs, deduplicated, with where each task finds its values in
/// `RawRecord.fields`; and the reader that extracts them.
struct ReaderPlan: Sendable {
    /// A class: the workers pass each task around per record, and a struct of strings and
    /// optionals would be retained field by field on every copy.
    final class TaskSlots: Sendable {
        let name: String
        let mapping: TaskMapping
        /// classification / multilabel / tagging: [field]; spans: [start, end, label]; then the
        /// pair field, when the task has one.
        let slots: [Int]
        init(name: String, mapping: TaskMapping, slots: [Int]) { self.name = name; self.mapping = mapping; self.slots = slots }
    }
    let mapping: Mapping
    private(set) var fields: [String] = []
    private(set) var text = 0
    /// The slots of `text_also`, in order.
    private(set) var textAlso: [Int] = []
    private(set) var group: Int?
    private(set) var tasks: [TaskSlots] = []

    init(mapping: Mapping) {
        self.mapping = mapping
        text = slot(mapping.textField ?? "")
        textAlso = (mapping.textAlso ?? []).map { slot($0) }
        group = mapping.group.map { slot($0) }
        for name in mapping.taskNames {
            let t = mapping.tasks[name]!
            var slots: [Int]
            if t.kind == .spans, let f = t.spanFields(format: mapping.format) {
                slots = [slot(f.start), slot(f.end), slot(f.label)]
            } else {
                slots = [slot(t.field ?? "")]
            }
            if let p = t.pairField(format: mapping.format) { slots.append(slot(p)) }
            tasks.append(TaskSlots(name: name, mapping: t, slots: slots))
        }
    }

    private mutating func slot(_ field: String) -> Int {
        if let i = fields.firstIndex(of: field) { return i }
        fields.append(field)
        return fields.count - 1
    }

    /// Opens the reader for `path` (hashing on, for the store's content hash).
    func makeReader(path: String, displayName: String?, xml: XMLReading = XMLReading(),
                    limits: ReaderLimits = ReaderLimits()) throws(ImportError) -> any RecordReader {
        let m = mapping
        switch m.format {
        case .csv, .tsv:
            var options = m.format == .csv ? CSVOptions.csv : CSVOptions.tsv
            if let d = m.delimiter?.utf8.first { options.delimiter = d }
            if let q = m.quote { options.quote = q == "none" ? nil : q.utf8.first }
            if let columns = m.columns { options.header = .columns(columns) } else if m.header == false { options.header = .none }
            options.maxRecordBytes = limits.recordBytes
            let refs = fields.map { f -> ColumnRef in
                if f.hasPrefix("#"), let i = Int(f.dropFirst()) { return .index(i) }
                return .name(f)
            }
            return try CSVReader(path: path, columns: refs, options: options, displayName: displayName, hashing: true)
        case .jsonl:
            return try JSONLReader(path: path, fields: fields, displayName: displayName, hashing: true, limits: limits)
        case .regex:
            var options = RegexLineOptions(skipBlankLines: true, commentPrefix: m.comment)
            options.patternOrigin = "pattern"
            options.maxLineBytes = limits.recordBytes
            return try RegexLineReader(path: path, pattern: m.pattern ?? "", fields: fields, options: options,
                                       displayName: displayName, hashing: true)
        case .parallel:
            var options = ParallelLineOptions()
            options.maxLineBytes = limits.recordBytes
            return try ParallelLineReader(sourcePath: path, targetPath: m.targetFile ?? "", fields: fields, options: options,
                                          sourceDisplayName: displayName, hashing: true)
        case .xml:
            return try xml.makeReader(path: path, fields: fields,
                                      options: XMLOptions(recordElement: m.record ?? "", namespaceURI: m.namespace, namespaces: m.namespaces ?? [:],
                                                          limits: limits),
                                      displayName: displayName, hashing: true)
        case .conll, .conllu:
            var refs: [CoNLLField] = []
            for f in fields {
                if let i = Int(f), i >= 0 { refs.append(.column(i)) }
                else if f.hasPrefix("comment:") { refs.append(.comment(String(f.dropFirst(8)))) }
                else if f == "surface" { refs.append(.surfaceForms) }
                else {
                    throw ImportError(.unknownColumn, RecordLocator(file: displayName ?? URL(fileURLWithPath: path).lastPathComponent),
                                      "unknown CoNLL field '\(f)' (expected a 0-based column number, comment:KEY or surface)")
                }
            }
            if m.format == .conllu, refs.contains(where: { if case .column(let i) = $0 { return i > 9 }; return false }) {
                throw ImportError(.unknownColumn, RecordLocator(file: displayName ?? URL(fileURLWithPath: path).lastPathComponent),
                                  "CoNLL-U has 10 columns (0-9)")
            }
            // The words and the surface forms are the sentence's own tokens: they get offsets into
            // `# text`; another column as the text (lemmas) has no such place and is joined by spaces.
            let textRef = refs[text]
            let options = m.format == .conll ? CoNLLOptions.conll
                : CoNLLOptions(dialect: .conllu, sentenceFor: textRef == .column(1) || textRef == .surfaceForms ? textRef : nil)
            return try CoNLLReader(path: path, fields: refs, options: options,
                                   displayName: displayName, hashing: true, limits: limits)
        }
    }
}
