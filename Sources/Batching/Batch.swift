import Store

/// One task's targets in a batch, aligned with the batch's rows (and tokens).
public struct TaskTargets: Sendable, Hashable {
    public var task: String
    public var kind: TaskKind
    /// Rows that carry a label for this task `[B]` (the loss masks the others).
    public var mask: [Bool]
    /// Classification: the class id per row `[B]`, -1 where `mask` is false.
    public var classes: [Int32] = []
    /// Multilabel: multi-hot `[B × labelCount]` (0 or 1; rows without a label are all 0).
    public var multiHot: [Float] = []
    public var labelCount: Int
    /// Tagging / spans: one tag id per token `[B × T]`, -1 at padding and on rows without a label.
    public var tags: [Int32] = []
    /// Seq2seq: the target's label ids per row `[B][n_r]` (empty on rows without a label).
    public var sequences: [[Int32]] = []
    /// Regression: the value per row `[B]` (0 on rows without one).
    public var values: [Float] = []

    /// Rows with a label.
    public var present: Int { mask.reduce(0) { $0 + ($1 ? 1 : 0) } }

    public init(task: String, kind: TaskKind, mask: [Bool], classes: [Int32] = [], multiHot: [Float] = [], labelCount: Int, tags: [Int32] = []) {
        self.task = task; self.kind = kind; self.mask = mask; self.classes = classes; self.multiHot = multiHot
        self.labelCount = labelCount; self.tags = tags
    }
}

/// A batch, as the model takes it: padded token ids, lengths, and for every task its
/// targets aligned to the same rows, with a presence mask.
///
/// ```swift
/// let b = try loader.next()
/// // b.tokenIDs: [b.size × b.paddedLength], padded with the vocabulary's <pad> id
/// let sentiment = b.targets[0]            // loader task order
/// let loss = try SoftmaxCrossEntropy()(logits: z, targets: sentiment.classes, mask: sentiment.mask)
/// ```
public struct Batch: Sendable, Hashable {
    /// 0-based index of this batch since the loader started (counting restored runs).
    public var step: Int
    /// 0-based loader epoch.
    public var epoch: Int
    /// True when this batch completes its epoch.
    public var endsEpoch: Bool
    /// The task every row was drawn for (homogeneous batches); nil for mixed batches and
    /// evaluation batches.
    public var task: Int?
    /// B.
    public var size: Int
    /// T: the longest (truncated) length in the batch.
    public var paddedLength: Int
    /// `[B × T]`, row-major.
    public var tokenIDs: [Int32]
    /// `[B]`.
    public var lengths: [Int32]
    /// `[B]`: the store's example ids, for tracing.
    public var exampleIDs: [Int64]
    /// `[B]`: the task whose stream each row was drawn from (-1 for evaluation batches).
    public var drawnFor: [Int32]
    /// One entry per loader task, in the loader's task order.
    public var targets: [TaskTargets]

    /// A batch made outside a loader (benchmarks, tests, prediction).
    public init(step: Int = 0, epoch: Int = 0, endsEpoch: Bool = false, task: Int? = nil, size: Int, paddedLength: Int,
                tokenIDs: [Int32], lengths: [Int32], exampleIDs: [Int64], drawnFor: [Int32], targets: [TaskTargets]) {
        self.step = step; self.epoch = epoch; self.endsEpoch = endsEpoch; self.task = task; self.size = size
        self.paddedLength = paddedLength; self.tokenIDs = tokenIDs; self.lengths = lengths; self.exampleIDs = exampleIDs
        self.drawnFor = drawnFor; self.targets = targets
    }

    /// A stable 64-bit hash of everything in the batch (FNV-1a; equal across runs and machines).
    public var fingerprint: UInt64 {
        var h = FNV64()
        h.add(Int64(step)); h.add(Int64(epoch)); h.add(UInt8(endsEpoch ? 1 : 0)); h.add(Int64(task ?? -1))
        h.add(Int64(size)); h.add(Int64(paddedLength))
        h.add(tokenIDs); h.add(lengths); h.add(exampleIDs); h.add(drawnFor)
        for t in targets {
            h.add(t.task); h.add(t.mask.map { UInt8($0 ? 1 : 0) }); h.add(t.classes)
            h.add(t.multiHot.map { $0.bitPattern }); h.add(t.tags)
            for q in t.sequences { h.add(Int64(q.count)); h.add(q) }
            h.add(t.values.map { Int32(bitPattern: $0.bitPattern) })
        }
        return h.value
    }
}

