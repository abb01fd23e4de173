// Typed reads for the CLI (`stats`, `show`) and later stages (vocab, splits, batching).

/// What `mtl-prep stats` prints: everything the store holds, by source and by task.
public struct StoreStats: Sendable, Hashable, Codable {
    public struct Source: Sendable, Hashable, Codable {
        public var source: SourceRecord
        public var examples: Int64
        public var rejects: Int64
    }
    public struct Task: Sendable, Hashable, Codable {
        public var task: TaskRecord
        /// Examples annotated for this task.
        public var examples: Int64
        /// Labels by id, with their counts.
        public var labels: [LabelRecord]
    }
    public var schemaVersion: Int
    public var examples: Int64
    public var rejects: Int64
    public var sources: [Source]
    public var tasks: [Task]
}

/// What `mtl-prep show ID` prints: one example with provenance, tokens and labels.
public struct ExampleDetail: Sendable, Hashable {
    public struct Annotation: Sendable, Hashable {
        public var task: TaskRecord
        public var value: AnnotationValue
        /// The label names of `value.ids`, in the same order.
        public var names: [String]
        /// seq2seq: the target text as read and its tokens (offsets into that text).
        public var target: Target?
    }
    /// A seq2seq annotation's target.
    public struct Target: Sendable, Hashable {
        public var text: String
        public var tokens: DecodedTokens
    }
    public var example: ExampleRecord
    public var source: SourceRecord
    public var tokens: DecodedTokens
    public var annotations: [Annotation]
}

extension ExampleStore {
    static let sourceColumns = "id, path, format, content_sha256, mapping_json, pipeline_json, part, imported_at, records"

    static func sourceRecord(_ r: Statement) -> SourceRecord {
        SourceRecord(id: r.int64(0),
                     info: SourceInfo(path: r.string(1) ?? "", format: r.string(2) ?? "", contentSHA256: r.string(3) ?? "",
                                      mappingJSON: r.string(4) ?? "{}", pipelineJSON: r.string(5) ?? "{}", part: r.string(6)),
                     importedAt: r.string(7) ?? "", records: r.int64(8))
    }

    static func taskRecord(_ r: Statement, from c: Int32 = 0) throws(StoreError) -> TaskRecord {
        let kindName = r.string(c + 2) ?? ""
        guard let kind = TaskKind(rawValue: kindName) else {
            throw StoreError(kind: .schema, message: "unknown task kind '\(kindName)'")
        }
        return TaskRecord(id: r.int64(c), name: r.string(c + 1) ?? "", kind: kind,
                          tagScheme: r.string(c + 3).flatMap(TagScheme.init(rawValue:)))
    }

    /// All sources, by id.
    public func sources() throws -> [SourceRecord] {
        var out: [SourceRecord] = []
        try connection.cached("SELECT \(Self.sourceColumns) FROM sources ORDER BY id").forEachRow { out.append(Self.sourceRecord($0)) }
        return out
    }

    public func source(id: Int64) throws -> SourceRecord? {
        let st = try connection.cached("SELECT \(Self.sourceColumns) FROM sources WHERE id = ?")
        try st.bind([.integer(id)])
        defer { st.reset() }
        return try st.step() ? Self.sourceRecord(st) : nil
    }

    /// All tasks, by id.
    public func tasks() throws -> [TaskRecord] {
        var out: [TaskRecord] = []
        try connection.cached("SELECT id, name, kind, tag_scheme FROM tasks ORDER BY id").forEachRow { out.append(try Self.taskRecord($0)) }
        return out
    }

    public func task(named name: String) throws -> TaskRecord? {
        let st = try connection.cached("SELECT id, name, kind, tag_scheme FROM tasks WHERE name = ?")
        try st.bind([.text(name)])
        defer { st.reset() }
        return try st.step() ? try Self.taskRecord(st) : nil
    }

    /// A task's labels, by id.
    public func labels(taskID: Int64) throws -> [LabelRecord] {
        var out: [LabelRecord] = []
        let st = try connection.cached("SELECT id, name, count FROM labels WHERE task_id = ? ORDER BY id")
        try st.bind([.integer(taskID)])
        try st.forEachRow { out.append(LabelRecord(taskID: taskID, id: Int32($0.int64(0)), name: $0.string(1) ?? "", count: $0.int64(2))) }
        return out
    }

