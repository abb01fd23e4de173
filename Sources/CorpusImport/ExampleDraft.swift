import Store
import Text

/// The labels of one record for one task, by name (ids are assigned by the writer).
public enum LabelValue: Sendable, Hashable {
    case label(String)
    case set([String])
    case tags([String])
}

/// A record made ready for the store by a worker: text, token blob and labels by name.
public struct ExampleDraft: Sendable {
    /// Where the record came from (stored as `examples.locator`).
    public var locator: RecordLocator
    /// The original text (for pre-tokenized input, the words joined by single spaces).
    public var text: String
    /// A `TokenBlob`.
    public var tokens: [UInt8]
    /// Tokens in `tokens`.
    public var tokenCount: Int
    /// `StableHash` of the normalized text.
    public var normHash: Int64
    /// The group key, when the mapping has a group field.
    public var group: String?
    /// One entry per mapping task (in `Mapping.taskNames` order); nil = no annotation.
    public var labels: [LabelValue?]
    /// Per mapping task: span alignment counts (zero for other kinds).
    public var spanCounts: [SpanCounts]
}

/// What a worker made of one record: a draft, or the reason it is a bad record.
enum RecordOutcome: Sendable {
    case example(ExampleDraft)
    case reject(ImportError)
    /// The reader stopped here: fails the import whatever the error policy.
    case fatal(ImportError)
}

/// A chunk of records made ready for the store by a worker, packed so that it crosses to the
/// writer thread as a few arrays (no per-example heap objects to free on the writer) and the
/// writer binds its bytes to SQLite in place.
struct PackedChunk: Sendable {
    /// One example: byte ranges in `bytes` (group: an empty range with `hasGroup == false` when
    /// there is no group key) and its range in `annotations`.
    typealias Row = ImportSession.RawExample
    struct Annotation: Sendable {
        /// Index of the task in the plan.
        var task: Int
        /// Range in `labelRefs`.
        var refs: Range<Int>
    }
    enum Item: Sendable {
        case example(Int)      // index in rows
        case reject(ImportError)
        case fatal(ImportError)
    }
    /// Locators, texts, token blobs (layout 2) and group keys, concatenated.
    var bytes: [UInt8] = []
    var rows: [Row] = []
    var items: [Item] = []
    var annotations: [Annotation] = []
    /// Per annotation: indexes into `labelNames[task]` (chunk-local, first-seen order); the
    /// writer maps them to the store's label ids in place.
    var labelRefs: [Int32] = []
    /// Per task: the distinct label names of this chunk, in first-seen order.
    var labelNames: [[String]]
    /// Per task: span alignment counts over the chunk's examples.
    var spanCounts: [SpanCounts]
    var bytesRead: Int64 = 0

    init(tasks: Int) {
        labelNames = Array(repeating: [], count: tasks)
        spanCounts = Array(repeating: SpanCounts(), count: tasks)
    }
}

/// Per-thread state of the import workers: a text processor and a token blob builder.
final class DraftBuilder {
    let plan: ReaderPlan
    let processor: TextProcessor
    private var blob = TokenBlob.Builder(capacity: 256)
    private let fixedLabels: [Set<String>?]

    init(plan: ReaderPlan, pipeline: TextPipeline) throws {
        self.plan = plan
        processor = try pipeline.makeProcessor()
        fixedLabels = plan.tasks.map { $0.mapping.labels.map(Set.init) }
    }

    func outcome(_ record: RawRecord) -> RecordOutcome {
        do throws(ImportError) { return .example(try draft(record)) } catch { return .reject(error) }
    }

    /// Chunk-local label interning (per task), reused across chunks.
    private var interned: [[String: Int32]] = []

