/// One import in progress: stages a source's examples, annotations and rejects and makes
/// them visible all at once at `commit`.
///
/// **Atomicity.** The session is one SQLite write transaction (`BEGIN IMMEDIATE` …
/// `COMMIT`). In WAL mode that is the staging area for free: rows go to the WAL (SQLite
/// spills its bounded page cache there, so memory does not grow with the import), readers
/// keep seeing the previous snapshot, and a failure, `rollback()` or `kill -9` leaves the
/// store exactly as before (uncommitted WAL frames are ignored on the next open). A
/// `status` column or staging tables would make every reader filter or copy every row
/// twice; one transaction also serializes imports (one writer) and is the fastest bulk
/// path (no per-chunk commit). The cost: the WAL grows to the size of the import until
/// the commit's checkpoint, and a second import waits for the first.
///
/// Label ids are dense per task (0, 1, … in first-seen order); pre-register labels with
/// `labelID` to fix their order (e.g. `O` first). Counts are added at `commit`.
///
/// Not thread-safe: use from one thread at a time (it may be handed to a writer thread).
public final class ImportSession: @unchecked Sendable {
    /// The new source's row (id assigned; `records` is set at commit).
    public private(set) var source: SourceRecord
    let store: ExampleStore
    private(set) var replaced: [Int64]
    let mode: ExampleStore.ImportMode
    private var db: Connection { store.connection }
    private var open = true

    private struct TaskState {
        var record: TaskRecord
        var ids: [String: Int32]
        var names: [String]
        var added: [Int64]     // per label id, counts added by this session
    }
    // Few tasks: a linear search beats hashing on the hot path.
    private var tasks: [TaskState] = []
    private func slot(_ taskID: Int64) -> Int? {
        for i in tasks.indices where tasks[i].record.id == taskID { return i }
        return nil
    }
    private var examples: Int64 = 0
    private var rejects: Int64 = 0
    /// The id of the next example: `max(examples.id) + 1` when the session began (under the
    /// write lock, after `--replace` deletions). SQLite allocates the same ids (max(rowid) + 1
    /// per row; the table has no AUTOINCREMENT) when the INSERT leaves `id` out, which spares
    /// each row a b-tree seek to check an explicit id; `checkLastID` verifies they agree.
    private var nextExampleID: Int64
    /// The id of the session's first example (the source's `first_example_id`).
    private let firstExampleID: Int64

    /// Rows per multi-row INSERT: a million single-row statements spend most of their time in
    /// per-statement work (reset, VDBE start, bookkeeping), not in the b-tree.
    static let rowsPerStatement = 256
    /// Rows of the next statement for `n` rows to go: a full one, else the largest power of two
    /// ≤ n, so a session prepares at most 9 statements per table however runs and rejects fall.
    static func statementRows(_ n: Int) -> Int {
        n >= rowsPerStatement ? rowsPerStatement : 1 << (Int.bitWidth - 1 - n.leadingZeroBitCount)
    }
    /// Multi-row statements by row count (the full one and power-of-two tails).
    private var exampleInserts: [Int: Statement] = [:]
    private var annotationInserts: [Int: Statement] = [:]
    private var rejectInserts: [Int: Statement] = [:]
    /// Rejects not yet written (few; copied, flushed at `rowsPerStatement` and before commit).
    private var pendingRejects: [(locator: String, reason: String)] = []

    init(store: ExampleStore, info: SourceInfo, mode: ExampleStore.ImportMode, replaced: [Int64]) throws {
        self.store = store
        self.mode = mode
        self.replaced = replaced
        let db = store.connection
        try db.execute("PRAGMA cache_size = -\(store.importCacheKiB)")
        try db.run("""
            INSERT INTO sources(path, format, content_sha256, mapping_json, pipeline_json, part, imported_at, records)
            VALUES (?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'), 0)
            """, [.text(info.path), .text(info.format), .text(info.contentSHA256), .text(info.mappingJSON),
                  .text(info.pipelineJSON), info.part.map { .text($0) } ?? .null])
        let id = db.lastInsertRowID
        source = try store.source(id: id)!
        if case .integer(let maxID)? = try db.scalar("SELECT max(id) FROM examples") {
            nextExampleID = maxID + 1
        } else {
            nextExampleID = 1
        }
        firstExampleID = nextExampleID
    }