    /// Rejected records of a source, in order: (locator, reason).
    public func rejects(sourceID: Int64) throws -> [(locator: String, reason: String)] {
        var out: [(String, String)] = []
        let st = try connection.cached("SELECT locator, reason FROM rejects WHERE source_id = ? ORDER BY id")
        try st.bind([.integer(sourceID)])
        try st.forEachRow { out.append(($0.string(0) ?? "", $0.string(1) ?? "")) }
        return out
    }

    private func count(_ sql: String) throws -> Int64 {
        if case .integer(let n)? = try connection.scalar(sql) { return n }
        return 0
    }

    /// Counts for `mtl-prep stats`. Reads one consistent snapshot.
    public func stats() throws -> StoreStats {
        // One read transaction = one snapshot (inside an open import, that import's view).
        try connection.isAutocommit ? connection.transaction(.deferred, statsBody) : statsBody()
    }

    private func statsBody() throws -> StoreStats {
        do {
            var perSource: [Int64: (Int64, Int64)] = [:]
            try connection.cached("SELECT id, examples FROM sources").forEachRow { perSource[$0.int64(0), default: (0, 0)].0 = $0.int64(1) }
            try connection.cached("SELECT source_id, COUNT(*) FROM rejects GROUP BY source_id").forEachRow { perSource[$0.int64(0), default: (0, 0)].1 = $0.int64(1) }
            var perTask: [Int64: Int64] = [:]
            try connection.cached("SELECT task_id, COUNT(*) FROM annotations GROUP BY task_id").forEachRow { perTask[$0.int64(0)] = $0.int64(1) }
            return StoreStats(
                schemaVersion: try connection.userVersion,
                examples: try count("SELECT COUNT(*) FROM examples"),
                rejects: try count("SELECT COUNT(*) FROM rejects"),
                sources: try sources().map { s in
                    StoreStats.Source(source: s, examples: perSource[s.id]?.0 ?? 0, rejects: perSource[s.id]?.1 ?? 0)
                },
                tasks: try tasks().map { t in
                    StoreStats.Task(task: t, examples: perTask[t.id] ?? 0, labels: try labels(taskID: t.id))
                })
        }
    }

    static let exampleColumns = "id, source_id, locator, text, tokens, norm_hash, group_key, part"

    static func exampleRecord(_ r: Statement) -> ExampleRecord {
        ExampleRecord(id: r.int64(0), sourceID: r.int64(1), locator: r.string(2) ?? "", text: r.string(3) ?? "",
                      tokens: r.blob(4) ?? [], normHash: r.int64(5), groupKey: r.string(6), part: r.string(7))
    }

    /// One example with its source, decoded tokens and labels (`mtl-prep show ID`).
    public func example(id: Int64) throws -> ExampleDetail? {
        let st = try connection.cached("SELECT \(Self.exampleColumns) FROM examples WHERE id = ?")
        try st.bind([.integer(id)])
        guard try st.step() else { st.reset(); return nil }
        let example = Self.exampleRecord(st)
        st.reset()
        guard let source = try source(id: example.sourceID) else {
            throw StoreError(kind: .schema, message: "example \(id) refers to missing source \(example.sourceID)")
        }
        var annotations: [ExampleDetail.Annotation] = []
        let an = try connection.cached("""
            SELECT t.id, t.name, t.kind, t.tag_scheme, a.value FROM annotations a JOIN tasks t ON t.id = a.task_id
            WHERE a.example_id = ? ORDER BY t.id
            """)
        try an.bind([.integer(id)])
        var raw: [(TaskRecord, AnnotationValue)] = []
        try an.forEachRow { r in
            let task = try Self.taskRecord(r)
            raw.append((task, try AnnotationValue.decode(r.blob(4) ?? [], kind: task.kind)))
        }
        for (task, value) in raw {
            let names = try labels(taskID: task.id).map(\.name)
            var a = ExampleDetail.Annotation(task: task, value: value,
                                             names: value.ids.map { Int($0) < names.count && $0 >= 0 ? names[Int($0)] : "#\($0)" })
            if task.kind == .seq2seq {
                let tg = try connection.cached("SELECT text, tokens FROM targets WHERE example_id = ? AND task_id = ?")
                try tg.bind([.integer(id), .integer(task.id)])
                if try tg.step() {
                    let text = tg.string(0) ?? ""
                    a.target = ExampleDetail.Target(text: text, tokens: try TokenBlob.decode(tg.blob(1) ?? [], text: text))
                }
                tg.reset()
            }
            annotations.append(a)
        }
        return ExampleDetail(example: example, source: source, tokens: try TokenBlob.decode(example.tokens, text: example.text), annotations: annotations)
    }

