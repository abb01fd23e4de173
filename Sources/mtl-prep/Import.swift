import ArgumentParser
import CorpusImport
import Foundation
import Store
import Text

extension Mapping.Format: ExpressibleByArgument {}
extension ErrorPolicy: ExpressibleByArgument {}
extension TaskMapping.SpanUnit: ExpressibleByArgument {}
extension TaskMapping.UnalignedPolicy: ExpressibleByArgument {}
extension TaskMapping.DuplicatePolicy: ExpressibleByArgument {}
extension TagScheme: ExpressibleByArgument {}
extension TaskMapping.TooLongPolicy: ExpressibleByArgument {}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import corpus files into the example store (one source per file, all or nothing).",
        discussion: """
            Each FILE becomes one source. The mapping (which field is the text, which fields are the labels \
            of which tasks) comes from --mapping FILE.yaml or from the flags below. Fields are column names \
            (CSV/TSV, or #N for a 0-based index), dot key paths (JSONL, * for every array element), XPath \
            relative to the record element (XML), or 0-based column numbers, comment:KEY and surface (CoNLL).

            Examples:
              mtl-prep import reviews.csv --text review --label topic=cat --label sentiment=label
              mtl-prep import train.conll --tags ner=1
              mtl-prep import en_ewt-ud-dev.conllu --tags upos=3
              mtl-prep import Restaurants_Train_v2.xml --record sentence --text text \\
                  --spans aspect=aspectTerms/aspectTerm:@from,@to,@polarity \\
                  --multilabel category=aspectCategories/aspectCategory/@category
              mtl-prep import test.tsv --text sentence --label sentiment=label --part test

            An import is one transaction: on an error nothing is stored (--on-error fail), or bad records \
            are stored as rejects and counted (--on-error skip). Importing the same content with the same \
            mapping and pipeline again adds nothing unless --replace. See docs/import.md.
            """
    )

    @Argument(help: "Corpus files to import.")
    var files: [String] = []

    @Option(name: .customLong("parallel"), parsing: .upToNextOption, help: ArgumentHelp(
        "A parallel corpus as two line-aligned files, SOURCE TARGET (Moses, fairseq, OpenNMT): one example per line pair; fields source, target and line. The text defaults to source: give the target to a task, e.g. --seq2seq translation=target.",
        valueName: "source target"))
    var parallel: [String] = []

    @Option(help: "regex: an ICU regular expression a whole line must match; its named groups are the fields, e.g. for CMUdict '^(?<word>[^\\s(]+)(?:\\((?<variant>\\d+)\\))? (?<phones>[^#]+?)(?:\\s+#.*)?$'. Lines it does not match are bad records.")
    var pattern: String?

    @Option(help: "regex: skip lines that start with this prefix (e.g. ';;;' or '#').")
    var comment: String?

    @Option(help: "The store (created if absent).")
    var store = "mtl.sqlite"

    @Option(help: "A mapping file (YAML); exclusive with the mapping flags below.")
    var mapping: String?

    @Option(help: "Input format: csv, tsv, jsonl, xml, conll, conllu, regex (with --pattern) (default: from the file extension).")
    var format: Mapping.Format?

    @Option(help: "The text field (default: CoNLL column 0, CoNLL-U column 1). A CoNLL-U text is stored as written: `# text`, else the forms with SpaceAfter=No respected. Repeated: the fields joined with --join (title, then description).")
    var text: [String] = []

    @Option(help: "The separator between the --text fields, and between the values of a text field that matches several (TEI <l> lines); default one space.")
    var join: String?

    @Option(name: .customLong("label"), help: ArgumentHelp("A classification task: TASK=FIELD (repeatable).", valueName: "task=field"))
    var labels: [String] = []

    @Option(name: .customLong("multilabel"), help: ArgumentHelp("A multilabel task: TASK=FIELD, the field giving a list (repeatable).", valueName: "task=field"))
    var multilabels: [String] = []

    @Option(name: .customLong("tags"), help: ArgumentHelp("A tagging task over pre-tokenized words: TASK=FIELD, e.g. pos=3; XML: the --text node-set is the tokens, FIELD one tag per node, e.g. --text w --tags pos=w/@pos (repeatable).", valueName: "task=field"))
    var tags: [String] = []

    @Option(name: .customLong("spans"), help: ArgumentHelp("A spans task: TASK=ITEMS:START,END,LABEL (fields relative to ITEMS), or TASK=START,END,LABEL (repeatable).", valueName: "spec"))
    var spans: [String] = []

    @Option(name: .customLong("regression"), help: ArgumentHelp("A regression task: TASK=FIELD, the field a number per record (a score, an intensity), stored as float32; a value that is not a finite number is a bad record (repeatable).", valueName: "task=field"))
    var regressions: [String] = []

    @Option(name: .customLong("count"), help: ArgumentHelp("A classification task whose label is the number of matches of REGEX in FIELD: TASK=FIELD:REGEX, e.g. syllables='phones:[012]' (CMUdict's vowels carry a stress digit) (repeatable).", valueName: "task=field:regex"))
    var counts: [String] = []

    @Option(name: .customLong("seq2seq"), help: ArgumentHelp("A sequence-to-sequence task: TASK=FIELD, the field giving the target text (a translation, a pronunciation), tokenized by --target-tokenizer (repeatable).", valueName: "task=field"))
    var seq2seq: [String] = []

    @Option(name: .customLong("target-normalize"), help: "Normalizer chain of --seq2seq targets (default none).")
    var targetNormalize: String?

    @Option(name: .customLong("target-tokenizer"), help: "Tokenizer of --seq2seq targets: whitespace (default: phoneme strings, pre-tokenized text), graphemes (transliteration), words (ICU words, for translation), …")
    var targetTokenizer: String?

    @Option(name: .customLong("max-target-length"), help: "The most tokens of a --seq2seq target; a longer one is cut or its record refused (--too-long). Default: no limit.")
    var maxTargetLength: Int?

    @Option(name: .customLong("too-long"), help: "A target longer than --max-target-length: truncate (counted in the summary) or reject (a bad record).")
    var tooLong: TaskMapping.TooLongPolicy = .truncate

    @Option(name: .customLong("pair"), help: ArgumentHelp("A second value of the same element carried with a --label, --multilabel or --spans task's labels as LABEL#PAIR: TASK=FIELD, e.g. category=aspectCategories/aspectCategory/@polarity (values pair up in order; a --spans task's FIELD is relative to its ITEMS) (repeatable).", valueName: "task=field"))
    var pairs: [String] = []

    @Option(name: .customLong("text-part"), help: ArgumentHelp("With --text repeated: the --text field a --spans task's offsets count in, TASK=FIELD (default: the first); the offsets are shifted to where that field sits in the joined text (repeatable).", valueName: "task=field"))
    var textParts: [String] = []

    @Option(name: .customLong("span-unit"), help: "What span offsets count: scalars (code points), utf16 or utf8.")
    var spanUnit: TaskMapping.SpanUnit = .scalars

    @Option(name: .customLong("span-scheme"), help: "Tag scheme of spans tasks: BIO or BIOES.")
    var spanScheme: TagScheme = .bio

    @Option(help: "Spans not on token boundaries: expand (to the tokens they touch) or drop.")
    var unaligned: TaskMapping.UnalignedPolicy = .expand

    @Option(name: .customLong("duplicate-spans"), help: "Spans with the same offsets and different labels: error (the record is bad) or first (the first wins). Exact repeats are merged either way.")
    var duplicateSpans: TaskMapping.DuplicatePolicy = .error

    @Option(help: "A field holding a group key (document, user) for grouped splits.")
    var group: String?

    @Option(help: "CSV/TSV: one-byte delimiter.")
    var delimiter: String?

    @Option(help: "CSV/TSV: one-byte quote character, or 'none'.")
    var quote: String?

    @Flag(name: .customLong("no-header"), help: "CSV/TSV: the first row is data (address columns as #N or name them with --columns).")
    var noHeader = false

    @Option(help: "CSV/TSV without a header: comma-separated column names.")
    var columns: String?

    @Option(help: "XML: local name of the record element.")
    var record: String?

    @Option(name: .customLong("namespace"), help: ArgumentHelp(
        "XML: URI = the record element's namespace URI; PREFIX=URI = a prefix for the field expressions, which also matches elements in that default namespace (repeatable).",
        valueName: "uri|prefix=uri"))
    var namespaces: [String] = []

    @Flag(name: .customLong("allow-empty-text"), help: "Keep records whose text has no tokens (default: they are bad records).")
    var allowEmptyText = false

    @Option(name: .customLong("normalize"), help: "Normalizer chain spec (default: the mapping's, else nfkc_cf).")
    var normalize: String?

    @Option(name: .customLong("tokenizer"), help: "Tokenizer spec (default: the mapping's, else words).")
    var tokenizer: String?

    @Option(help: "Locale for case mapping and segmentation (default: the mapping's, else root).")
    var locale: String?

    @Option(help: "Tag every example of these sources as a predefined split part (train, dev, test).")
    var part: String?

    @Flag(name: .customLong("allow-empty"), help: "Import a non-empty file without a single record as an empty source (default: an error).")
    var allowEmpty = false

    @Option(name: .customLong("max-record-bytes"),
            help: "Longest record: a CSV/TSV record, a JSONL, regex or parallel line, a CoNLL sentence, an XML record element (bytes; K, M, G suffixes; default 64M).")
    var maxRecordBytes: String?

    @Option(name: .customLong("max-text-node-bytes"), help: "Longest XML text node or attribute value (bytes; K, M, G suffixes; default 10000000, libxml2's).")
    var maxTextNodeBytes: String?

    @Option(name: .customLong("max-depth"), help: "Deepest nesting of XML elements, or of JSON arrays and objects in a JSONL line (default 256, at most 2048).")
    var maxDepth: Int?

    @Option(name: .customLong("max-tokens-per-example"), help: "Most tokens in one example's text; more is a bad record (default 1048576).")
    var maxTokensPerExample: Int?

    @Flag(help: "Import again even if the same content, mapping and pipeline (or the same path) is in the store.")
    var replace = false

    @Option(name: .customLong("on-error"), help: "On a bad record: fail (store unchanged) or skip (store it as a reject).")
    var onError: ErrorPolicy = .fail

    @Option(help: "Tokenizer threads (default: all cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Print the summary as one JSON object on standard output.")
    var json = false

    private static func isNCName(_ s: Substring) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || $0 == "-" || $0 == "." || $0.properties.isAlphabetic || $0.properties.numericType != nil }
    }

    /// The limits the flags give (defaults for the rest).
    func readerLimits() throws -> ReaderLimits {
        var limits = ReaderLimits()
        func bytes(_ text: String?, _ flag: String) throws -> Int? {
            guard let text else { return nil }
            guard let n = ReaderLimits.bytes(text) else { throw ValidationError("\(flag): '\(text)' is not a byte count (e.g. 1000000, 64M, 1G)") }
            return n
        }
        if let n = try bytes(maxRecordBytes, ReaderLimits.Flag.recordBytes) { limits.recordBytes = n }
        if let n = try bytes(maxTextNodeBytes, ReaderLimits.Flag.textNodeBytes) { limits.textNodeBytes = n }
        if let maxDepth { limits.depth = maxDepth }
        if let maxTokensPerExample { limits.tokensPerExample = maxTokensPerExample }
        if let problem = limits.problem() { throw ValidationError(problem) }
        return limits
    }

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        _ = try readerLimits()
        if files.isEmpty && parallel.isEmpty { throw ValidationError("give at least one file to import (or --parallel SOURCE TARGET)") }
        if !parallel.isEmpty {
            if parallel.count != 2 { throw ValidationError("--parallel takes two files, SOURCE TARGET (got \(parallel.count))") }
            if !files.isEmpty { throw ValidationError("--parallel SOURCE TARGET is the input: give no other files") }
            if let format, format != .parallel { throw ValidationError("--parallel reads two line-aligned files; --format \(format.rawValue) does not apply") }
        }
        if pattern != nil, let format, format != .regex { throw ValidationError("--pattern applies to --format regex") }
        if format == .regex && pattern == nil && mapping == nil { throw ValidationError("--format regex needs --pattern") }
        let flags = !text.isEmpty || join != nil || !labels.isEmpty || !multilabels.isEmpty || !tags.isEmpty || !spans.isEmpty || !pairs.isEmpty || group != nil
            || !seq2seq.isEmpty || targetNormalize != nil || targetTokenizer != nil || maxTargetLength != nil
            || pattern != nil || comment != nil || !parallel.isEmpty || !counts.isEmpty || !textParts.isEmpty || !regressions.isEmpty
            || delimiter != nil || quote != nil || noHeader || columns != nil || record != nil || !namespaces.isEmpty || format != nil
        if mapping != nil && flags {
            throw ValidationError("--mapping and the mapping flags (--format, --text, --label, --tags, --spans, …) are exclusive")
        }
    }

    func run() throws {
        var summaries: [ImportSummary] = []
        let progress = isatty(STDERR_FILENO) == 1 ? ProgressLine() : nil
        func importFile(_ file: String, into db: ExampleStore) throws -> ImportSummary {
            let m = try mapping.map { path in try wrap { try Mapping.load(path: path) } } ?? flagMapping(for: file)
            let p = m.pipeline
            let pipeline: TextPipeline
            do {
                pipeline = try TextPipeline(normalize: normalize ?? p?.normalize ?? "nfkc_cf", tokenize: tokenizer ?? p?.tokenize ?? "words",
                                            locale: locale ?? p?.locale ?? "")
            } catch let e as TextError { throw CLIError(e.message) }
            var options = ImportOptions(mapping: m, pipeline: pipeline)
            options.part = part
            options.replace = replace
            options.onError = onError
            options.threads = threads
            options.allowEmpty = allowEmpty
            options.limits = try readerLimits()
            let summary = try wrap {
                try Importer(store: db, options: options).importFile(file, progress: progress.map { line in { line.update($0) } })
            }
            progress?.clear()
            return summary
        }
        func report(_ summary: ImportSummary) throws {
            summaries.append(summary)
            if !json { try SummaryText.print(summary) }
        }
        var rest = (parallel.isEmpty ? files : [parallel[0]])[...]
        if !FileManager.default.fileExists(atPath: store) {
            // A new store is built with its first file out of sight and appears whole
            // (ExampleStore.create): half the writes of an import into an existing store.
            // Its summary is printed once the store is published: until then it can still fail.
            let first = rest.removeFirst()
            do { try report(try ExampleStore.create(at: store) { db in try importFile(first, into: db) }) }
            catch let e as StoreError where e.kind == .createdMeanwhile {
                throw CLIError("\(e.message)\(Self.describeStore(store)); nothing of \(first) was stored: import it again to add it to that store")
            }
            catch let e as StoreError { throw CLIError("\(store): \(e)") }
        }
        if !rest.isEmpty {
            let db: ExampleStore
            do { db = try ExampleStore(path: store) } catch { throw CLIError("\(store): \(error)") }
            for file in rest { try report(try importFile(file, into: db)) }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let totals: [String: Int64] = [
                "records_read": summaries.reduce(0) { $0 + $1.recordsRead },
                "examples_stored": summaries.reduce(0) { $0 + $1.examplesStored },
                "rejects": summaries.reduce(0) { $0 + $1.rejects },
            ]
            struct Output: Encodable { var store: String; var imports: [ImportSummary]; var totals: [String: Int64] }
            let data = try encoder.encode(Output(store: store, imports: summaries, totals: totals))
            try StandardOutput.write(Array(data) + [0x0A])
        }
    }

    /// What the store another process created holds (`; it holds source 1 (b.csv)`), for the
    /// error that tells this process it lost the race.
    private static func describeStore(_ path: String) -> String {
        guard let sources = try? ExampleStore(path: path, readOnly: true).sources(), !sources.isEmpty else { return "" }
        let names = sources.prefix(3).map { "source \($0.id) (\($0.info.path))" }.joined(separator: ", ")
        return "; it holds \(names)\(sources.count > 3 ? " and \(sources.count - 3) more" : "")"
    }

    private func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as ImportError { throw CLIError(e.description) }
    }

    /// The mapping the flags describe, for one file.
    func flagMapping(for file: String) throws -> Mapping {
        guard let format = parallel.isEmpty ? (format ?? (pattern != nil ? .regex : Mapping.Format.guess(path: file))) : .parallel else {
            throw CLIError("\(file): cannot tell the format from the file name; give --format (csv, tsv, jsonl, xml, conll, conllu, regex)")
        }
        var m = Mapping(format: format, text: text.first ?? (format == .parallel ? "source" : nil))
        if format == .parallel { m.targetFile = parallel[1] }
        m.pattern = pattern
        m.comment = comment
        if text.count > 1 { m.textAlso = Array(text.dropFirst()) }
        m.join = join
        func pair(_ s: String, _ flag: String) throws -> (String, String) {
            guard let eq = s.firstIndex(of: "="), eq != s.startIndex, s.index(after: eq) != s.endIndex else {
                throw CLIError("\(flag) \(s): expected TASK=FIELD")
            }
            return (String(s[..<eq]), String(s[s.index(after: eq)...]))
        }
        var flagOf: [String: String] = [:]   // mapping key → the flag as given, for errors
        func add(_ name: String, _ task: TaskMapping, _ flag: String, _ given: String) throws {
            if m.tasks[name] != nil { throw CLIError("\(flag) \(name): task '\(name)' is given twice") }
            m.tasks[name] = task
            flagOf["tasks.\(name)"] = "\(flag) \(given)"
        }
        for s in labels { let (n, f) = try pair(s, "--label"); try add(n, TaskMapping(kind: .classification, field: f), "--label", s) }
        for s in multilabels { let (n, f) = try pair(s, "--multilabel"); try add(n, TaskMapping(kind: .multilabel, field: f), "--multilabel", s) }
        for s in tags { let (n, f) = try pair(s, "--tags"); try add(n, TaskMapping(kind: .tagging, field: f), "--tags", s) }
        for s in regressions { let (n, f) = try pair(s, "--regression"); try add(n, TaskMapping(kind: .regression, field: f), "--regression", s) }
        for s in counts {
            let (n, spec) = try pair(s, "--count")
            guard let colon = spec.firstIndex(of: ":"), colon != spec.startIndex, spec.index(after: colon) != spec.endIndex else {
                throw CLIError("--count \(s): expected TASK=FIELD:REGEX")
            }
            var t = TaskMapping(kind: .classification, field: String(spec[..<colon]))
            t.count = String(spec[spec.index(after: colon)...])
            try add(n, t, "--count", s)
        }
        for s in seq2seq {
            let (n, f) = try pair(s, "--seq2seq")
            var t = TaskMapping(kind: .seq2seq, field: f)
            if targetNormalize != nil || targetTokenizer != nil {
                t.target = Mapping.PipelineSection(normalize: targetNormalize, tokenize: targetTokenizer)
            }
            t.maxLength = maxTargetLength
            if maxTargetLength != nil, tooLong == .reject { t.tooLong = .reject }
            try add(n, t, "--seq2seq", s)
        }
        if seq2seq.isEmpty, targetNormalize != nil || targetTokenizer != nil || maxTargetLength != nil {
            throw CLIError("--target-normalize, --target-tokenizer and --max-target-length apply to --seq2seq tasks: give one")
        }
        for s in spans {
            let (n, spec) = try pair(s, "--spans")
            var items: String?, rest = Substring(spec)
            if let colon = spec.lastIndex(of: ":") { items = String(spec[..<colon]); rest = spec[spec.index(after: colon)...] }
            let parts = rest.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else {
                throw CLIError("--spans \(s): expected TASK=ITEMS:START,END,LABEL or TASK=START,END,LABEL")
            }
            try add(n, .spans(items: items, start: parts[0], end: parts[1], label: parts[2],
                              unit: spanUnit, scheme: spanScheme, unaligned: unaligned,
                              duplicates: duplicateSpans == .error ? nil : duplicateSpans), "--spans", s)
        }
        for s in textParts {
            let (n, f) = try pair(s, "--text-part")
            guard var t = m.tasks[n] else { throw CLIError("--text-part \(s): no task '\(n)' (give it with --spans)") }
            t.textPart = f
            m.tasks[n] = t
            flagOf["tasks.\(n).text_part"] = "--text-part \(s)"
        }
        for s in pairs {
            let (n, f) = try pair(s, "--pair")
            guard var t = m.tasks[n] else { throw CLIError("--pair \(s): no task '\(n)' (give it with --label, --multilabel or --spans)") }
            if t.pair != nil { throw CLIError("--pair \(s): task '\(n)' has a pair already") }
            t.pair = f
            m.tasks[n] = t
            flagOf["tasks.\(n).pair"] = "--pair \(s)"
        }
        m.group = group
        m.delimiter = delimiter
        m.quote = quote
        if noHeader { m.header = false }
        m.columns = columns.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        m.record = record
        for n in namespaces {
            // A URI has a scheme (`http:`, `urn:`) before any '=': a bare NCName before '=' is a prefix.
            if let eq = n.firstIndex(of: "="), Self.isNCName(n[..<eq]) {
                let prefix = String(n[..<eq]), uri = String(n[n.index(after: eq)...])
                if prefix == "xml" || prefix == "xmlns" { throw CLIError("--namespace \(n): the prefix '\(prefix)' is reserved") }
                if uri.isEmpty { throw CLIError("--namespace \(n): empty namespace URI for prefix '\(prefix)'") }
                if let old = m.namespaces?[prefix], old != uri {
                    throw CLIError("--namespace \(n): prefix '\(prefix)' is already bound to '\(old)'")
                }
                m.namespaces = (m.namespaces ?? [:]).merging([prefix: uri]) { $1 }
            } else {
                if let old = m.namespace, old != n {
                    throw CLIError("--namespace \(n): the record element's namespace is already '\(old)' (give prefixes as PREFIX=URI)")
                }
                if n.isEmpty { throw CLIError("--namespace: empty namespace URI") }
                m.namespace = n
            }
        }
        if allowEmptyText { m.allowEmptyText = true }
        if let (key, expression, problem) = m.firstXPathProblem() {
            let flag = key == "text" ? "--text \(text.first ?? expression)" : key.hasPrefix("text_also[") ? "--text \(expression)"
                : key == "group" ? "--group \(expression)"
                : flagOf[key] ?? flagOf[String(key[..<(key.lastIndex(of: ".") ?? key.endIndex)])] ?? key
            throw CLIError("\(flag): \(problem.describe(expression))")
        }
        return m
    }
}