    /// `INSERT INTO examples … VALUES (…), (…), …` for `rows` rows, ids allocated by SQLite (see
    /// `nextExampleID`). Parameters ?1 (source id) and ?2 (part) are shared by every row and bound
    /// once; row r has 5 of its own from ?3 + 5r: locator, text, tokens, norm_hash, group_key.
    private func exampleInsert(rows: Int) throws -> Statement {
        if let st = exampleInserts[rows] { return st }
        var sql = "INSERT INTO examples(source_id, locator, text, tokens, norm_hash, group_key, part) VALUES "
        for r in 0..<rows {
            let p = 3 + 5 * r
            sql += "\(r == 0 ? "" : ",")(?1, ?\(p), ?\(p + 1), ?\(p + 2), ?\(p + 3), ?\(p + 4), ?2)"
        }
        let st = try db.prepare(sql)
        try st.bind(source.id, at: 1)
        try st.bind(source.info.part, at: 2)
        exampleInserts[rows] = st
        return st
    }

    private func annotationInsert(rows: Int) throws -> Statement {
        if let st = annotationInserts[rows] { return st }
        let st = try db.prepare("INSERT INTO annotations(example_id, task_id, value) VALUES "
            + Array(repeating: "(?, ?, ?)", count: rows).joined(separator: ","))
        annotationInserts[rows] = st
        return st
    }

    private func rejectInsert(rows: Int) throws -> Statement {
        if let st = rejectInserts[rows] { return st }
        var sql = "INSERT INTO rejects(source_id, locator, reason) VALUES "
        for r in 0..<rows { sql += "\(r == 0 ? "" : ",")(?1, ?\(2 + 2 * r), ?\(3 + 2 * r))" }
        let st = try db.prepare(sql)
        try st.bind(source.id, at: 1)
        rejectInserts[rows] = st
        return st
    }

    deinit {
        if open { rollback() }
    }

    /// The annotations were written for the ids `nextExampleID` predicted: the last row SQLite
    /// inserted must have the last of them.
    private func checkLastID(_ expected: Int64) throws(StoreError) {
        let actual = db.lastInsertRowID
        guard actual == expected else {
            throw StoreError(kind: .misuse, message: "SQLite gave the last example id \(actual), not the expected \(expected)")
        }
    }

    private func checkOpen() throws(StoreError) {
        if !open { throw StoreError(kind: .misuse, message: "import session is already committed or rolled back") }
    }

    // MARK: - Tasks and labels

    /// Gets or creates a task. Fails with `.misuse` when the store already has a task of
    /// that name with another kind or tag scheme.
    public func task(_ name: String, kind: TaskKind, tagScheme: TagScheme? = nil) throws -> TaskRecord {
        try checkOpen()
        if let existing = try store.task(named: name) {
            guard existing.kind == kind, existing.tagScheme == tagScheme else {
                throw StoreError(kind: .misuse, message: "task '\(name)' is \(existing.kind.rawValue)\(existing.tagScheme.map { " (\($0.rawValue))" } ?? "") in the store, not \(kind.rawValue)\(tagScheme.map { " (\($0.rawValue))" } ?? "")")
            }
            try load(existing)
            return existing
        }
        try db.run("INSERT INTO tasks(name, kind, tag_scheme) VALUES (?, ?, ?)",
                   [.text(name), .text(kind.rawValue), tagScheme.map { .text($0.rawValue) } ?? .null])
        let record = TaskRecord(id: db.lastInsertRowID, name: name, kind: kind, tagScheme: tagScheme)
        tasks.append(TaskState(record: record, ids: [:], names: [], added: []))
        return record
    }

