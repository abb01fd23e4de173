import Batching
import NN
import Store

/// A `Batch` in the shape the model core takes, built in one place.
///
/// Examples with zero tokens (importable with `--allow-empty-text`) never reach the encoder:
/// `PackedLayout` needs at least one token per sequence, and a pad token would let the model
/// read something that is not there. They are left out of the packed layout; their pooled
/// vector is all zeros (pooling over nothing), so sequence-level heads still predict for them
/// from their biases, and token-level tasks have no tokens to predict. `emptyRows` counts them.
public struct ModelInput {
    /// The batch size B (every row, empty or not).
    public let size: Int
    /// Rows with at least one token, in batch order; row `encodedRows[i]` of the batch is
    /// sequence i of `layout`.
    public let encodedRows: [Int]
    /// The packed layout of the non-empty rows; nil when every row is empty.
    public let layout: PackedLayout?
    /// Padded ids `[encodedRows.count × T]` of the non-empty rows.
    public let tokenIDs: [Int32]
    /// Rows without tokens.
    public var emptyRows: Int { size - encodedRows.count }
    /// One entry per loader task, in the loader's task order.
    public let targets: [TaskInput]

    /// One task's targets, aligned with what its head sees.
    public enum TaskInput {
        /// Class per batch row (`-1` where absent) and presence `[B]`.
        case classes([Int32], mask: [Bool])
        /// Multi-hot `[B × labels]` and presence `[B]`.
        case multiHot([Float], mask: [Bool])
        /// Tag per packed token row of `layout`, presence per sequence of `layout` (rows of
        /// `encodedRows`), and the rows' presence per packed token (for per-token losses).
        case tags(packed: [Int32], sequenceMask: [Bool], tokenMask: [Bool])
        /// Seq2seq: the target's store label ids per batch row (empty where absent) and
        /// presence `[B]`.
        case sequences([[Int32]], mask: [Bool])
        /// Regression: the value per batch row and presence `[B]`.
        case values([Float], mask: [Bool])
        /// The task has no example in this batch (or only empty ones for a token task).
        case absent

        /// Whether any row carries a label.
        public var isPresent: Bool {
            switch self {
            case .classes(_, let m), .multiHot(_, let m): return m.contains(true)
            case .tags(_, let m, _), .sequences(_, let m), .values(_, let m): return m.contains(true)
            case .absent: return false
            }
        }
    }

    public init(batch: Batch) throws {
        size = batch.size
        var rows: [Int] = []
        rows.reserveCapacity(batch.size)
        for r in 0..<batch.size where batch.lengths[r] > 0 { rows.append(r) }
        encodedRows = rows
        let T = batch.paddedLength
        if rows.count == batch.size {
            tokenIDs = batch.tokenIDs
        } else {
            var ids = [Int32]()
            ids.reserveCapacity(rows.count * T)
            for r in rows { ids.append(contentsOf: batch.tokenIDs[(r * T)..<((r + 1) * T)]) }
            tokenIDs = ids
        }
        let layout = rows.isEmpty ? nil : try PackedLayout(lengths: rows.map { batch.lengths[$0] }, paddedLength: T)
        self.layout = layout
        var targets: [TaskInput] = []
        for t in batch.targets {
            switch t.kind {
            case .classification:
                targets.append(t.mask.contains(true) ? .classes(t.classes, mask: t.mask) : .absent)
            case .multilabel:
                targets.append(t.mask.contains(true) ? .multiHot(t.multiHot, mask: t.mask) : .absent)
            case .regression:
                targets.append(t.mask.contains(true) ? .values(t.values, mask: t.mask) : .absent)
            case .seq2seq:
                // Rows without tokens have no memory to attend to: their targets are left out.
                let usable = t.mask.indices.contains { t.mask[$0] && batch.lengths[$0] > 0 }
                targets.append(usable ? .sequences(t.sequences, mask: t.mask.indices.map { t.mask[$0] && batch.lengths[$0] > 0 }) : .absent)
            case .tagging, .spans:
                guard let layout else { targets.append(.absent); continue }
                let sequenceMask = rows.map { t.mask[$0] }
                guard sequenceMask.contains(true) else { targets.append(.absent); continue }
                var padded = [Int32]()
                padded.reserveCapacity(rows.count * T)
                for r in rows { padded.append(contentsOf: t.tags[(r * T)..<((r + 1) * T)]) }
                var packed = try layout.pack(padded)
                let tokenMask = layout.perRow(sequenceMask)
                // Rows without this task's label carry -1 tags; the losses skip them by mask, but
                // a valid id keeps every consumer's range checks simple.
                for i in packed.indices where !tokenMask[i] { packed[i] = 0 }
                targets.append(.tags(packed: packed, sequenceMask: sequenceMask, tokenMask: tokenMask))
            }
        }
        self.targets = targets
    }
}
