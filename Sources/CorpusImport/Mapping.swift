import Foundation
import Store
import Text

/// How the records of one file become examples: the reader and its options, which field is
/// the text, which fields are the labels of which tasks, and the text pipeline.
///
/// The same section a pipeline YAML file embeds; `mtl-prep import --mapping FILE.yaml` reads
/// it alone, and the simple flags (`--text`, `--label`, `--tags`, `--spans`) build one.
/// Stored as canonical JSON in `sources.mapping_json`.
///
/// ```yaml
/// format: xml
/// record: sentence
/// text: text
/// tasks:
///   aspect: {kind: spans, items: aspectTerms/aspectTerm, start: "@from", end: "@to", label: "@polarity"}
///   category: {kind: multilabel, field: aspectCategories/aspectCategory/@category}
/// pipeline: {normalize: nfkc_cf, tokenize: words}
/// ```
///
/// Fields are spelled in the format's own way: CSV/TSV a column name (or `#N`, 0-based);
/// JSONL a dot-separated key path (`a.b`, `spans.*.start`); XML an XPath relative to the
/// record element; CoNLL a 0-based column number, `comment:KEY` (CoNLL-U `# KEY = value`) or
/// `surface` (CoNLL-U surface forms).
public struct Mapping: Sendable, Hashable, Codable {
    public enum Format: String, Sendable, Hashable, Codable, CaseIterable {
        case csv, tsv, jsonl, xml, conll, conllu
        /// One record per line, fields from an ICU regular expression's named groups (`pattern`).
        case regex
        /// Two line-aligned files (source, target: Moses, fairseq, OpenNMT data); fields
        /// `source`, `target`, `line`.
        case parallel

        /// The format a file name suggests, if any.
        public static func guess(path: String) -> Format? {
            switch URL(fileURLWithPath: path).pathExtension.lowercased() {
            case "csv": return .csv
            case "tsv", "tab": return .tsv
            case "jsonl", "ndjson": return .jsonl
            case "xml": return .xml
            case "conll", "bio", "iob": return .conll
            case "conllu": return .conllu
            default: return nil
            }
        }

        /// True for the CoNLL formats, whose text is a list of pre-tokenized words.
        public var isCoNLL: Bool { self == .conll || self == .conllu }
    }

    /// The reader to use.
    public var format: Format
    /// CSV/TSV: one-byte delimiter (default `,` for csv, tab for tsv).
    public var delimiter: String?
    /// CSV/TSV: one-byte quote, or `none` (default `"` for csv, none for tsv).
    public var quote: String?
    /// CSV/TSV: the first row holds the column names (default true).
    public var header: Bool?
    /// CSV/TSV without a header row: the column names.
    public var columns: [String]?
    /// XML: local name of the record element (required for xml).
    public var record: String?
    /// XML: namespace URI the record element must have (default: any).
    public var namespace: String?
    /// XML: extra prefix → URI bindings for the XPath expressions.
    public var namespaces: [String: String]?
    /// regex: the ICU regular expression a whole line must match; its named groups are the fields.
    public var pattern: String?
    /// regex: lines starting with this prefix are skipped (CMUdict's `;;;`, `#`).
    public var comment: String?
    /// parallel: the target file, line-aligned with the file imported.
    public var targetFile: String?
    /// The text field (default: CoNLL column 0, CoNLL-U column 1 (FORM); required otherwise).
    public var text: String?
    /// Further text fields, joined after `text` with `join` (AG News: title, then description).
    public var textAlso: [String]?
    /// The separator between text parts, and between the values of a text field that matches
    /// several (a TEI speech's `<l>` lines); setting it lets a text field match several values.
    /// Default (with `text_also`): one space.
    public var join: String?
    /// Accept records whose text is empty (default false: an empty text is a bad record).
    public var allowEmptyText: Bool?
    /// Tasks by name (processed in name order, so task ids do not depend on file order).
    public var tasks: [String: TaskMapping]
    /// A field holding a group key (a document or user id) for grouped splits.
    public var group: String?
    /// A predefined split part for every example of the source (`train`, `test`, …).
    public var part: String?
    /// The text pipeline; `--normalize`, `--tokenizer` and `--locale` override it.
    public var pipeline: PipelineSection?