    /// Calls `body` for every example (of one source, or all), in id order.
    public func forEachExample(sourceID: Int64? = nil, _ body: (ExampleRecord) throws -> Void) throws {
        let st = try connection.prepare(sourceID == nil
            ? "SELECT \(Self.exampleColumns) FROM examples ORDER BY id"
            : """
              SELECT \(Self.exampleColumns) FROM examples
              WHERE id BETWEEN (SELECT first_example_id FROM sources WHERE id = ?1) AND (SELECT last_example_id FROM sources WHERE id = ?1)
                AND source_id = ?1 ORDER BY id
              """)
        if let sourceID { try st.bind(sourceID, at: 1) }
        try st.forEachRow { try body(Self.exampleRecord($0)) }
    }

    /// One span an import did not store as written (`span_alignments`), with its example's locator.
    public struct SpanAlignmentRecord: Sendable, Hashable, Codable {
        public var sourceID: Int64, exampleID: Int64, locator: String, task: String, kind: String
        public var start: Int, end: Int, label: String
        public var storedStart: Int?, storedEnd: Int?
        /// `expanded`: the text the span covers now (the tokens it touches).
        public var storedText: String?
    }

    /// The spans imports widened or left out, by source and example (all sources, or one).
    public func spanAlignments(sourceID: Int64? = nil) throws -> [SpanAlignmentRecord] {
        var out: [SpanAlignmentRecord] = []
        let st = try connection.prepare("""
            SELECT a.source_id, a.example_id, e.locator, t.name, a.kind, a.start, a."end", a.label, a.stored_start, a.stored_end, e.text
            FROM span_alignments a JOIN examples e ON e.id = a.example_id JOIN tasks t ON t.id = a.task_id
            \(sourceID == nil ? "" : "WHERE a.source_id = ?1") ORDER BY a.source_id, a.example_id, a.rowid
            """)
        if let sourceID { try st.bind(sourceID, at: 1) }
        try st.forEachRow { r in
            var rec = SpanAlignmentRecord(sourceID: r.int64(0), exampleID: r.int64(1), locator: r.string(2) ?? "", task: r.string(3) ?? "",
                                          kind: r.string(4) ?? "", start: Int(r.int64(5)), end: Int(r.int64(6)), label: r.string(7) ?? "",
                                          storedStart: r.isNull(8) ? nil : Int(r.int64(8)), storedEnd: r.isNull(9) ? nil : Int(r.int64(9)))
            if let a = rec.storedStart, let b = rec.storedEnd {
                let scalars = Array((r.string(10) ?? "").unicodeScalars)
                if a >= 0, b <= scalars.count, a <= b {
                    var v = String.UnicodeScalarView(); v.append(contentsOf: scalars[a..<b]); rec.storedText = String(v)
                }
            }
            out.append(rec)
        }
        return out
    }

    /// Calls `body` with (example id, value) for every annotation of a task, in example order.
    public func forEachAnnotation(taskID: Int64, _ body: (Int64, AnnotationValue) throws -> Void) throws {
        guard let task = try tasks().first(where: { $0.id == taskID }) else {
            throw StoreError(kind: .misuse, message: "no task with id \(taskID)")
        }
        let st = try connection.prepare("SELECT example_id, value FROM annotations WHERE task_id = ? ORDER BY example_id")
        try st.bind(taskID, at: 1)
        try st.forEachRow { try body($0.int64(0), try AnnotationValue.decode($0.blob(1) ?? [], kind: task.kind)) }
    }
}
