import Store

/// A task as the loader sees it: its position in the loader's task order, its store id,
/// kind and label names.
public struct TaskInfo: Sendable, Hashable, Codable {
    public var name: String
    public var storeID: Int64
    public var kind: TaskKind
    public var labels: [String]
    public var labelCount: Int { labels.count }
}

/// Per-block counts of training examples, per task (and per class of classification tasks
/// when class-balanced sampling needs them): all a loader keeps about the store. Its size is
/// (#blocks × counters) — one small integer per `blockSize` examples — never per example.
public struct BlockIndex: Sendable, Hashable {
    /// The id of the first example of block 0; block b holds ids
    /// `firstID + b·blockSize ... firstID + (b+1)·blockSize − 1`.
    public var firstID: Int64
    public var blockSize: Int
    public var blockCount: Int
    /// Training examples per task and block: `taskBlocks[t][b]`.
    public var taskBlocks: [[Int32]]
    /// Training examples per task, class and block (classification tasks, when built with
    /// classes): `classBlocks[t][c][b]`; empty otherwise.
    public var classBlocks: [[[Int32]]]
    /// Training examples per task.
    public var taskTotals: [Int64]
    /// Training examples per task and class (classification tasks; empty for other kinds).
    public var classTotals: [[Int64]]

    /// The inclusive example-id range of block b.
    public func range(ofBlock b: Int) -> ClosedRange<Int64> {
        let lo = firstID + Int64(b) * Int64(blockSize)
        return lo...(lo + Int64(blockSize) - 1)
    }
}

/// Which rows a block read keeps.
public struct RowFilter: Sendable, Hashable {
    /// The part (in the chosen fold) the examples must be in.
    public var part: SplitPart
    /// A task index the examples must carry (nil: any of the loader's tasks).
    public var task: Int?
    /// A class the examples must have for `task` (classification tasks).
    public var classID: Int32?
    public init(part: SplitPart, task: Int? = nil, classID: Int32? = nil) {
        self.part = part; self.task = task; self.classID = classID
    }
}

/// Examples as flat arrays (no per-example allocation): what a block read appends to and a
/// batch is cut from. Tokens and tags are already truncated to the loader's maximum length.
public struct ExampleRows: Sendable {
    public let taskCount: Int
    public var exampleIDs: [Int64] = []
    /// Row r's tokens are `tokens[tokenStart[r] ..< tokenStart[r + 1]]`.
    public var tokenStart: [Int32] = [0]
    public var tokens: [Int32] = []
    /// Row r's value for task t is `values[annStart[r·T + t] ..< +annCount[r·T + t]]`;
    /// `annStart` is -1 when the example has no label for the task.
    public var annStart: [Int32] = []
    public var annCount: [Int32] = []
    public var values: [Int32] = []

    public init(taskCount: Int) { self.taskCount = taskCount }
    public var count: Int { exampleIDs.count }
    @inline(__always) public func length(_ r: Int) -> Int { Int(tokenStart[r + 1] - tokenStart[r]) }
    @inline(__always) public func has(_ r: Int, task t: Int) -> Bool { annStart[r * taskCount + t] >= 0 }
    /// The first id of row r's value for task t (a classification task's class).
    @inline(__always) public func firstValue(_ r: Int, task t: Int) -> Int32 { values[Int(annStart[r * taskCount + t])] }

    public mutating func removeAll() {
        exampleIDs.removeAll(keepingCapacity: true)
        tokenStart.removeAll(keepingCapacity: true); tokenStart.append(0)
        tokens.removeAll(keepingCapacity: true)
        annStart.removeAll(keepingCapacity: true); annCount.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
    }
}

/// Where a loader's examples come from. The store is one implementation; a source over
/// several stores (sharded imports) can be another, as long as its example ids, block
/// index and reads agree.
public protocol ExampleSource: AnyObject {
    /// The loader's tasks, in target order.
    var tasks: [TaskInfo] { get }
    var index: BlockIndex { get }
    /// The padding token id.
    var padID: Int32 { get }
    /// A string that changes when the source's contents do (store path, vocabulary, split,
    /// fold, counts): part of a `LoaderState`'s fingerprint.
    var identity: String { get }
    /// Appends the rows of block `b` that pass `filter`, in example-id order.
    func read(block b: Int, filter: RowFilter, into rows: inout ExampleRows) throws
}
