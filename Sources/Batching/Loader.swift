import Foundation
import Store

/// A loader's position: a small value that serializes to JSON. Restoring it makes the loader
/// produce exactly the batches an uninterrupted run would have produced next, at once: every
/// random decision is keyed by counters held here, and each stream's (pass, offset) locates
/// its window through the per-block counts.
public struct LoaderState: Sendable, Hashable, Codable {
    public var version = 1
    /// Hash of the configuration and the source (hex): a state only restores into the loader
    /// that made it.
    public var fingerprint: String
    public var seed: UInt64
    /// 0-based loader epoch.
    public var epoch: Int
    /// Batches produced since the start.
    public var step: Int
    public var stepInEpoch: Int
    /// Examples drawn since the start (round-robin position in mixed batches).
    public var examples: Int64
    /// Examples drawn per task in the current epoch (the exhaustion counts).
    public var drawnInEpoch: [Int64]
    /// Class draws per task (the class sampler's counter; 0 without class balancing).
    public var classDraws: [Int64]
    /// One cursor per stream: the tasks' streams in task order, then the class streams.
    public var streams: [StreamCursor]

    /// The state as JSON.
    public func json() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return try e.encode(self)
    }

    public static func decode(json: Data) throws -> LoaderState {
        try JSONDecoder().decode(LoaderState.self, from: json)
    }
}

/// Makes training batches from an `ExampleSource`: picks the task (per batch or per example)
/// with a `TaskSampling` strategy, the examples from that task's shuffled stream (or, with
/// class balancing, from its classes' streams), and builds aligned `Batch`es.
///
/// ```swift
/// var config = LoaderConfig()
/// config.taskSampling = .temperature(2)
/// config.maxLength = 64
/// let loader = try Loader(source: StoreSource(path: "mtl.sqlite", config: config), config: config)
/// for _ in 0..<1000 { let batch = try loader.next(); … }
/// let saved = try loader.state.json()     // later: try loader.restore(LoaderState.decode(json: saved))
/// ```
///
/// Only training-part examples of the source's split and fold are drawn. Not thread-safe;
/// `BackgroundLoader` runs one on its own thread.
public final class Loader: @unchecked Sendable {
    public let source: ExampleSource
    public let config: LoaderConfig
    public var tasks: [TaskInfo] { source.tasks }
    /// Training examples per task.
    public let taskCounts: [Int64]

    private let taskStreams: [ExampleStream]
    /// Per task: class streams (classification tasks with class balancing), with the classes'
    /// cumulative shares.
    private let classStreams: [[ExampleStream]]
    private let classIDs: [[Int32]]
    private let classCDF: [[Double]]
    private let fingerprint: String

    private var epoch = 0
    private var step = 0
    private var stepInEpoch = 0
    private var examples: Int64 = 0
    private var drawnInEpoch: [Int64]
    private var classDraws: [Int64]
    private var cdfEpoch = -1
    private var taskCDF: [Double] = []
    private var staging: ExampleRows
    private var drawnFor: [Int32] = []

    public init(source: ExampleSource, config: LoaderConfig, state: LoaderState? = nil) throws {
        try config.validate()
        self.source = source
        self.config = config
        let tasks = source.tasks
        let index = source.index
        taskCounts = index.taskTotals
        if case .weights(let w) = config.taskSampling, w.count != tasks.count {
            throw BatchingError(.invalidConfiguration, "\(w.count) task weights for \(tasks.count) tasks (\(tasks.map(\.name).joined(separator: ", "))): give one weight per task, in that order")
        }
        if case .weights(let w) = config.taskSampling {
            for (t, x) in w.enumerated() where x > 0 && index.taskTotals[t] == 0 {
                throw BatchingError(.task, "task '\(tasks[t].name)' has weight \(x) but no training examples")
            }
        }
        var ts: [ExampleStream] = []
        var cs: [[ExampleStream]] = []
        var cids: [[Int32]] = []
        var cdfs: [[Double]] = []
        for t in tasks.indices {
            ts.append(ExampleStream(source: source, filter: RowFilter(part: .train, task: t), blockCounts: index.taskBlocks[t], config: config))
            if config.classBalancing != .none, tasks[t].kind == .classification, !index.classBlocks[t].isEmpty {
                let shares = config.classBalancing.classShares(counts: index.classTotals[t])
                var streams: [ExampleStream] = [], ids: [Int32] = [], cdf: [Double] = []
                var acc = 0.0
                for (c, p) in shares.enumerated() where p > 0 {
                    streams.append(ExampleStream(source: source, filter: RowFilter(part: .train, task: t, classID: Int32(c)),
                                                 blockCounts: index.classBlocks[t][c], config: config))
                    ids.append(Int32(c))
                    acc += p
                    cdf.append(acc)
                }
                cs.append(streams); cids.append(ids); cdfs.append(cdf)
            } else {
                cs.append([]); cids.append([]); cdfs.append([])
            }
        }
        taskStreams = ts
        classStreams = cs
        classIDs = cids
        classCDF = cdfs
        drawnInEpoch = [Int64](repeating: 0, count: tasks.count)
        classDraws = [Int64](repeating: 0, count: tasks.count)
        staging = ExampleRows(taskCount: tasks.count)
        var h = FNV64()
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        h.add(String(decoding: try enc.encode(config), as: UTF8.self))
        h.add(source.identity)
        fingerprint = String(h.value, radix: 16)
        if let state { try restore(state) }
    }

