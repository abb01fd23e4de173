/// The example store: one SQLite file holding sources, examples, tasks, labels,
/// annotations and rejects (schema in `StoreSchema`).
///
/// ```swift
/// let store = try ExampleStore(path: "mtl.sqlite")
/// switch try store.beginImport(info, mode: .skipExisting) {
/// case .alreadyImported(let s): print("already imported as source \(s.id)")
/// case .started(let session):
///     let topic = try session.task("topic", kind: .classification)
///     let id = try session.labelID("book", task: topic.id)
///     try session.add(NewExample(locator: "a.csv:2", text: t, tokens: blob, normHash: h,
///                                annotations: [(topic.id, .label(id))]))
///     let result = try session.commit(records: 1)
/// }
/// ```
///
/// Not thread-safe: one thread at a time (it may be handed to another thread).
public final class ExampleStore: @unchecked Sendable {
    /// The underlying connection, for later stages that need their own SQL.
    public let connection: Connection
    var sessionOpen = false
    /// SQLite page cache of an import session, in KiB (pages beyond it spill to the WAL).
    public var importCacheKiB = 32 * 1024

    /// SQLite page size of a store created by this program. Large pages make bulk imports
    /// cheaper (fewer WAL frames, page writes and b-tree splits per example; the WAL index,
    /// which SQLite searches on every page read inside a long import, stays small).
    public static let newStorePageSize = 65536

    /// Opens or creates the store and applies pending migrations.
    /// With `readOnly`, nothing is written: the store must exist at this program's version.
    public convenience init(path: String, readOnly: Bool = false) throws {
        try self.init(path: path, readOnly: readOnly, unpublished: false)
    }

    init(path: String, readOnly: Bool, unpublished: Bool) throws {
        connection = try Connection(path: path, readOnly: readOnly, newDatabasePageSize: Self.newStorePageSize,
                                    unpublished: unpublished)
        if readOnly {
            let v = try connection.userVersion
            if v != StoreSchema.version {
                throw StoreError(kind: .schema, message: v == 0
                    ? "\(path) is not an mtl store (schema version 0)"
                    : v < StoreSchema.version
                    ? "\(path) has schema version \(v), this program reads version \(StoreSchema.version): a command that writes to the store (mtl-prep import, split or vocab) migrates it first"
                    : "\(path) has schema version \(v), written by a newer program; this one reads version \(StoreSchema.version)")
            }
        } else {
            try StoreSchema.migrator.migrate(connection)
        }
    }

    /// What to do when a source with the same content, mapping and pipeline exists.
    public enum ImportMode: String, Sendable, Codable {
        /// Add nothing; `beginImport` returns `.alreadyImported`.
        case skipExisting
        /// Delete every source with the same path or the same content, mapping and
        /// pipeline (with their examples, annotations and rejects), then import.
        /// The deletion is part of the import transaction.
        case replace
    }

    /// The outcome of `beginImport`.
    public enum ImportStart {
        case started(ImportSession)
        case alreadyImported(SourceRecord)
    }

