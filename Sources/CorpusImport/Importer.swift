import Foundation
import Store
import Text

/// What to do with a bad record (missing field, empty text, invalid UTF-8, unknown label…).
public enum ErrorPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Abort the import; the store is left exactly as before.
    case fail
    /// Store the record in `rejects` with its locator and reason, count it, go on.
    case skip
}

/// Settings of one import.
public struct ImportOptions: Sendable {
    /// Fields → text and tasks, and the reader's options.
    public var mapping: Mapping
    /// The text pipeline every worker runs (recorded in `sources.pipeline_json`).
    public var pipeline: TextPipeline
    /// A predefined split part for the source (overrides `mapping.part`).
    public var part: String?
    /// Re-import even when a source with the same path or content, mapping and pipeline exists.
    public var replace = false
    public var onError: ErrorPolicy = .fail
    /// Tokenizer worker threads (the reader and the writer have their own).
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    /// Records per chunk handed to a worker.
    public var chunkSize = 1024
    /// A chunk ends after `chunkSize` records or once its records' values reach this many
    /// bytes, whichever comes first (a record bigger than this is a chunk of its own). The
    /// queue to the workers and the chunks being worked on are bounded by
    /// `max(2, threads) × chunkBytes` each, so that memory follows bytes, not record counts.
    public var chunkBytes = 4 << 20
    /// Record bytes, XML text nodes and nesting, JSON nesting, tokens per example.
    public var limits = ReaderLimits()
    /// Import a non-empty file that yields no record as an empty source (default: an error).
    public var allowEmpty = false
    /// The file name used in locators (default: the path's last component).
    public var displayName: String?
    /// How XML is parsed (tests).
    var xmlReading = XMLReading()
    /// Sees every chunk's record count and bytes as the reader thread queues it (tests).
    var chunkObserver: (@Sendable (_ records: Int, _ bytes: Int) -> Void)?

    public init(mapping: Mapping, pipeline: TextPipeline) {
        self.mapping = mapping; self.pipeline = pipeline
    }
}

/// Progress of a running import, reported on the writer thread.
public struct ImportProgress: Sendable {
    /// Bytes of the file read so far (by the reader thread, at the last chunk written).
    public var bytesRead: Int64
    /// The file's size, when known.
    public var totalBytes: Int64?
    /// Records written (examples and rejects) so far.
    public var records: Int64
    /// Seconds since the import started.
    public var seconds: Double
}

/// What one import did: printed by `mtl-prep import`, as JSON with `--json`.
public struct ImportSummary: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        case imported
        /// The same content, mapping and pipeline was imported before: nothing added.
        case alreadyImported = "already-imported"
    }
    /// The path as given.
    public var file: String
    public var status: Status
    /// The new source, or (already imported) the existing one.
    public var sourceID: Int64
    public var format: String
    /// Records read from the file, good and bad.
    public var recordsRead: Int64
    /// Examples this import added (0 when already imported).
    public var examplesStored: Int64
    /// Bad records stored in `rejects` (`--on-error skip`).
    public var rejects: Int64
    /// Rejects by `ImportError.Kind`.
    public var rejectReasons: [String: Int64]
    /// Per task, per label: annotations added (tokens, for tagging and spans tasks).
    public var labelCounts: [String: [String: Int64]]
    /// Per spans task: how spans met token boundaries.
    public var spans: [String: SpanCounts]
    /// Per seq2seq task: targets cut at the task's `max_length`.
    public var truncatedTargets: [String: Int64] = [:]
    /// Sources deleted first (`--replace`).
    public var replacedSourceIDs: [Int64]
    /// Bytes read.
    public var bytes: Int64
    /// Wall time of the whole import, commit included.
    public var seconds: Double
    /// `bytes` / `seconds`, in MB (10^6 bytes) per second.
    public var mbPerSecond: Double
    /// Tokenizer worker threads.
    public var threads: Int

    enum CodingKeys: String, CodingKey {
        case file, status, format, rejects, spans, bytes, seconds, threads
        case sourceID = "source_id", recordsRead = "records_read", examplesStored = "examples_stored"
        case rejectReasons = "reject_reasons", labelCounts = "label_counts", replacedSourceIDs = "replaced_source_ids"
        case truncatedTargets = "truncated_targets"
        case mbPerSecond = "mb_per_s"
    }
}