    /// The text pipeline part of a mapping (the specs of `TextPipeline`).
    public struct PipelineSection: Sendable, Hashable, Codable {
        /// Normalizer chain spec (default `nfkc_cf`).
        public var normalize: String?
        /// Tokenizer spec (default `words`).
        public var tokenize: String?
        /// Locale (default root).
        public var locale: String?
        public init(normalize: String? = nil, tokenize: String? = nil, locale: String? = nil) {
            self.normalize = normalize; self.tokenize = tokenize; self.locale = locale
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case format, delimiter, quote, header, columns, record, namespace, namespaces, pattern, comment, text
        case targetFile = "target_file"
        case textAlso = "text_also", join
        case allowEmptyText = "allow_empty_text"
        case tasks, group, part, pipeline
    }

    public init(format: Format, text: String? = nil, tasks: [String: TaskMapping] = [:]) {
        self.format = format; self.text = text; self.tasks = tasks
    }

    /// Task names in processing order.
    public var taskNames: [String] { tasks.keys.sorted() }

    /// The text field, with the CoNLL defaults applied.
    public var textField: String? {
        text ?? (format == .conll ? "0" : format == .conllu ? "1" : nil)
    }

    /// The text fields in order (`text`, then `text_also`).
    public var textFields: [String] { (textField.map { [$0] } ?? []) + (textAlso ?? []) }

    /// Whether the text is joined from parts (`text_also` or `join` given).
    public var joinsText: Bool { !(textAlso ?? []).isEmpty || join != nil }

    /// The mapping with every default spelled out the same way (so that a mapping file and
    /// the equivalent flags compare equal): span unit/scheme/policy filled in, false flags nil.
    public func normalized() -> Mapping {
        var m = self
        if m.allowEmptyText == false { m.allowEmptyText = nil }
        if m.header == true { m.header = nil }
        if m.text == nil { m.text = textField }
        for name in m.tasks.keys {
            var t = m.tasks[name]!
            if t.optional == false { t.optional = nil }
            if t.kind == .spans {
                t.unit = t.unit ?? .scalars; t.scheme = t.scheme ?? .bio; t.unaligned = t.unaligned ?? .expand
                if t.duplicates == .error { t.duplicates = nil }
            }
            m.tasks[name] = t
        }
        return m
    }