    private func load(_ task: TaskRecord) throws {
        guard slot(task.id) == nil else { return }
        var state = TaskState(record: task, ids: [:], names: [], added: [])
        for label in try store.labels(taskID: task.id) {
            precondition(Int(label.id) == state.names.count, "label ids are dense")
            state.ids[label.name] = label.id
            state.names.append(label.name)
            state.added.append(0)
        }
        tasks.append(state)
    }

    /// The id of `name` in the task's label set, adding it when new.
    public func labelID(_ name: String, task taskID: Int64) throws -> Int32 {
        guard let k = slot(taskID) else {
            throw StoreError(kind: .misuse, message: "task id \(taskID) was not registered with task(_:kind:) in this session")
        }
        if let id = tasks[k].ids[name] { return id }
        let id = Int32(tasks[k].names.count)
        try db.run("INSERT INTO labels(task_id, id, name, count) VALUES (?, ?, ?, 0)",
                   [.integer(taskID), .integer(Int64(id)), .text(name)])
        tasks[k].ids[name] = id
        tasks[k].names.append(name)
        tasks[k].added.append(0)
        return id
    }

    /// The label names of a registered task, by id.
    public func labelNames(task taskID: Int64) -> [String] { slot(taskID).map { tasks[$0].names } ?? [] }

    // MARK: - Rows

