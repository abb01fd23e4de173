import Store

/// The dev or test part of the source's split and fold, in example-id order, in batches of
/// `config.batchSize` (or within `config.maxTokens`), one block read at a time. Every example
/// that carries a label for at least one of the loader's tasks appears exactly once.
///
/// ```swift
/// let dev = EvalBatches(source: source, part: .dev, config: config)
/// while let batch = try dev.next() { … }
/// ```
public final class EvalBatches {
    public let source: ExampleSource
    public let part: SplitPart
    public let config: LoaderConfig
    private var block = 0
    private var rows: ExampleRows
    private var row = 0
    private var staging: ExampleRows
    private var step = 0

    public init(source: ExampleSource, part: SplitPart, config: LoaderConfig) {
        self.source = source
        self.part = part
        self.config = config
        rows = ExampleRows(taskCount: source.tasks.count)
        staging = ExampleRows(taskCount: source.tasks.count)
    }

    /// The next batch, nil at the end of the part.
    public func next() throws -> Batch? {
        staging.removeAll()
        var maxLen = 0
        while staging.count < config.batchSize {
            while row >= rows.count {
                guard block < source.index.blockCount else { break }
                rows.removeAll()
                row = 0
                try source.read(block: block, filter: RowFilter(part: part), into: &rows)
                block += 1
            }
            guard row < rows.count else { break }
            let len = Swift.max(maxLen, rows.length(row))
            if let budget = config.maxTokens, staging.count > 0, (staging.count + 1) * len > budget { break }
            maxLen = len
            staging.append(row: row, of: rows)
            row += 1
        }
        guard staging.count > 0 else { return nil }
        defer { step += 1 }
        return Batch.build(rows: staging, drawnFor: [Int32](repeating: -1, count: staging.count), tasks: source.tasks,
                           padID: source.padID, allTaskTargets: true, step: step, epoch: 0, endsEpoch: false, task: nil)
    }
}