    /// Canonical JSON (defaults filled in, sorted keys), as stored in `sources.mapping_json`.
    public func canonicalJSON() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(normalized())) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Checks what can be checked without the file: required fields per format and task
    /// kind, one-byte delimiters. Errors name `origin` (the mapping file, or `command line`).
    public func validate(origin: String) throws(ImportError) {
        func bad(_ field: String, _ message: String) -> ImportError {
            ImportError(.invalidMapping, RecordLocator(file: origin), "\(field): \(message)")
        }
        guard let text = textField, !text.isEmpty else {
            throw bad("text", "no text field given (required for \(format.rawValue))")
        }
        _ = text
        if joinsText {
            if format.isCoNLL { throw bad("text_also", "a CoNLL text is its words; text_also/join apply to the other formats") }
            if (textAlso ?? []).contains(where: \.isEmpty) { throw bad("text_also", "an empty field name") }
            if let t = taskNames.first(where: { tasks[$0]!.kind == .tagging }) {
                throw bad("text_also", "task '\(t)' tags a token list; a joined text is not one (text_also/join apply to texts)")
            }
        }
        for name in taskNames {
            guard let part = tasks[name]!.textPart else { continue }
            if tasks[name]!.kind != .spans { throw bad("tasks.\(name).text_part", "applies to spans tasks only") }
            if !textFields.contains(part) {
                throw bad("tasks.\(name).text_part", "'\(part)' is not a text field (text: \(textFields.joined(separator: ", ")))")
            }
        }
        if format == .regex {
            guard let p = pattern, !p.isEmpty else { throw bad("pattern", "regex needs a pattern whose named groups are the fields") }
            _ = try RegexLineReader.validate(pattern: p, fields: ReaderPlan(mapping: self).fields, origin: origin == "mapping" ? "pattern" : "\(origin): pattern")
        } else if pattern != nil || comment != nil {
            throw bad("pattern", "pattern/comment apply to the regex format only, not \(format.rawValue)")
        }
        if format == .parallel {
            guard let t = targetFile, !t.isEmpty else { throw bad("target_file", "parallel needs the target file (--parallel SOURCE TARGET)") }
        } else if targetFile != nil {
            throw bad("target_file", "applies to the parallel format only, not \(format.rawValue)")
        }
        if format == .xml, (record ?? "").isEmpty { throw bad("record", "xml needs the record element's name") }
        if format != .xml, record != nil || namespace != nil || namespaces != nil {
            throw bad("record", "record/namespace/namespaces apply to xml only, not \(format.rawValue)")
        }
        if format != .csv && format != .tsv, delimiter != nil || quote != nil || header != nil || columns != nil {
            throw bad("delimiter", "delimiter/quote/header/columns apply to csv and tsv only, not \(format.rawValue)")
        }
        if let d = delimiter, d.utf8.count != 1 { throw bad("delimiter", "must be one byte, not '\(d)'") }
        if let q = quote, q != "none", q.utf8.count != 1 { throw bad("quote", "must be one byte or 'none', not '\(q)'") }
        for name in taskNames {
            guard !name.isEmpty else { throw bad("tasks", "a task has an empty name") }
            try tasks[name]!.validate(name: name, format: format, origin: origin)
        }
        if let (key, expression, problem) = firstXPathProblem() {
            throw ImportError(.invalidXPath, RecordLocator(file: origin), "\(key): \(problem.describe(expression))")
        }
    }

    /// The fields of an XML mapping, each with the key that holds it (`text`, `group`,
    /// `tasks.NAME.field`, `tasks.NAME.items`; a span's `tasks.NAME.start|end|label` as the
    /// full path joined to its items), in the order errors should be reported.
    public func xmlFieldExpressions() -> [(key: String, expression: String)] {
        guard format == .xml else { return [] }
        var out: [(String, String)] = []
        if let t = textField { out.append(("text", t)) }
        for (i, t) in (textAlso ?? []).enumerated() { out.append(("text_also[\(i)]", t)) }
        if let g = group { out.append(("group", g)) }
        for name in taskNames {
            let t = tasks[name]!
            if let f = t.field { out.append(("tasks.\(name).field", f)) }
            if let items = t.items, !items.isEmpty { out.append(("tasks.\(name).items", items)) }
            if let f = t.spanFields(format: format) {
                out.append(("tasks.\(name).start", f.start))
                out.append(("tasks.\(name).end", f.end))
                out.append(("tasks.\(name).label", f.label))
            }
            if let p = t.pairField(format: format) { out.append(("tasks.\(name).pair", p)) }
        }
        return out
    }

    /// The first XML field expression libxml2 cannot compile or evaluate, with its key.
    public func firstXPathProblem() -> (key: String, expression: String, problem: XPathProblem)? {
        for (key, expression) in xmlFieldExpressions() {
            if let p = XPathCheck.problem(expression, namespaces: namespaces ?? [:]) { return (key, expression, p) }
        }
        return nil
    }
}

