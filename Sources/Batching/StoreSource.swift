import Store

/// An `ExampleSource` over one store: the encoded ids of a vocabulary, the parts of a split
/// in one fold, and the annotations of the chosen tasks.
///
/// ```swift
/// let source = try StoreSource(path: "mtl.sqlite", vocabulary: "words", split: "main", fold: 0)
/// let loader = try Loader(source: source, config: config)
/// ```
///
/// Opening it scans the split's assignments and the annotations once, block by block, to
/// count training examples per task (and class) and block; nothing per example is kept.
public final class StoreSource: ExampleSource, @unchecked Sendable {
    public let store: ExampleStore
    public let vocabulary: VocabularyRecord
    public let split: SplitRecord
    /// The fold of a k-fold split (0 for a ratio split).
    public let fold: Int
    public let tasks: [TaskInfo]
    public private(set) var index: BlockIndex
    public let padID: Int32
    let maxLength: Int
    let truncation: Truncation
    /// Store task id → task index (few tasks: a linear table).
    private let taskSlots: [(id: Int64, slot: Int)]

    // Reused buffers for block reads.
    private var candidateIDs: [Int64] = []

    public var identity: String {
        "\(store.connection.path)|vocab \(vocabulary.id) \(vocabulary.createdAt)|split \(split.id) \(split.createdAt)|fold \(fold)|tasks \(tasks.map(\.name))|" +
            "\(index.firstID) \(index.blockSize) \(index.blockCount) \(index.taskTotals)"
    }

    /// Opens the store at `path` read-only (its own connection, so the loader may run on a
    /// background thread). See `init(store:…)`.
    public convenience init(path: String, vocabulary: String? = nil, split: String? = nil, fold: Int? = nil,
                            tasks: [String]? = nil, config: LoaderConfig = LoaderConfig()) throws {
        let store: ExampleStore
        do { store = try ExampleStore(path: path, readOnly: true) } catch {
            throw BatchingError(.store, "\(path): \(error)")
        }
        try self.init(store: store, vocabulary: vocabulary, split: split, fold: fold, tasks: tasks ?? config.tasks, config: config)
    }

    /// - Parameters:
    ///   - vocabulary: by name; nil = the store's only vocabulary (an error when there are several).
    ///   - split: by name; nil = the split the vocabulary was built on (or the only split).
    ///   - fold: nil = the vocabulary's fold, else 0.
    ///   - tasks: by name, in target order; nil = every task of the store.
    ///   - config: supplies `blockSize`, `maxLength`, `truncation`, `padID`, and whether
    ///     per-class block counts are needed (`classBalancing`).
    public init(store: ExampleStore, vocabulary vocabName: String? = nil, split splitName: String? = nil, fold: Int? = nil,
                tasks taskNames: [String]? = nil, config: LoaderConfig = LoaderConfig()) throws {
        try config.validate()
        self.store = store
        let path = store.connection.path
        do {
            // Vocabulary.
            let vocabs = try store.vocabularies()
            if let vocabName {
                guard let v = vocabs.first(where: { $0.name == vocabName }) else {
                    throw BatchingError(.noVocabulary, "\(path): no vocabulary named '\(vocabName)' (have: \(vocabs.map(\.name).joined(separator: ", ").ifEmpty("none"))): run mtl-prep vocab --name \(vocabName) …")
                }
                vocabulary = v
            } else {
                guard let v = vocabs.first else {
                    throw BatchingError(.noVocabulary, "\(path): no vocabulary: run mtl-prep vocab (on a split's training part) first")
                }
                guard vocabs.count == 1 else {
                    throw BatchingError(.noVocabulary, "\(path) has \(vocabs.count) vocabularies (\(vocabs.map(\.name).joined(separator: ", "))): choose one with --vocab")
                }
                vocabulary = v
            }
            // Split.
            let splits = try store.splits()
            if let splitName {
                guard let s = splits.first(where: { $0.name == splitName }) else {
                    throw BatchingError(.noSplit, "\(path): no split named '\(splitName)' (have: \(splits.map(\.name).joined(separator: ", ").ifEmpty("none"))): run mtl-prep split --name \(splitName) …")
                }
                split = s
            } else if let sid = vocabulary.splitID, let s = splits.first(where: { $0.id == sid }) {
                split = s
            } else if splits.count == 1 {
                split = splits[0]
            } else if splits.isEmpty {
                throw BatchingError(.noSplit, "\(path): no split: run mtl-prep split first (batches come from a split's training part)")
            } else {
                throw BatchingError(.noSplit, "\(path) has \(splits.count) splits (\(splits.map(\.name).joined(separator: ", "))): choose one with --split")
            }
            let k = fold ?? (vocabulary.splitID == split.id ? vocabulary.fold ?? 0 : 0)
            if split.kind == .kfold {
                guard (0..<split.folds).contains(k) else {
                    throw BatchingError(.invalidConfiguration, "split '\(split.name)' has folds 0…\(split.folds - 1); fold \(k) does not exist")
                }
            } else if let fold, fold != 0 {
                throw BatchingError(.invalidConfiguration, "split '\(split.name)' is a ratio split: it has no fold \(fold)")
            }
            self.fold = split.kind == .kfold ? k : 0
            // A vocabulary built on another split's or fold's training part has seen this
            // run's dev/test tokens.
            if let sid = vocabulary.splitID, sid != split.id || (split.kind == .kfold && (vocabulary.fold ?? 0) != self.fold) {
                let built = splits.first(where: { $0.id == sid })?.name ?? "#\(sid)"
                throw BatchingError(.invalidConfiguration, "vocabulary '\(vocabulary.name)' was built on split '\(built)'\(vocabulary.fold.map { " fold \($0)" } ?? ""), not split '\(split.name)'\(split.kind == .kfold ? " fold \(self.fold)" : ""): its tokens would leak held-out text; run mtl-prep vocab --split \(split.name)\(split.kind == .kfold ? " --fold \(self.fold)" : "")")
            }
            // Tasks.
            let all = try store.tasks()
            var chosen: [TaskRecord] = []
            if let taskNames {
                for n in taskNames {
                    guard let t = all.first(where: { $0.name == n }) else {
                        throw BatchingError(.task, "\(path): no task named '\(n)' (have: \(all.map(\.name).joined(separator: ", ")))")
                    }
                    chosen.append(t)
                }
                if Set(taskNames).count != taskNames.count { throw BatchingError(.task, "a task is named twice in \(taskNames)") }
            } else {
                chosen = all
            }
            guard !chosen.isEmpty else { throw BatchingError(.task, "\(path): no tasks: import labelled examples first (mtl-prep import … --label task=field)") }
            var infos: [TaskInfo] = []
            for t in chosen {
                infos.append(TaskInfo(name: t.name, storeID: t.id, kind: t.kind, labels: try store.labels(taskID: t.id).map(\.name)))
            }
            tasks = infos
            taskSlots = infos.enumerated().map { ($0.element.storeID, $0.offset) }
            if let p = config.padID { padID = p } else { padID = try store.vocabTokenID(vocabID: vocabulary.id, token: "<pad>") ?? 0 }
            maxLength = config.maxLength
            truncation = config.truncation
            index = BlockIndex(firstID: 0, blockSize: config.blockSize, blockCount: 0, taskBlocks: [], classBlocks: [], taskTotals: [], classTotals: [])
            try buildIndex(blockSize: config.blockSize, withClasses: config.classBalancing != .none)
        } catch let e as BatchingError {
            throw e
        } catch {
            throw BatchingError(.store, "\(path): \(error)")
        }
        for (t, n) in index.taskTotals.enumerated() where n == 0 {
            throw BatchingError(.task, "task '\(tasks[t].name)' has no training examples in split '\(split.name)'\(split.kind == .kfold ? " fold \(self.fold)" : ""): leave it out (--tasks) or re-run mtl-prep split so that its examples reach the training part")
        }
    }