    /// Stores one example and its annotations; returns its id. Ids are consecutive in call order.
    @discardableResult
    public func add(_ example: NewExample) throws -> Int64 {
        try checkOpen()
        // Validate before writing, so a bad annotation never leaves a half-written example.
        let tokenCount = TokenBlob.tokenCount(example.tokens)
        var slots: [Int] = []
        slots.reserveCapacity(example.annotations.count)
        for (taskID, value) in example.annotations {
            guard let k = slot(taskID) else {
                throw StoreError(kind: .misuse, message: "\(example.locator): task id \(taskID) was not registered in this session")
            }
            slots.append(k)
            let kind = tasks[k].record.kind, labelCount = tasks[k].names.count
            switch (kind, value) {
            case (.classification, .label), (.multilabel, .labels), (.tagging, .tags), (.spans, .tags): break
            case (.regression, .number): break
            case (.seq2seq, .sequence):
                throw StoreError(kind: .misuse, message: "\(example.locator): seq2seq annotations carry their target text: use addExamples")
            default: throw StoreError(kind: .misuse, message: "\(example.locator): \(value) does not fit \(kind.rawValue) task '\(tasks[k].record.name)'")
            }
            if case .tags(let tags) = value, tags.count != tokenCount {
                throw StoreError(kind: .misuse, message: "\(example.locator): task '\(tasks[k].record.name)' has \(tags.count) tags for \(tokenCount ?? -1) tokens")
            }
            for id in value.ids where id < 0 || Int(id) >= labelCount {
                throw StoreError(kind: .misuse, message: "\(example.locator): label id \(id) unknown in task '\(tasks[k].record.name)'")
            }
        }
        let id = nextExampleID
        let st = try exampleInsert(rows: 1)
        try st.bind(example.locator, at: 3)
        try st.bind(example.text, at: 4)
        try st.bind(blob: example.tokens, at: 5)
        try st.bind(example.normHash, at: 6)
        try st.bind(example.groupKey, at: 7)
        if let part = example.part, part != source.info.part {
            // A part of its own: a one-off statement (the shared ?2 is the source's part).
            let one = try db.prepare("""
                INSERT INTO examples(id, source_id, locator, text, tokens, norm_hash, group_key, part) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            try one.bind([.integer(id), .integer(source.id), .text(example.locator), .text(example.text), .blob(example.tokens),
                          .integer(example.normHash), example.groupKey.map { .text($0) } ?? .null, .text(part)])
            try one.run()
        } else {
            try st.run()
            try checkLastID(id)
        }
        nextExampleID += 1
        let an = try annotationInsert(rows: 1)
        for (j, (taskID, value)) in example.annotations.enumerated() {
            try an.bind(id, at: 1)
            try an.bind(taskID, at: 2)
            try value.withEncodedBytes { try an.bind(rawBlob: $0, at: 3) }
            try an.run()
            let k = slots[j]
            tasks[k].added.withUnsafeMutableBufferPointer { added in
                switch value {
                case .label(let l): added[Int(l)] += 1
                case .labels(let set): for l in Set(set) { added[Int(l)] += 1 }
                case .tags(let ids), .sequence(let ids): for l in ids { added[Int(l)] += 1 }
                case .number: break
                }
            }
        }
        examples += 1
        return id
    }

    /// One annotation of `addExamples`: a task and where its label ids are in the `ids` buffer.
    public struct RawAnnotation: Sendable {
        public var taskID: Int64
        /// Index of the first id in `ids`.
        public var start: Int
        public var count: Int
        /// seq2seq: the target text's and its `TokenBlob`'s byte ranges in the batch's `bytes`
        /// (one token per id); empty for the other kinds.
        public var targetText: Range<Int> = 0..<0
        public var targetTokens: Range<Int> = 0..<0
        public init(taskID: Int64, start: Int, count: Int) { self.taskID = taskID; self.start = start; self.count = count }
        public init(taskID: Int64, start: Int, count: Int, targetText: Range<Int>, targetTokens: Range<Int>) {
            self.taskID = taskID; self.start = start; self.count = count
            self.targetText = targetText; self.targetTokens = targetTokens
        }
    }

    /// One example of `addExamples`: byte ranges in the batch's `bytes`, and its annotations.
    public struct RawExample: Sendable {
        public var locator: Range<Int>
        public var text: Range<Int>
        /// A `TokenBlob` (either layout).
        public var tokens: Range<Int>
        /// The group key's bytes; ignored unless `hasGroup` (no group key: NULL).
        public var group: Range<Int>
        public var hasGroup: Bool
        public var normHash: Int64
        /// Range in the batch's `annotations`.
        public var annotations: Range<Int>
        public init(locator: Range<Int>, text: Range<Int>, tokens: Range<Int>, group: Range<Int>, hasGroup: Bool,
                    normHash: Int64, annotations: Range<Int>) {
            self.locator = locator; self.text = text; self.tokens = tokens; self.group = group
            self.hasGroup = hasGroup; self.normHash = normHash; self.annotations = annotations
        }
    }

    /// The bulk path of `add`: examples given as bytes that SQLite reads in place (nothing is
    /// copied; the buffers need only stay valid during the call), written with multi-row
    /// INSERTs (`rowsPerStatement` rows each). Each annotation's ids are its `AnnotationValue`
    /// blob in order (classification: one id; multilabel: ascending, no duplicates;
    /// tagging/spans: one per token). The examples get the source's part. Every row is
    /// validated before any is written, so a misuse error leaves nothing of the batch.
    /// Returns the id of the first example; the others follow consecutively.
    @discardableResult
    public func addExamples(_ rows: UnsafeBufferPointer<RawExample>, bytes: UnsafeRawBufferPointer,
                            annotations: UnsafeBufferPointer<RawAnnotation>, ids: UnsafeBufferPointer<Int32>) throws -> Int64 {
        try checkOpen()
        let first = nextExampleID
        guard !rows.isEmpty else { return first }
        // Validate, and resolve each annotation's task slot once.
        var slots = [Int](repeating: 0, count: annotations.count)
        var annotationRows = 0, targetRows = 0
        for row in rows {
            func where_() -> String { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[row.locator]), as: UTF8.self) }
            guard row.annotations.lowerBound >= 0, row.annotations.upperBound <= annotations.count,
                  row.locator.upperBound <= bytes.count, row.text.upperBound <= bytes.count,
                  row.tokens.upperBound <= bytes.count, !row.hasGroup || row.group.upperBound <= bytes.count,
                  row.locator.lowerBound >= 0, row.text.lowerBound >= 0, row.tokens.lowerBound >= 0, row.group.lowerBound >= 0 else {
                throw StoreError(kind: .misuse, message: "example byte or annotation ranges out of range")
            }
            let tokenCount = TokenBlob.tokenCount(UnsafeRawBufferPointer(rebasing: bytes[row.tokens]))
            annotationRows += row.annotations.count
            for j in row.annotations {
                let a = annotations[j]
                guard let k = slot(a.taskID) else {
                    throw StoreError(kind: .misuse, message: "\(where_()): task id \(a.taskID) was not registered in this session")
                }
                slots[j] = k
                guard a.start >= 0, a.count >= 0, a.start + a.count <= ids.count else {
                    throw StoreError(kind: .misuse, message: "\(where_()): annotation ids out of range")
                }
                let value = UnsafeBufferPointer(rebasing: ids[a.start..<(a.start + a.count)])
                let labelCount = tasks[k].names.count
                switch tasks[k].record.kind {
                case .classification:
                    guard a.count == 1 else {
                        throw StoreError(kind: .misuse, message: "\(where_()): \(a.count) labels for classification task '\(tasks[k].record.name)'")
                    }
                case .multilabel:
                    for i in value.indices.dropFirst() where value[i - 1] >= value[i] {
                        throw StoreError(kind: .misuse, message: "\(where_()): multilabel ids of task '\(tasks[k].record.name)' are not ascending and distinct")
                    }
                case .tagging, .spans:
                    guard a.count == tokenCount else {
                        throw StoreError(kind: .misuse, message: "\(where_()): task '\(tasks[k].record.name)' has \(a.count) tags for \(tokenCount ?? -1) tokens")
                    }
                case .regression:
                    guard a.count == 1, Float(bitPattern: UInt32(bitPattern: value[0])).isFinite else {
                        throw StoreError(kind: .misuse, message: "\(where_()): regression task '\(tasks[k].record.name)' needs one finite value")
                    }
                    continue
                case .seq2seq:
                    guard a.targetText.lowerBound >= 0, a.targetText.upperBound <= bytes.count,
                          a.targetTokens.lowerBound >= 0, a.targetTokens.upperBound <= bytes.count,
                          let n = TokenBlob.tokenCount(UnsafeRawBufferPointer(rebasing: bytes[a.targetTokens])) else {
                        throw StoreError(kind: .misuse, message: "\(where_()): seq2seq task '\(tasks[k].record.name)' without a valid target")
                    }
                    guard a.count == n, n > 0 else {
                        throw StoreError(kind: .misuse, message: "\(where_()): task '\(tasks[k].record.name)' has \(a.count) ids for \(n) target tokens")
                    }
                    targetRows += 1
                }
                for id in value where id < 0 || Int(id) >= labelCount {
                    throw StoreError(kind: .misuse, message: "\(where_()): label id \(id) unknown in task '\(tasks[k].record.name)'")
                }
            }
        }

        // Examples, `rowsPerStatement` at a time.
        var start = 0
        while start < rows.count {
            let n = Self.statementRows(rows.count - start)
            let st = try exampleInsert(rows: n)
            for r in 0..<n {
                let row = rows[start + r]
                let p = Int32(3 + 5 * r)
                try st.bindNoCopy(text: UnsafeRawBufferPointer(rebasing: bytes[row.locator]), at: p)
                try st.bindNoCopy(text: UnsafeRawBufferPointer(rebasing: bytes[row.text]), at: p + 1)
                try st.bindNoCopy(blob: UnsafeRawBufferPointer(rebasing: bytes[row.tokens]), at: p + 2)
                try st.bind(row.normHash, at: p + 3)
                if row.hasGroup {
                    try st.bindNoCopy(text: UnsafeRawBufferPointer(rebasing: bytes[row.group]), at: p + 4)
                } else {
                    try st.bindNull(at: p + 4)
                }
            }
            try st.runOnce()
            start += n
            try checkLastID(first + Int64(start) - 1)
        }

        // Annotations, in example order, `rowsPerStatement` at a time.
        guard annotationRows > 0 else {
            nextExampleID += Int64(rows.count)
            examples += Int64(rows.count)
            return first
        }
        var stRows = Self.statementRows(annotationRows)
        var st = try annotationInsert(rows: stRows)
        var inStatement = 0, written = 0
        for (i, row) in rows.enumerated() {
            let exampleID = first + Int64(i)
            for j in row.annotations {
                let a = annotations[j]
                let value = UnsafeBufferPointer(rebasing: ids[a.start..<(a.start + a.count)])
                let p = Int32(3 * inStatement)
                try st.bind(exampleID, at: p + 1)
                try st.bind(a.taskID, at: p + 2)
                #if _endian(little)
                try st.bindNoCopy(blob: UnsafeRawBufferPointer(value), at: p + 3)
                #else
                try st.bind(blob: value.flatMap { withUnsafeBytes(of: $0.littleEndian) { Array($0) } }, at: p + 3)
                #endif
                if tasks[slots[j]].record.kind != .regression {
                    tasks[slots[j]].added.withUnsafeMutableBufferPointer { added in
                        for l in value { added[Int(l)] += 1 }
                    }
                }
                inStatement += 1
                if inStatement == stRows {
                    try st.runOnce()
                    written += inStatement
                    inStatement = 0
                    if written < annotationRows {
                        stRows = Self.statementRows(annotationRows - written)
                        st = try annotationInsert(rows: stRows)
                    }
                }
            }
        }
        if targetRows > 0 {
            let tt = try db.cached("INSERT INTO targets(example_id, task_id, text, tokens) VALUES (?, ?, ?, ?)")
            for (i, row) in rows.enumerated() {
                for j in row.annotations where tasks[slots[j]].record.kind == .seq2seq {
                    let a = annotations[j]
                    try tt.bind(first + Int64(i), at: 1)
                    try tt.bind(a.taskID, at: 2)
                    try tt.bindNoCopy(text: UnsafeRawBufferPointer(rebasing: bytes[a.targetText]), at: 3)
                    try tt.bindNoCopy(blob: UnsafeRawBufferPointer(rebasing: bytes[a.targetTokens]), at: 4)
                    try tt.run()
                }
            }
        }
        nextExampleID += Int64(rows.count)
        examples += Int64(rows.count)
        return first
    }

    /// Records a span of `exampleID` that alignment widened or left out (`span_alignments`).
    public func addSpanAlignment(exampleID: Int64, taskID: Int64, kind: String, start: Int, end: Int, label: String,
                                 stored: Range<Int>?) throws {
        try checkOpen()
        let st = try db.cached("INSERT INTO span_alignments(source_id, example_id, task_id, kind, start, \"end\", label, stored_start, stored_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        try st.bind([.integer(source.id), .integer(exampleID), .integer(taskID), .text(kind), .integer(Int64(start)), .integer(Int64(end)),
                     .text(label), stored.map { .integer(Int64($0.lowerBound)) } ?? .null, stored.map { .integer(Int64($0.upperBound)) } ?? .null])
        try st.run()
    }

    /// One example of the bulk path, written at once (see `addExamples`). Returns its id.
    @discardableResult
    public func addExample(locator: UnsafeRawBufferPointer, text: UnsafeRawBufferPointer, tokens: UnsafeRawBufferPointer,
                           normHash: Int64, groupKey: UnsafeRawBufferPointer?,
                           annotations: UnsafeBufferPointer<RawAnnotation>, ids: UnsafeBufferPointer<Int32>) throws -> Int64 {
        // Copy the pieces into one buffer: this path is for single examples, not bulk imports.
        var bytes: [UInt8] = []
        bytes.append(contentsOf: locator)
        let t = bytes.count; bytes.append(contentsOf: text)
        let k = bytes.count; bytes.append(contentsOf: tokens)
        let g = bytes.count; if let groupKey { bytes.append(contentsOf: groupKey) }
        let row = RawExample(locator: 0..<t, text: t..<k, tokens: k..<g, group: g..<bytes.count, hasGroup: groupKey != nil,
                             normHash: normHash, annotations: 0..<annotations.count)
        return try bytes.withUnsafeBytes { raw in
            try withUnsafePointer(to: row) { r in
                try addExamples(UnsafeBufferPointer(start: r, count: 1), bytes: raw, annotations: annotations, ids: ids)
            }
        }
    }

    /// Records a skipped record (`--on-error skip`). Written in batches (before `commit` at the latest).
    public func addReject(locator: String, reason: String) throws {
        try checkOpen()
        pendingRejects.append((locator, reason))
        rejects += 1
        if pendingRejects.count == Self.rowsPerStatement { try flushRejects() }
    }

    private func flushRejects() throws {
        guard !pendingRejects.isEmpty else { return }
        var start = 0
        while start < pendingRejects.count {
            let n = Self.statementRows(pendingRejects.count - start)
            let st = try rejectInsert(rows: n)
            for r in 0..<n {
                try st.bind(pendingRejects[start + r].locator, at: Int32(2 + 2 * r))
                try st.bind(pendingRejects[start + r].reason, at: Int32(3 + 2 * r))
            }
            try st.run()
            start += n
        }
        pendingRejects.removeAll(keepingCapacity: true)
    }

    /// Examples and rejects added so far.
    public var counts: (examples: Int64, rejects: Int64) { (examples, rejects) }

    // MARK: - Content hash known only at the end

    /// Sets the source's content hash when it was computed while reading (the readers'
    /// `contentSHA256`), i.e. `beginImport` got a placeholder. Then applies the dedupe rule
    /// that `beginImport` could not: with `.skipExisting`, returns the existing source with
    /// the same content, mapping and pipeline (the caller should `rollback()` and report
    /// "already imported"); with `.replace`, deletes such sources inside this transaction.
    public func setContentSHA256(_ sha256: String) throws -> SourceRecord? {
        try checkOpen()
        try flushRejects()
        try db.run("UPDATE sources SET content_sha256 = ? WHERE id = ?", [.text(sha256), .integer(source.id)])
        source.info.contentSHA256 = sha256
        let st = try db.cached("""
            SELECT id FROM sources WHERE content_sha256 = ? AND mapping_json = ? AND pipeline_json = ? AND id <> ? ORDER BY id
            """)
        try st.bind([.text(sha256), .text(source.info.mappingJSON), .text(source.info.pipelineJSON), .integer(source.id)])
        var same: [Int64] = []
        try st.forEachRow { same.append($0.int64(0)) }
        guard !same.isEmpty else { return nil }
        if mode == .skipExisting { return try store.source(id: same[0]) }
        try store.deleteSources(same)
        replaced = Array(Set(replaced + same)).sorted()
        return nil
    }

    // MARK: - End

    /// Adds the label counts, records how many records were read, and commits: the whole
    /// import becomes visible at once.
    /// - Parameter records: records read from the file (default: examples + rejects).
    public func commit(records: Int64? = nil) throws -> ImportResult {
        try checkOpen()
        do {
            try flushRejects()
            let up = try db.prepare("UPDATE labels SET count = count + ? WHERE task_id = ? AND id = ?")
            var added: [String: [String: Int64]] = [:]
            for state in tasks {
                let taskID = state.record.id
                var perLabel: [String: Int64] = [:]
                for (i, n) in state.added.enumerated() where n > 0 {
                    try up.bind([.integer(n), .integer(taskID), .integer(Int64(i))])
                    try up.run()
                    perLabel[state.names[i]] = n
                }
                added[state.record.name] = perLabel
            }
            let total = records ?? (examples + rejects)
            let range: (SQLValue, SQLValue) = examples > 0 ? (.integer(firstExampleID), .integer(nextExampleID - 1)) : (.null, .null)
            try db.run("UPDATE sources SET records = ?, examples = ?, first_example_id = ?, last_example_id = ? WHERE id = ?",
                       [.integer(total), .integer(examples), range.0, range.1, .integer(source.id)])
            try db.execute("COMMIT")
            open = false
            store.sessionOpen = false
            source.records = total
            return ImportResult(source: source, examples: examples, rejects: rejects,
                                replacedSourceIDs: replaced, labelCounts: added)
        } catch {
            rollback()
            throw error
        }
    }

    /// Discards everything this session wrote (and any `.replace` deletions).
    public func rollback() {
        guard open else { return }
        try? db.execute("ROLLBACK")
        open = false
        store.sessionOpen = false
    }
}