/// One task of a mapping: its kind and the fields its labels come from.
public struct TaskMapping: Sendable, Hashable, Codable {
    /// What the task predicts (stored in `tasks.kind`).
    public var kind: TaskKind
    /// classification / multilabel / tagging: the label field.
    public var field: String?
    /// multilabel: split a single string value on this separator (`|`, `,`).
    public var separator: String?
    /// A fixed label set, in id order: any other label is a bad record.
    public var labels: [String]?
    /// A record without this task's field gets no annotation for it instead of failing.
    public var optional: Bool?
    /// spans: the repeated item the three fields below are relative to (XML path or JSON
    /// key path); the fields are then joined to it with `/` (XML) or `.` (JSONL).
    public var items: String?
    /// classification, multilabel, spans: a second value of the same element carried with each
    /// label as `label#pair` (SemEval's category and its polarity: `food#positive`). Values pair
    /// up one to one, in order; for spans with `items` it is joined to `items` like `label`.
    public var pair: String?
    /// spans: the text field the offsets count in, when the text is joined from several
    /// (`text_also`); default `text`. The importer shifts them to that part's place.
    public var textPart: String?
    /// spans: the fields holding every span's start, end (exclusive) and label.
    public var start: String?
    public var end: String?
    public var label: String?
    /// spans: what the offsets count (default `scalars`: Unicode code points, as Python does).
    public var unit: SpanUnit?
    /// spans (and tagging, informational): BIO (default for spans) or BIOES.
    public var scheme: TagScheme?
    /// spans: a span that does not fall on token boundaries is widened to the tokens it
    /// touches (`expand`, default) or left out (`drop`); both are counted.
    public var unaligned: UnalignedPolicy?
    /// spans: two spans of a record with the same offsets and different labels make the record
    /// bad (`error`, default) or the first one wins (`first`); both are counted. Exact repeats
    /// are always merged. Left nil for the default, so that mappings written before it existed
    /// keep their canonical JSON (and their "already imported" identity).
    public var duplicates: DuplicatePolicy?
    /// classification: the label is the number of matches of this regular expression in the
    /// field (a derived label: CMUdict's syllable count is the number of stress digits `[012]` in
    /// the phones). Swift `Regex` syntax, which for such patterns is ICU's.
    public var count: String?
    /// seq2seq: the target's own text pipeline (default: whitespace tokens, no normalization,
    /// the usual layout of phoneme strings and pre-tokenized parallel text).
    public var target: Mapping.PipelineSection?
    /// seq2seq: the most target tokens kept; a longer target is cut there (`too_long: truncate`,
    /// default) or the record is bad (`reject`). Both are counted. Nil: no limit.
    public var maxLength: Int?
    public var tooLong: TooLongPolicy?

    public enum TooLongPolicy: String, Sendable, Hashable, Codable, CaseIterable { case truncate, reject }
    /// The target pipeline's defaults (`target` unset).
    public static let defaultTargetPipeline = Mapping.PipelineSection(normalize: "none", tokenize: "whitespace")

    public enum SpanUnit: String, Sendable, Hashable, Codable, CaseIterable { case scalars, utf16, utf8 }
    public enum UnalignedPolicy: String, Sendable, Hashable, Codable, CaseIterable { case expand, drop }
    public enum DuplicatePolicy: String, Sendable, Hashable, Codable, CaseIterable { case first, error }

    enum CodingKeys: String, CodingKey {
        case kind, field, separator, labels, optional, items, start, end, label, unit, scheme, unaligned, duplicates, pair
        case textPart = "text_part", target, count
        case maxLength = "max_length", tooLong = "too_long"
    }

    public init(kind: TaskKind, field: String? = nil) { self.kind = kind; self.field = field }

    /// A spans task from three field paths.
    public static func spans(items: String? = nil, start: String, end: String, label: String,
                             unit: SpanUnit? = nil, scheme: TagScheme? = nil, unaligned: UnalignedPolicy? = nil,
                             duplicates: DuplicatePolicy? = nil) -> TaskMapping {
        var t = TaskMapping(kind: .spans)
        t.items = items; t.start = start; t.end = end; t.label = label
        t.unit = unit; t.scheme = scheme; t.unaligned = unaligned; t.duplicates = duplicates
        return t
    }

    /// A seq2seq task's target pipeline (`target`, its defaults filled in).
    public static func targetPipeline(_ t: TaskMapping) throws -> TextPipeline {
        let d = defaultTargetPipeline
        return try TextPipeline(normalize: t.target?.normalize ?? d.normalize!, tokenize: t.target?.tokenize ?? d.tokenize!,
                                locale: t.target?.locale ?? "")
    }

    /// The start, end and label fields as full paths (joined to `items`).
    public func spanFields(format: Mapping.Format) -> (start: String, end: String, label: String)? {
        guard let s = start, let e = end, let l = label else { return nil }
        guard let items, !items.isEmpty else { return (s, e, l) }
        let join = format == .xml ? "/" : "."
        return (items + join + s, items + join + e, items + join + l)
    }