    /// Starts an import. The whole import is ONE write transaction (`BEGIN IMMEDIATE`),
    /// made visible by `ImportSession.commit()`; see `ImportSession` for why.
    /// When the content hash is computed while reading, pass a placeholder in
    /// `info.contentSHA256` and call `ImportSession.setContentSHA256` before `commit`.
    /// Waits (busy timeout, 30 s) while another import holds the write lock.
    public func beginImport(_ info: SourceInfo, mode: ImportMode = .skipExisting) throws -> ImportStart {
        guard !sessionOpen else { throw StoreError(kind: .misuse, message: "an import session is already open on this store") }
        try connection.execute("BEGIN IMMEDIATE")
        do {
            let same = try sourceIDs(
                "SELECT id FROM sources WHERE content_sha256 = ? AND mapping_json = ? AND pipeline_json = ? ORDER BY id",
                [.text(info.contentSHA256), .text(info.mappingJSON), .text(info.pipelineJSON)])
            var replaced: [Int64] = []
            if mode == .skipExisting, let existing = same.first {
                let record = try source(id: existing)
                try connection.execute("ROLLBACK")
                return .alreadyImported(record!)
            }
            if mode == .replace {
                let samePath = try sourceIDs("SELECT id FROM sources WHERE path = ?", [.text(info.path)])
                replaced = Array(Set(same + samePath)).sorted()
                try deleteSources(replaced)
            }
            let session = try ImportSession(store: self, info: info, mode: mode, replaced: replaced)
            sessionOpen = true
            return .started(session)
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }

    private func sourceIDs(_ sql: String, _ args: [SQLValue]) throws -> [Int64] {
        let st = try connection.cached(sql)
        try st.bind(args)
        var ids: [Int64] = []
        try st.forEachRow { ids.append($0.int64(0)) }
        return ids
    }

    /// Deletes sources with their examples, annotations and rejects, and recounts labels.
    /// Runs in its own transaction unless one is open.
    public func deleteSource(id: Int64) throws {
        if connection.isAutocommit {
            try connection.transaction { try deleteSources([id]) }
        } else {
            try deleteSources([id])
        }
    }

    func deleteSources(_ ids: [Int64]) throws {
        guard !ids.isEmpty else { return }
        for id in ids {
            // The source's examples: its id range (schema v4), checked against source_id.
            let range = try connection.cached("SELECT first_example_id, last_example_id FROM sources WHERE id = ?")
            try range.bind([.integer(id)])
            var bounds: (Int64, Int64)?
            if try range.step(), !range.isNull(0), !range.isNull(1) { bounds = (range.int64(0), range.int64(1)) }
            range.reset()
            if let (first, last) = bounds {
                let mine = "SELECT id FROM examples WHERE id BETWEEN ?2 AND ?3 AND source_id = ?1"
                let args: [SQLValue] = [.integer(id), .integer(first), .integer(last)]
                // Splits and vocabularies keep their other examples; these ones leave them.
                try connection.run("DELETE FROM annotations WHERE example_id BETWEEN ?2 AND ?3 AND example_id IN (\(mine))", args)
                try connection.run("DELETE FROM targets WHERE example_id BETWEEN ?2 AND ?3 AND example_id IN (\(mine))", args)
                for table in ["split_assignments", "encoded"] {
                    try connection.run("DELETE FROM \(table) WHERE example_id IN (\(mine))", args)
                }
                try connection.run("DELETE FROM examples WHERE id BETWEEN ?2 AND ?3 AND source_id = ?1", args)
            }
            try connection.run("DELETE FROM rejects WHERE source_id = ?", [.integer(id)])
            try connection.run("DELETE FROM span_alignments WHERE source_id = ?", [.integer(id)])
            try connection.run("DELETE FROM sources WHERE id = ?", [.integer(id)])
        }
        // The token-type index covers a prefix of example ids; rebuilt by the next `vocab`.
        try connection.execute("DELETE FROM token_type_chunks; DELETE FROM token_types")
        try recountLabels()
    }

    /// Recomputes `labels.count` from the annotations (a full scan of `annotations`).
    public func recountLabels() throws {
        let kinds = Dictionary(uniqueKeysWithValues: try tasks().map { ($0.id, $0.kind) })
        var counts: [Int64: [Int32: Int64]] = [:]
        let st = try connection.prepare("SELECT task_id, value FROM annotations")
        try st.forEachRow { row in
            let task = row.int64(0)
            guard let kind = kinds[task] else { return }
            let value = try AnnotationValue.decode(row.blob(1) ?? [], kind: kind)
            for id in value.ids { counts[task, default: [:]][id, default: 0] += 1 }
        }
        try connection.run("UPDATE labels SET count = 0")
        let up = try connection.prepare("UPDATE labels SET count = ? WHERE task_id = ? AND id = ?")
        for (task, perLabel) in counts {
            for (id, n) in perLabel {
                try up.bind([.integer(n), .integer(task), .integer(Int64(id))])
                try up.run()
            }
        }
    }
}