    /// Makes a packed chunk of records (in order) for the writer.
    func pack(_ chunk: RecordChunk) -> PackedChunk {
        let taskCount = plan.tasks.count
        var out = PackedChunk(tasks: taskCount)
        out.bytesRead = chunk.bytesRead
        out.items.reserveCapacity(chunk.items.count)
        out.rows.reserveCapacity(chunk.items.count)
        if interned.count != taskCount { interned = Array(repeating: [:], count: taskCount) }
        for k in 0..<taskCount { interned[k].removeAll(keepingCapacity: true) }
        for item in chunk.items {
            switch item {
            case .unreadable(let e, let fatal):
                out.items.append(fatal ? .fatal(e) : .reject(e))
            case .record(let r):
                do throws(ImportError) {
                    let d = try draft(r, blobInto: &out.bytes)
                    out.items.append(.example(out.rows.count))
                    let annStart = out.annotations.count
                    for (k, label) in d.labels.enumerated() {
                        guard let label else { continue }
                        let refStart = out.labelRefs.count
                        func intern(_ name: String) {
                            if let i = interned[k][name] { out.labelRefs.append(i); return }
                            let i = Int32(out.labelNames[k].count)
                            interned[k][name] = i
                            out.labelNames[k].append(name)
                            out.labelRefs.append(i)
                        }
                        switch label {
                        case .label(let l): intern(l)
                        case .set(let s): for l in s { intern(l) }
                        case .tags(let t): for l in t { intern(l) }
                        }
                        out.annotations.append(.init(task: k, refs: refStart..<out.labelRefs.count))
                        out.spanCounts[k] += d.spanCounts[k]
                    }
                    let locStart = out.bytes.count
                    Self.appendLocator(d.locator, to: &out.bytes)
                    let textStart = out.bytes.count
                    out.bytes.append(contentsOf: d.text.utf8)
                    let groupStart = out.bytes.count
                    if let g = d.group { out.bytes.append(contentsOf: g.utf8) }
                    out.rows.append(.init(locator: locStart..<textStart, text: textStart..<groupStart,
                                          tokens: d.blobRange, group: groupStart..<out.bytes.count, hasGroup: d.group != nil,
                                          normHash: d.normHash, annotations: annStart..<out.annotations.count))
                } catch {
                    out.items.append(.reject(error))
                }
            }
        }
        return out
    }

    /// Appends `locator.description` as UTF-8 (the common `file:line` without building a String).
    static func appendLocator(_ locator: RecordLocator, to bytes: inout [UInt8]) {
        guard locator.column == nil, locator.recordIndex == nil, let line = locator.line, line >= 0 else {
            bytes.append(contentsOf: locator.description.utf8)
            return
        }
        bytes.append(contentsOf: locator.file.utf8)
        bytes.append(UInt8(ascii: ":"))
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { d in
            var v = line, n = 0
            repeat { d[19 - n] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10; n += 1 } while v > 0
            bytes.append(contentsOf: d[(20 - n)...])
        }
    }

    /// A draft whose token blob (layout 2) was appended to `bytes`, at `blobRange`.
    struct PackedDraft {
        var locator: RecordLocator
        var text: String
        var blobRange: Range<Int>
        var normHash: Int64
        var group: String?
        var labels: [LabelValue?]
        var spanCounts: [SpanCounts]
    }

    func draft(_ record: RawRecord, blobInto bytes: inout [UInt8]) throws(ImportError) -> PackedDraft {
        let mark = bytes.count
        do throws(ImportError) {
            let d = try draft(record, finishBlob: false)
            blob.appendCompact(to: &bytes)
            return PackedDraft(locator: d.locator, text: d.text, blobRange: mark..<bytes.count, normHash: d.normHash,
                               group: d.group, labels: d.labels, spanCounts: d.spanCounts)
        } catch {
            bytes.removeSubrange(mark...)
            throw error
        }
    }

    private func fieldName(_ slot: Int) -> String { plan.fields[slot] }

    func draft(_ record: RawRecord) throws(ImportError) -> ExampleDraft { try draft(record, finishBlob: true) }