    /// The pair field as a full path (a spans task's joined to `items`).
    public func pairField(format: Mapping.Format) -> String? {
        guard let pair, !pair.isEmpty else { return nil }
        guard kind == .spans, let items, !items.isEmpty else { return pair }
        return items + (format == .xml ? "/" : ".") + pair
    }

    func validate(name: String, format: Mapping.Format, origin: String) throws(ImportError) {
        func bad(_ field: String, _ message: String) -> ImportError {
            ImportError(.invalidMapping, RecordLocator(file: origin), "tasks.\(name).\(field): \(message)")
        }
        if let pair {
            if pair.isEmpty { throw bad("pair", "empty field") }
            if kind == .tagging { throw bad("pair", "applies to classification, multilabel and spans tasks, not tagging") }
        }
        if let count {
            if kind != .classification { throw bad("count", "applies to classification tasks only") }
            if count.isEmpty { throw bad("count", "an empty pattern") }
            do { _ = try Regex(count) } catch { throw bad("count", "not a valid regular expression: \(error)") }
            if pair != nil || labels != nil { throw bad("count", "a counted label takes no pair or fixed labels") }
        }
        if kind != .seq2seq, target != nil || maxLength != nil || tooLong != nil {
            throw bad("target", "target/max_length/too_long apply to seq2seq tasks only")
        }
        switch kind {
        case .seq2seq:
            guard let f = field, !f.isEmpty else { throw bad("field", "a seq2seq task needs a field (the target text)") }
            if pair != nil || separator != nil || labels != nil || start != nil || end != nil || label != nil || items != nil {
                throw bad("field", "a seq2seq task takes field (and target, max_length, too_long) only")
            }
            if let n = maxLength, n < 1 { throw bad("max_length", "must be at least 1, not \(n)") }
        case .regression:
            guard let f = field, !f.isEmpty else { throw bad("field", "a regression task needs a field (a number per record)") }
            if pair != nil || separator != nil || labels != nil || start != nil || end != nil || label != nil || items != nil || count != nil {
                throw bad("field", "a regression task takes field (and optional) only")
            }
        case .classification, .multilabel, .tagging:
            guard let f = field, !f.isEmpty else { throw bad("field", "a \(kind.rawValue) task needs a field") }
            if start != nil || end != nil || label != nil || items != nil || unit != nil || unaligned != nil || duplicates != nil {
                throw bad("start", "start/end/label/items/unit/unaligned/duplicates apply to spans tasks only")
            }
            if kind == .tagging, !format.isCoNLL, format != .jsonl, format != .xml {
                throw bad("kind", "tagging needs pre-tokenized input (conll, conllu, a jsonl token list or an xml node-set), not \(format.rawValue)")
            }
            if separator != nil, kind != .multilabel { throw bad("separator", "applies to multilabel tasks only") }
        case .spans:
            guard spanFields(format: format) != nil else { throw bad("start", "a spans task needs start, end and label fields") }
            if field != nil { throw bad("field", "a spans task takes start/end/label, not field") }
            if format.isCoNLL { throw bad("kind", "spans over CoNLL words: use a tagging task") }
        }
    }
}

extension Mapping {
    /// Reads a mapping from YAML (or JSON) text; errors name `origin` (a file, or `file:line` of
    /// the section a pipeline file embeds).
    public static func decode(yaml: String, origin: String) throws(ImportError) -> Mapping {
        try MappingYAML.decode(yaml, origin: origin)
    }

    /// Reads a mapping from a YAML (or JSON) file. Unknown keys, unknown formats, task
    /// kinds, units and schemes are errors naming the file and the key.
    public static func load(path: String) throws(ImportError) -> Mapping {
        let display = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImportError(.io, RecordLocator(file: display), "cannot read the mapping file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ImportError(.invalidUTF8, RecordLocator(file: display), "the mapping file is not UTF-8")
        }
        return try MappingYAML.decode(text, origin: display)
    }
}