extension Batch {
    /// Builds a batch from staged rows.
    static func build(rows: ExampleRows, drawnFor: [Int32], tasks: [TaskInfo], padID: Int32, allTaskTargets: Bool,
                      step: Int, epoch: Int, endsEpoch: Bool, task: Int?) -> Batch {
        let B = rows.count, TT = tasks.count
        var T = 0
        for r in 0..<B { T = Swift.max(T, rows.length(r)) }
        var tokenIDs = [Int32](repeating: padID, count: B * T)
        var lengths = [Int32](repeating: 0, count: B)
        for r in 0..<B {
            let s = Int(rows.tokenStart[r]), n = rows.length(r)
            lengths[r] = Int32(n)
            for k in 0..<n { tokenIDs[r * T + k] = rows.tokens[s + k] }
        }
        var targets: [TaskTargets] = []
        targets.reserveCapacity(TT)
        for (t, info) in tasks.enumerated() {
            var tt = TaskTargets(task: info.name, kind: info.kind, mask: [Bool](repeating: false, count: B), labelCount: info.labelCount)
            switch info.kind {
            case .classification: tt.classes = [Int32](repeating: -1, count: B)
            case .multilabel: tt.multiHot = [Float](repeating: 0, count: B * info.labelCount)
            case .tagging, .spans: tt.tags = [Int32](repeating: -1, count: B * T)
            case .seq2seq: tt.sequences = Array(repeating: [], count: B)
            case .regression: tt.values = [Float](repeating: 0, count: B)
            }
            for r in 0..<B {
                let s = rows.annStart[r * TT + t]
                guard s >= 0, allTaskTargets || drawnFor[r] == Int32(t) || drawnFor[r] < 0 else { continue }
                let n = Int(rows.annCount[r * TT + t]), s0 = Int(s)
                tt.mask[r] = true
                switch info.kind {
                case .classification: tt.classes[r] = rows.values[s0]
                case .multilabel: for k in 0..<n { tt.multiHot[r * info.labelCount + Int(rows.values[s0 + k])] = 1 }
                case .tagging, .spans: for k in 0..<n { tt.tags[r * T + k] = rows.values[s0 + k] }
                case .seq2seq: tt.sequences[r] = Array(rows.values[s0..<(s0 + n)])
                case .regression: tt.values[r] = Float(bitPattern: UInt32(bitPattern: rows.values[s0]))
                }
            }
            targets.append(tt)
        }
        return Batch(step: step, epoch: epoch, endsEpoch: endsEpoch, task: task, size: B, paddedLength: T, tokenIDs: tokenIDs,
                     lengths: lengths, exampleIDs: rows.exampleIDs, drawnFor: drawnFor, targets: targets)
    }
}

extension Batch {
    /// The rows of this (global) batch that process `rank` of `count` trains on: rows r with
    /// r mod count = rank, so that every rank cuts the same global batch — the same task, the
    /// same examples and sampling decisions one process would make — into disjoint parts, and
    /// their union is the batch. Padded to the shard's own longest row.
    public func shard(rank: Int, of count: Int) -> Batch {
        precondition(count >= 1 && rank >= 0 && rank < count, "rank \(rank) of \(count)")
        guard count > 1 else { return self }
        let rows = Array(stride(from: rank, to: size, by: count))
        let T = rows.map { Int(lengths[$0]) }.max() ?? 0
        // Padding positions keep the batch's pad id: each row's own padding is copied with it.
        var ids = [Int32](repeating: 0, count: rows.count * T)
        for (i, r) in rows.enumerated() {
            for k in 0..<T { ids[i * T + k] = tokenIDs[r * paddedLength + k] }
        }
        let targets = self.targets.map { t -> TaskTargets in
            var s = TaskTargets(task: t.task, kind: t.kind, mask: rows.map { t.mask[$0] }, labelCount: t.labelCount)
            if !t.classes.isEmpty { s.classes = rows.map { t.classes[$0] } }
            if !t.multiHot.isEmpty { s.multiHot = rows.flatMap { t.multiHot[($0 * t.labelCount)..<(($0 + 1) * t.labelCount)] } }
            if !t.tags.isEmpty { s.tags = rows.flatMap { r in (0..<T).map { t.tags[r * paddedLength + $0] } } }
            if !t.sequences.isEmpty { s.sequences = rows.map { t.sequences[$0] } }
            if !t.values.isEmpty { s.values = rows.map { t.values[$0] } }
            return s
        }
        return Batch(step: step, epoch: epoch, endsEpoch: endsEpoch, task: task, size: rows.count, paddedLength: T,
                     tokenIDs: ids, lengths: rows.map { lengths[$0] }, exampleIDs: rows.map { exampleIDs[$0] },
                     drawnFor: rows.map { drawnFor[$0] }, targets: targets)
    }
}