/// The import driver: one reader thread → bounded queue of numbered chunks → tokenizer
/// workers (`OrderedParallelMap`, one `TextProcessor` each) → back in input order → this
/// thread writes every example through one `ImportSession` (one transaction). Example ids
/// therefore follow the input order whatever the thread count.
public final class Importer {
    public let store: ExampleStore
    public let options: ImportOptions

    /// An importer writing to `store` (one import at a time per store).
    public init(store: ExampleStore, options: ImportOptions) {
        self.store = store; self.options = options
    }

    /// Imports one file as one source. On any error (with `onError: .fail`, any bad record)
    /// nothing is written: the store is exactly as before.
    public func importFile(_ path: String, progress: ((ImportProgress) -> Void)? = nil) throws(ImportError) -> ImportSummary {
        let started = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        let display = options.displayName ?? URL(fileURLWithPath: path).lastPathComponent
        let mapping = options.mapping
        try mapping.validate(origin: "mapping")
        let plan = ReaderPlan(mapping: mapping)
        let storeLoc = RecordLocator(file: display)
        if let problem = options.limits.problem() { throw ImportError(.invalidMapping, storeLoc, problem) }
        let reader = try plan.makeReader(path: path, displayName: display, xml: options.xmlReading, limits: options.limits)
        func storeError(_ error: any Error) -> ImportError {
            if let e = error as? ImportError { return e }
            return ImportError(.store, storeLoc, "store: \(error)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let pipelineJSON = String(decoding: (try? encoder.encode(options.pipeline)) ?? Data(), as: UTF8.self)
        let info = SourceInfo(path: path, format: mapping.format.rawValue, contentSHA256: "pending",
                              mappingJSON: mapping.canonicalJSON(), pipelineJSON: pipelineJSON, part: options.part ?? mapping.part)
        let session: ImportSession
        do {
            guard case .started(let s) = try store.beginImport(info, mode: options.replace ? .replace : .skipExisting) else {
                throw ImportError(.store, storeLoc, "a pending source already exists") // placeholder hash never matches
            }
            session = s
        } catch { throw storeError(error) }
        defer { session.rollback() }   // no-op after commit

        // Tasks and their label ids, on the writer side.
        var taskIDs: [Int64] = []
        var ids: [[String: Int32]] = []
        do {
            for task in plan.tasks {
                let m = task.mapping
                let scheme: TagScheme? = m.kind == .spans ? (m.scheme ?? .bio) : m.scheme
                let record = try session.task(task.name, kind: m.kind, tagScheme: scheme)
                taskIDs.append(record.id)
                var known: [String: Int32] = [:]
                if m.kind == .spans { known["O"] = try session.labelID("O", task: record.id) }
                for l in m.labels ?? [] where m.kind != .spans && known[l] == nil { known[l] = try session.labelID(l, task: record.id) }
                ids.append(known)
            }
        } catch { throw storeError(error) }

        // Reader thread.
        let totalBytes = reader.totalBytes
        let chunkBytes = max(1, options.chunkBytes), inFlightBytes = max(2, options.threads) * chunkBytes
        let queue = ChunkQueue(capacity: max(2, options.threads), byteCapacity: inFlightBytes)
        let box = ReaderBox(reader)
        let readerDone = DispatchSemaphore(value: 0)
        let chunkSize = options.chunkSize, skip = options.onError == .skip, observer = options.chunkObserver
        let thread = Thread {
            defer { readerDone.signal() }
            var chunk = RecordChunk()
            chunk.items.reserveCapacity(chunkSize)
            while true {
                do throws(ImportError) {
                    guard let record = try box.reader.next() else { break }
                    chunk.bytes += RecordChunk.size(of: record)
                    chunk.items.append(.record(record))
                } catch {
                    let recoverable = error.kind.readerContinues
                    chunk.items.append(.unreadable(error, fatal: !recoverable))
                    if !recoverable || !skip { break }
                }
                if chunk.items.count >= chunkSize || chunk.bytes >= chunkBytes {
                    chunk.bytesRead = box.reader.bytesRead
                    observer?(chunk.items.count, chunk.bytes)
                    guard queue.push(chunk) else { return }
                    chunk = RecordChunk()
                    chunk.items.reserveCapacity(chunkSize)
                }
            }
            chunk.bytesRead = box.reader.bytesRead
            if !chunk.items.isEmpty {
                observer?(chunk.items.count, chunk.bytes)
                guard queue.push(chunk) else { return }
            }
            queue.finish()
        }
        thread.stackSize = 4 << 20
        thread.start()
        defer { queue.close(); readerDone.wait() }

        // Workers and the writer (this thread).
        var records: Int64 = 0, bytes: Int64 = 0
        var rejectReasons: [String: Int64] = [:]
        var spans = [SpanCounts](repeating: SpanCounts(), count: plan.tasks.count)
        var truncatedTargets = [Int64](repeating: 0, count: plan.tasks.count)
        var lastReport = 0.0
        let pipeline = options.pipeline, limits = options.limits
        do {
            try OrderedParallelMap.run(
                threads: max(1, options.threads),
                makeWorker: { try DraftBuilder(plan: plan, pipeline: pipeline, limits: limits) },
                next: { queue.pop() },
                transform: { builder, chunk in builder.pack(chunk) },
                consume: { output in
                    var chunk = output
                    let bytesRead = chunk.bytesRead
                    // Chunk-local label indexes → the store's label ids (new names get ids here,
                    // in first-seen order, chunk after chunk: the order of the input).
                    var refs = chunk.labelRefs
                    chunk.labelRefs = []
                    var maps: [[Int32]] = []
                    for (k, names) in chunk.labelNames.enumerated() {
                        var map: [Int32] = []
                        map.reserveCapacity(names.count)
                        for name in names {
                            if let i = ids[k][name] { map.append(i); continue }
                            let i = try session.labelID(name, task: taskIDs[k])
                            ids[k][name] = i
                            map.append(i)
                        }
                        maps.append(map)
                    }
                    var raw: [ImportSession.RawAnnotation] = []
                    raw.reserveCapacity(chunk.annotations.count)
                    for a in chunk.annotations {
                        if plan.tasks[a.task].mapping.kind == .regression {
                            // The value's bits, not a label index: nothing to map.
                            raw.append(.init(taskID: taskIDs[a.task], start: a.refs.lowerBound, count: a.refs.count))
                            continue
                        }
                        maps[a.task].withUnsafeBufferPointer { map in
                            for j in a.refs { refs[j] = map[Int(refs[j])] }
                        }
                        var count = a.refs.count
                        if plan.tasks[a.task].mapping.kind == .multilabel && count > 1 {
                            // A set: ascending ids, no duplicates.
                            refs[a.refs].sort()
                            var w = a.refs.lowerBound + 1
                            for j in (a.refs.lowerBound + 1)..<a.refs.upperBound where refs[j] != refs[w - 1] {
                                refs[w] = refs[j]; w += 1
                            }
                            count = w - a.refs.lowerBound
                        }
                        raw.append(.init(taskID: taskIDs[a.task], start: a.refs.lowerBound, count: count,
                                         targetText: a.targetText, targetTokens: a.targetTokens))
                    }
                    for k in spans.indices { spans[k] += chunk.spanCounts[k]; truncatedTargets[k] += Int64(chunk.truncatedTargets[k]) }
                    try chunk.bytes.withUnsafeBytes { bytes in
                        try refs.withUnsafeBufferPointer { refs in
                            try raw.withUnsafeBufferPointer { raw in
                                try chunk.rows.withUnsafeBufferPointer { rows in
                                    // Consecutive examples are consecutive rows: write each run with
                                    // multi-row INSERTs, before the reject or error that ends it.
                                    var run = 0..<0
                                    var nextAlignment = 0
                                    func flush() throws {
                                        guard !run.isEmpty else { return }
                                        let first = try session.addExamples(UnsafeBufferPointer(rebasing: rows[run]), bytes: bytes,
                                                                            annotations: raw, ids: refs)
                                        // The run's alignment events, now that their examples have ids.
                                        while nextAlignment < chunk.alignments.count, chunk.alignments[nextAlignment].row < run.upperBound {
                                            let a = chunk.alignments[nextAlignment]
                                            nextAlignment += 1
                                            guard a.row >= run.lowerBound else { continue }
                                            try session.addSpanAlignment(exampleID: first + Int64(a.row - run.lowerBound), taskID: taskIDs[a.task],
                                                                         kind: a.event.kind.rawValue, start: a.event.start, end: a.event.end,
                                                                         label: a.event.label, stored: a.event.stored)
                                        }
                                        run = run.upperBound..<run.upperBound
                                    }
                                    for item in chunk.items {
                                        records += 1
                                        switch item {
                                        case .example(let r):
                                            if r != run.upperBound { try flush(); run = r..<r }
                                            run = run.lowerBound..<(r + 1)
                                        case .fatal(let error):
                                            try flush()
                                            throw error
                                        case .reject(let error):
                                            try flush()
                                            guard skip else { throw error }
                                            try session.addReject(locator: error.locator.description, reason: error.message)
                                            rejectReasons[error.kind.rawValue, default: 0] += 1
                                        }
                                    }
                                    try flush()
                                }
                            }
                        }
                    }
                    bytes = bytesRead
                    if let progress {
                        let now = elapsed()
                        if now - lastReport >= 0.2 {
                            lastReport = now
                            progress(ImportProgress(bytesRead: bytesRead, totalBytes: totalBytes, records: records, seconds: now))
                        }
                    }
                },
                cost: { $0.bytes }, maxCost: inFlightBytes)
        } catch { throw storeError(error) }

        readerDone.wait()
        readerDone.signal()  // the deferred wait must not block
        let sha = reader.contentSHA256 ?? "unknown"
        bytes = reader.bytesRead
        if records == 0, bytes > 0, !options.allowEmpty {
            // A misspelled --record or a wrong --namespace used to import an empty source and exit 0.
            throw ImportError(.noRecords, storeLoc, "\(reader.noRecordsExplanation()); nothing imported (--allow-empty imports an empty source)")
        }
        var summary = ImportSummary(file: path, status: .imported, sourceID: session.source.id, format: mapping.format.rawValue,
                                    recordsRead: records, examplesStored: 0, rejects: 0, rejectReasons: rejectReasons,
                                    labelCounts: [:], spans: [:], replacedSourceIDs: [], bytes: bytes, seconds: 0,
                                    mbPerSecond: 0, threads: options.threads)
        for (k, task) in plan.tasks.enumerated() where task.mapping.kind == .spans { summary.spans[task.name] = spans[k] }
        for (k, task) in plan.tasks.enumerated() where task.mapping.kind == .seq2seq { summary.truncatedTargets[task.name] = truncatedTargets[k] }
        do {
            if let existing = try session.setContentSHA256(sha) {
                session.rollback()
                summary.status = .alreadyImported
                summary.sourceID = existing.id
                summary.rejectReasons = [:]
                summary.spans = [:]
            } else {
                let result = try session.commit(records: records)
                summary.examplesStored = result.examples
                summary.rejects = result.rejects
                summary.labelCounts = result.labelCounts
                summary.replacedSourceIDs = result.replacedSourceIDs
            }
        } catch { throw storeError(error) }
        summary.seconds = elapsed()
        summary.mbPerSecond = Double(bytes) / 1e6 / max(summary.seconds, 1e-9)
        return summary
    }
}