    // MARK: - State

    /// The position after the last batch returned by `next()`.
    public var state: LoaderState {
        LoaderState(fingerprint: fingerprint, seed: config.seed, epoch: epoch, step: step, stepInEpoch: stepInEpoch,
                    examples: examples, drawnInEpoch: drawnInEpoch, classDraws: classDraws,
                    streams: taskStreams.map(\.cursor) + classStreams.flatMap { $0.map(\.cursor) })
    }

    /// Continues from `state` (made by a loader with the same configuration and source).
    public func restore(_ state: LoaderState) throws {
        guard state.version == 1 else { throw BatchingError(.state, "loader state version \(state.version) is not 1") }
        let streamCount = taskStreams.count + classStreams.reduce(0) { $0 + $1.count }
        guard state.fingerprint == fingerprint, state.streams.count == streamCount,
              state.drawnInEpoch.count == tasks.count, state.classDraws.count == tasks.count else {
            throw BatchingError(.state, "this loader state was saved with another configuration, split, vocabulary or store contents; it cannot resume this loader")
        }
        epoch = state.epoch; step = state.step; stepInEpoch = state.stepInEpoch; examples = state.examples
        drawnInEpoch = state.drawnInEpoch; classDraws = state.classDraws
        var k = 0
        for s in taskStreams { s.cursor = state.streams[k]; k += 1 }
        for group in classStreams { for s in group { s.cursor = state.streams[k]; k += 1 } }
    }

    /// Examples held in memory right now: the loaded windows of every stream plus the batch
    /// being built. Bounded by `shuffleBlocks × blockSize` per stream, whatever the store's size.
    public var residentRows: Int {
        taskStreams.reduce(0) { $0 + $1.rows.count } + classStreams.reduce(0) { $0 + $1.reduce(0) { $0 + $1.rows.count } } + staging.count
    }

    // MARK: - Targets

    /// The task probabilities in (0-based) epoch `epoch` (round-robin: its long-run shares).
    public func taskProbabilities(epoch: Int) -> [Double] {
        config.taskSampling.probabilities(counts: taskCounts, epoch: epoch + 1)
    }

    /// The share of task t's draws each class gets (natural shares without balancing).
    public func classShares(task t: Int) -> [Double] {
        config.classBalancing.classShares(counts: source.index.classTotals[t])
    }

    // MARK: - Drawing

    private func pickTask(slot: Int) -> Int {
        if case .roundRobin = config.taskSampling {
            return config.homogeneous ? step % tasks.count : Int(examples % Int64(tasks.count))
        }
        if cdfEpoch != epoch {
            var acc = 0.0
            taskCDF = taskProbabilities(epoch: epoch).map { acc += $0; return acc }
            cdfEpoch = epoch
        }
        let key = config.homogeneous
            ? CounterRandom.key(config.seed, Purpose.task.rawValue, UInt64(step))
            : CounterRandom.key(config.seed, Purpose.task.rawValue, UInt64(step), UInt64(slot))
        return Self.pick(CounterRandom.uniform(key) * taskCDF[taskCDF.count - 1], taskCDF)
    }

