// One task's (or one class's) training examples as an endless sequence of passes. Pass p's
// order: the non-empty blocks in a random order keyed by (seed, stream, p); consecutive runs
// of `shuffleBlocks` blocks form windows; a window's examples are shuffled (keyed by the
// window) and, with bucketing, sorted by length inside runs whose batches are then shuffled.
// The position (pass, offset) alone says which window and which row come next: per-block
// counts give each window's first offset, so resuming loads one window, not the pass so far.

/// Where a stream stands: pass number and examples already given in that pass.
public struct StreamCursor: Sendable, Hashable, Codable {
    public var pass: Int64
    public var offset: Int64
    public init(pass: Int64 = 0, offset: Int64 = 0) { self.pass = pass; self.offset = offset }
}

final class ExampleStream {
    let source: ExampleSource
    let filter: RowFilter
    /// Members per block (from the source's index).
    let blockCounts: [Int32]
    let nonEmptyBlocks: [Int32]
    let total: Int64
    let seed: UInt64
    let streamKey: UInt64
    let shuffleBlocks: Int
    let bucketRun: Int
    let batchSize: Int

    var cursor = StreamCursor()

    // The pass whose layout is computed.
    private var layoutPass: Int64 = -1
    private var windowBlocks: [[Int32]] = []
    private var windowStarts: [Int64] = []
    // The loaded window.
    private var windowPass: Int64 = -1
    private var window = -1
    private(set) var rows: ExampleRows
    private var perm: [Int32] = []

    init(source: ExampleSource, filter: RowFilter, blockCounts: [Int32], config: LoaderConfig) {
        self.source = source
        self.filter = filter
        self.blockCounts = blockCounts
        var ne: [Int32] = []
        var t: Int64 = 0
        for (b, c) in blockCounts.enumerated() where c > 0 { ne.append(Int32(b)); t += Int64(c) }
        nonEmptyBlocks = ne
        total = t
        seed = config.seed
        streamKey = UInt64(filter.task ?? 0xffff) << 32 | UInt64(UInt32(bitPattern: filter.classID ?? -1))
        shuffleBlocks = config.shuffleBlocks
        bucketRun = config.bucketBatches * config.batchSize
        batchSize = config.batchSize
        rows = ExampleRows(taskCount: source.tasks.count)
    }

    private func layout(pass: Int64) {
        guard layoutPass != pass else { return }
        var order = nonEmptyBlocks
        order.keyedShuffle(CounterRandom.key(seed, Purpose.blockOrder.rawValue, streamKey, UInt64(pass)))
        windowBlocks.removeAll(keepingCapacity: true)
        windowStarts.removeAll(keepingCapacity: true)
        var start: Int64 = 0
        var w = 0
        while w * shuffleBlocks < order.count {
            let blocks = Array(order[(w * shuffleBlocks)..<Swift.min(order.count, (w + 1) * shuffleBlocks)]).sorted()
            windowBlocks.append(blocks)
            windowStarts.append(start)
            for b in blocks { start += Int64(blockCounts[Int(b)]) }
            w += 1
        }
        windowStarts.append(start)
        layoutPass = pass
    }

    private func load(pass: Int64, window w: Int) throws {
        rows.removeAll()
        for b in windowBlocks[w] { try source.read(block: Int(b), filter: filter, into: &rows) }
        let expected = windowStarts[w + 1] - windowStarts[w]
        guard rows.count == expected else {
            throw BatchingError(.data, "the store changed since the loader was opened: \(rows.count) examples where the index counted \(expected); reopen the loader")
        }
        perm = (0..<Int32(rows.count)).map { $0 }
        let wkey = CounterRandom.key(seed, Purpose.windowShuffle.rawValue, streamKey, UInt64(pass), UInt64(w))
        perm.keyedShuffle(wkey)
        if bucketRun > 1 {
            // Sort by length inside runs (ties keep the shuffled order), then shuffle the run's
            // batch-sized groups. Groups are cut at pass offsets that are multiples of the batch
            // size, where fixed-size batches of a pass that began on a batch boundary start;
            // partial groups at a run's ends stay in place.
            let phase = Int(windowStarts[w] % Int64(batchSize))
            var out: [Int32] = []
            out.reserveCapacity(perm.count)
            var runStart = 0
            var run = 0
            while runStart < perm.count {
                let end = Swift.min(perm.count, runStart + bucketRun)
                let sorted = perm[runStart..<end].enumerated().sorted { a, b in
                    let la = rows.length(Int(a.element)), lb = rows.length(Int(b.element))
                    return la != lb ? la < lb : a.offset < b.offset
                }.map(\.element)
                let head = Swift.min(sorted.count, (batchSize - (phase + runStart) % batchSize) % batchSize)
                let fullEnd = head + (sorted.count - head) / batchSize * batchSize
                var groups = stride(from: head, to: fullEnd, by: batchSize).map { $0 }
                groups.keyedShuffle(CounterRandom.key(wkey, Purpose.bucketShuffle.rawValue, UInt64(run)))
                out.append(contentsOf: sorted[0..<head])
                for g in groups { out.append(contentsOf: sorted[g..<(g + batchSize)]) }
                out.append(contentsOf: sorted[fullEnd...])
                runStart = end
                run += 1
            }
            perm = out
        }
        windowPass = pass
        window = w
    }

    /// The row (in `rows`) at the cursor, loading its window if needed.
    func current() throws -> Int {
        precondition(total > 0, "stream without examples")
        if cursor.offset >= total { cursor = StreamCursor(pass: cursor.pass + 1, offset: 0) }
        layout(pass: cursor.pass)
        if windowPass != cursor.pass || window < 0 || !(windowStarts[window]..<windowStarts[window + 1]).contains(cursor.offset) {
            // Binary search for the window holding the offset.
            var lo = 0, hi = windowStarts.count - 2
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if windowStarts[mid] <= cursor.offset { lo = mid } else { hi = mid - 1 }
            }
            try load(pass: cursor.pass, window: lo)
        }
        return Int(perm[Int(cursor.offset - windowStarts[window])])
    }

    func advance() {
        cursor.offset += 1
        if cursor.offset >= total { cursor = StreamCursor(pass: cursor.pass + 1, offset: 0) }
    }

    /// Starts a new pass unless the current one has not begun.
    func restartPass() {
        if cursor.offset > 0 { cursor = StreamCursor(pass: cursor.pass + 1, offset: 0) }
    }
}

extension ExampleRows {
    /// Appends row r of `other`.
    mutating func append(row r: Int, of other: ExampleRows) {
        exampleIDs.append(other.exampleIDs[r])
        tokens.append(contentsOf: other.tokens[Int(other.tokenStart[r])..<Int(other.tokenStart[r + 1])])
        tokenStart.append(Int32(tokens.count))
        let T = taskCount
        for t in 0..<T {
            let s = other.annStart[r * T + t]
            if s < 0 {
                annStart.append(-1); annCount.append(0)
            } else {
                let n = other.annCount[r * T + t]
                annStart.append(Int32(values.count)); annCount.append(n)
                values.append(contentsOf: other.values[Int(s)..<Int(s + n)])
            }
        }
    }
}