    @inline(__always)
    private func slot(ofStoreTask id: Int64) -> Int? {
        for s in taskSlots where s.id == id { return s.slot }
        return nil
    }

    @inline(__always)
    private func partInFold(_ part: SplitPart, _ fold: Int32) -> SplitPart {
        split.part(stored: part, fold: fold, in: self.fold)
    }

    /// One pass over the split's assignments and the annotations, block by block.
    private func buildIndex(blockSize: Int, withClasses: Bool) throws {
        guard let bounds = try store.exampleIDBounds() else {
            throw BatchingError(.task, "\(store.connection.path): the store has no examples: run mtl-prep import first")
        }
        let blockCount = Int((bounds.upperBound - bounds.lowerBound) / Int64(blockSize)) + 1
        let T = tasks.count
        var taskBlocks = [[Int32]](repeating: [Int32](repeating: 0, count: blockCount), count: T)
        let classified = tasks.map { $0.kind == .classification }
        var classTotals: [[Int64]] = tasks.map { $0.kind == .classification ? [Int64](repeating: 0, count: $0.labelCount) : [] }
        var classBlocks: [[[Int32]]] = tasks.map { t in
            withClasses && t.kind == .classification ? [[Int32]](repeating: [Int32](repeating: 0, count: blockCount), count: t.labelCount) : []
        }
        index = BlockIndex(firstID: bounds.lowerBound, blockSize: blockSize, blockCount: blockCount, taskBlocks: [], classBlocks: [], taskTotals: [], classTotals: [])
        var train: [Int64] = []
        train.reserveCapacity(blockSize)
        for b in 0..<blockCount {
            let range = index.range(ofBlock: b)
            train.removeAll(keepingCapacity: true)
            try store.forEachAssignment(splitID: split.id, range: range) { id, part, fold in
                if partInFold(part, fold) == .train { train.append(id) }
            }
            if train.isEmpty { continue }
            var i = 0
            try store.forEachAnnotationBlob(range: range) { id, taskID, value in
                while i < train.count && train[i] < id { i += 1 }
                guard i < train.count, train[i] == id, let t = slot(ofStoreTask: taskID) else { return }
                taskBlocks[t][b] += 1
                if classified[t] {
                    guard value.count == 4 else {
                        throw BatchingError(.data, "example \(id): task '\(tasks[t].name)' is a classification task but its annotation holds \(value.count / 4) ids")
                    }
                    let c = Int(Int32(littleEndian: value.loadUnaligned(as: Int32.self)))
                    guard c >= 0 && c < classTotals[t].count else {
                        throw BatchingError(.data, "example \(id): label id \(c) unknown in task '\(tasks[t].name)'")
                    }
                    classTotals[t][c] += 1
                    if withClasses { classBlocks[t][c][b] += 1 }
                }
            }
        }
        index.taskBlocks = taskBlocks
        index.classBlocks = classBlocks
        index.taskTotals = taskBlocks.map { $0.reduce(Int64(0)) { $0 + Int64($1) } }
        index.classTotals = classTotals
    }