    @inline(__always)
    private static func pick(_ u: Double, _ cdf: [Double]) -> Int {
        var lo = 0, hi = cdf.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if u < cdf[mid] { hi = mid } else { lo = mid + 1 }
        }
        // Skip zero-probability entries that share the boundary.
        return lo
    }

    /// The stream the next example of task t comes from.
    private func streamFor(task t: Int) -> ExampleStream {
        let cdf = classCDF[t]
        guard !cdf.isEmpty else { return taskStreams[t] }
        let u = CounterRandom.uniform(CounterRandom.key(config.seed, Purpose.classPick.rawValue, UInt64(t), UInt64(classDraws[t])))
        return classStreams[t][Self.pick(u * cdf[cdf.count - 1], cdf)]
    }

    /// Takes the next example of task t into the staging rows unless it would break the token
    /// budget (then returns false and consumes nothing).
    private func take(task t: Int, maxLen: inout Int) throws -> Bool {
        let stream = streamFor(task: t)
        let r = try stream.current()
        let len = Swift.max(maxLen, stream.rows.length(r))
        if let budget = config.maxTokens, staging.count > 0, (staging.count + 1) * len > budget { return false }
        maxLen = len
        staging.append(row: r, of: stream.rows)
        drawnFor.append(Int32(t))
        stream.advance()
        if !classCDF[t].isEmpty { classDraws[t] += 1 }
        drawnInEpoch[t] += 1
        examples += 1
        return true
    }

    /// The next training batch. Never runs out: epochs follow one another.
    public func next() throws -> Batch {
        staging.removeAll()
        drawnFor.removeAll(keepingCapacity: true)
        var maxLen = 0
        var task: Int? = nil
        if config.homogeneous {
            let t = pickTask(slot: 0)
            task = t
            while staging.count < config.batchSize, try take(task: t, maxLen: &maxLen) {}
        } else {
            var slot = 0
            while staging.count < config.batchSize {
                let t = pickTask(slot: slot)
                slot += 1
                if try !take(task: t, maxLen: &maxLen) { break }
            }
        }
        let ends: Bool
        switch config.epoch {
        case .batches(let n): ends = stepInEpoch + 1 >= n
        case .firstExhausted: ends = tasks.indices.contains { drawnInEpoch[$0] >= taskCounts[$0] }
        case .allExhausted: ends = tasks.indices.allSatisfy { drawnInEpoch[$0] >= taskCounts[$0] }
        }
        let batch = Batch.build(rows: staging, drawnFor: drawnFor, tasks: tasks, padID: source.padID,
                                allTaskTargets: config.allTaskTargets, step: step, epoch: epoch, endsEpoch: ends, task: task)
        step += 1
        stepInEpoch += 1
        if ends {
            epoch += 1
            stepInEpoch = 0
            for t in tasks.indices { drawnInEpoch[t] = 0 }
            // Exhaustion epochs start every task afresh; fixed-length epochs run on.
            if case .batches = config.epoch {} else {
                for s in taskStreams { s.restartPass() }
                for g in classStreams { for s in g { s.restartPass() } }
            }
        }
        return batch
    }

    /// Per-label training counts of task t (from the vocabulary's `vocab_labels` when the
    /// source is a store, else the index's class counts).
    public func labelCounts(task t: Int) throws -> [Int64] {
        if let s = source as? StoreSource { return try s.labelCounts(task: t) }
        return source.index.classTotals[t]
    }

    /// Per-class loss weights of task t from its training counts (see `ClassWeights`).
    public func classWeights(task t: Int, balancing: ClassBalancing) throws -> [Double] {
        ClassWeights.weights(counts: try labelCounts(task: t), balancing: balancing)
    }
}

extension StoreSource {
    /// Per-label training counts of task t: the vocabulary's `vocab_labels`, or the index's
    /// class counts when the vocabulary has none for the task (classification only).
    public func labelCounts(task t: Int) throws -> [Int64] {
        let all: [Int64: [Int64]]
        do { all = try store.vocabLabelCounts(vocabID: vocabulary.id) } catch { throw BatchingError(.store, "\(error)") }
        if var c = all[tasks[t].storeID] {
            while c.count < tasks[t].labelCount { c.append(0) }
            return c
        }
        return index.classTotals[t]
    }
}