    private func draft(_ record: RawRecord, finishBlob: Bool) throws(ImportError) -> ExampleDraft {
        let loc = record.locator
        let format = plan.mapping.format
        let value = record.fields[plan.text]
        var words: [String]?
        var text = ""
        switch value {
        case _ where format.isCoNLL: words = value.strings
        case .string(let s): text = s
        case .list(let l) where l.count == 1: text = l[0]
        case .list(let l) where format == .jsonl && !l.isEmpty: words = l
        case .missing, .list([]): throw ImportError(.missingField, loc, "missing text field '\(fieldName(plan.text))'")
        case .list(let l): throw ImportError(.invalidMapping, loc, "text field '\(fieldName(plan.text))' matched \(l.count) values, expected one")
        }
        let tokenized: TokenizedText
        do {
            tokenized = try words.map { try processor.tokenize(pretokenized: $0) } ?? processor.tokenize(text)
        } catch let e as TextError {
            throw ImportError(.textPipeline, loc, e.message)
        } catch {
            throw ImportError(.textPipeline, loc, "\(error)")
        }
        if tokenized.tokens.isEmpty && plan.mapping.allowEmptyText != true {
            throw ImportError(.emptyText, loc, "empty text in field '\(fieldName(plan.text))' (no tokens; allow_empty_text: true keeps such records)")
        }
        blob.reset()
        var normalized = tokenized.normalized
        normalized.withUTF8 { n in
            for t in tokenized.tokens {
                blob.append(TokenSpan(scalarStart: t.scalarStart, scalarEnd: t.scalarEnd, utf8Start: t.utf8Start, utf8End: t.utf8End),
                            normalizedUTF8: UnsafeBufferPointer(rebasing: n[Int(t.normalizedStart)..<Int(t.normalizedEnd)]))
            }
        }
        var labels: [LabelValue?] = []
        var spanCounts: [SpanCounts] = []
        for (k, task) in plan.tasks.enumerated() {
            var counts = SpanCounts()
            labels.append(try label(task, k, record, tokenized, &counts))
            spanCounts.append(counts)
        }
        var group: String?
        if let g = plan.group {
            guard let s = record.fields[g].single else {
                throw ImportError(.missingField, loc, "missing group field '\(fieldName(g))'")
            }
            group = s
        }
        return ExampleDraft(locator: loc, text: tokenized.original, tokens: finishBlob ? blob.finish() : [], tokenCount: tokenized.tokens.count,
                            normHash: normalized.withUTF8 { StableHash.fnv1a64($0) }, group: group, labels: labels, spanCounts: spanCounts)
    }

    private func label(_ task: ReaderPlan.TaskSlots, _ k: Int, _ record: RawRecord, _ tokenized: TokenizedText,
                       _ counts: inout SpanCounts) throws(ImportError) -> LabelValue? {
        let loc = record.locator
        let optional = task.mapping.optional == true
        let first = record.fields[task.slots[0]]
        func missing() throws(ImportError) -> LabelValue? {
            if optional { return nil }
            throw ImportError(.missingField, loc, "missing field '\(fieldName(task.slots[0]))' (task '\(task.name)')")
        }
        func check(_ name: String) throws(ImportError) {
            if let fixed = fixedLabels[k], !fixed.contains(name) {
                throw ImportError(.invalidLabel, loc, "unknown label '\(name)' for task '\(task.name)' (fixed labels: \(task.mapping.labels!.joined(separator: ", ")))")
            }
        }
        switch task.mapping.kind {
        case .classification:
            if case .missing = first { return try missing() }
            guard let s = first.single else {
                throw ImportError(.invalidLabel, loc, "field '\(fieldName(task.slots[0]))' (task '\(task.name)') has \(first.strings.count) values, expected one")
            }
            if s.isEmpty { return try missing() }
            try check(s)
            return .label(s)
        case .multilabel:
            if case .missing = first { return try missing() }
            var names = first.strings
            if let sep = task.mapping.separator, !sep.isEmpty, names.count == 1 {
                names = names[0].split(separator: sep).map(String.init)
            }
            names = names.filter { !$0.isEmpty }
            for n in names { try check(n) }
            return .set(names)
        case .tagging:
            if case .missing = first { return try missing() }
            let tags = first.strings
            guard tags.count == tokenized.tokens.count else {
                throw ImportError(.invalidLabel, loc, "task '\(task.name)' has \(tags.count) tags for \(tokenized.tokens.count) tokens")
            }
            for t in tags { try check(t) }
            return .tags(tags)
        case .spans:
            let starts = first, ends = record.fields[task.slots[1]], names = record.fields[task.slots[2]]
            if case .missing = starts { return try missing() }
            let s = starts.strings, e = ends.strings, l = names.strings
            guard s.count == e.count, s.count == l.count else {
                throw ImportError(.invalidSpan, loc, "task '\(task.name)': \(s.count) starts, \(e.count) ends and \(l.count) labels")
            }
            var spans: [SpanAligner.Span] = []
            for i in s.indices {
                guard let a = Int(s[i]), let b = Int(e[i]) else {
                    throw ImportError(.invalidSpan, loc, "task '\(task.name)': span offsets '\(s[i])', '\(e[i])' are not integers")
                }
                try check(l[i])
                spans.append(.init(start: a, end: b, label: l[i]))
            }
            let m = task.mapping
            return .tags(try SpanAligner.tags(locator: loc, text: tokenized.original, tokens: tokenized.tokens, spans: spans,
                                              unit: m.unit ?? .scalars, scheme: m.scheme ?? .bio, unaligned: m.unaligned ?? .expand,
                                              counts: &counts))
        }
    }
}