    public func read(block b: Int, filter: RowFilter, into rows: inout ExampleRows) throws {
        let range = index.range(ofBlock: b)
        candidateIDs.removeAll(keepingCapacity: true)
        do {
            try store.forEachAssignment(splitID: split.id, range: range) { id, part, fold in
                if partInFold(part, fold) == filter.part { candidateIDs.append(id) }
            }
            if candidateIDs.isEmpty { return }
            let T = tasks.count
            let first = rows.count
            // Annotations: the candidates that carry the filter's task (and class), or any task.
            var i = 0
            var current: Int64 = -1
            var rowStartValues = rows.values.count
            var keepCurrent = false
            func finish() {
                guard current >= 0 else { return }
                if keepCurrent {
                    rows.exampleIDs.append(current)
                } else {
                    rows.annStart.removeLast(T); rows.annCount.removeLast(T)
                    rows.values.removeLast(rows.values.count - rowStartValues)
                }
                current = -1
            }
            let maxLength = self.maxLength, tail = truncation == .tail
            try store.forEachAnnotationBlob(range: range) { id, taskID, value in
                if id != current {
                    finish()
                    while i < candidateIDs.count && candidateIDs[i] < id { i += 1 }
                    guard i < candidateIDs.count, candidateIDs[i] == id else { return }
                    current = id
                    keepCurrent = false
                    rowStartValues = rows.values.count
                    for _ in 0..<T { rows.annStart.append(-1); rows.annCount.append(0) }
                }
                guard let t = slot(ofStoreTask: taskID) else { return }
                if filter.task == nil { keepCurrent = true }
                var n = value.count / 4
                var skip = 0
                if tasks[t].kind == .tagging || tasks[t].kind == .spans, n > maxLength {
                    if tail { skip = n - maxLength }
                    n = maxLength
                }
                let at = rows.annStart.count - T + t
                rows.annStart[at] = Int32(rows.values.count)
                rows.annCount[at] = Int32(n)
                for k in 0..<n { rows.values.append(Int32(littleEndian: value.loadUnaligned(fromByteOffset: 4 * (k + skip), as: Int32.self))) }
                if let ft = filter.task, ft == t {
                    if let c = filter.classID {
                        keepCurrent = n == 1 && rows.values[rows.values.count - 1] == c
                    } else {
                        keepCurrent = true
                    }
                }
            }
            finish()
            if rows.count == first { return }
            // Encoded ids of the kept rows.
            var r = first
            let wide = vocabulary.idWidth == 4
            try store.forEachEncodedBlob(vocabID: vocabulary.id, range: range) { id, blob in
                guard r < rows.count, rows.exampleIDs[r] == id else { return }
                let full = blob.count / (wide ? 4 : 2)
                let n = Swift.min(full, maxLength)
                let skip = tail ? full - n : 0
                if wide {
                    for k in 0..<n { rows.tokens.append(Int32(littleEndian: blob.loadUnaligned(fromByteOffset: 4 * (k + skip), as: Int32.self))) }
                } else {
                    for k in 0..<n { rows.tokens.append(Int32(UInt16(littleEndian: blob.loadUnaligned(fromByteOffset: 2 * (k + skip), as: UInt16.self)))) }
                }
                rows.tokenStart.append(Int32(rows.tokens.count))
                // Tag targets must line up with the tokens.
                for t in 0..<T where rows.annStart[r * T + t] >= 0 && (tasks[t].kind == .tagging || tasks[t].kind == .spans) {
                    if Int(rows.annCount[r * T + t]) != n {
                        throw BatchingError(.data, "example \(id): task '\(tasks[t].name)' has tags that do not match its \(full) tokens")
                    }
                }
                r += 1
            }
            if r < rows.count {
                throw BatchingError(.data, "example \(rows.exampleIDs[r]) has no ids in vocabulary '\(vocabulary.name)': re-run mtl-prep vocab (--replace) so that every example is encoded")
            }
        } catch let e as BatchingError {
            throw e
        } catch {
            throw BatchingError(.store, "\(store.connection.path): \(error)")
        }
    }
}

extension String {
    func ifEmpty(_ s: String) -> String { isEmpty ? s : self }
}
