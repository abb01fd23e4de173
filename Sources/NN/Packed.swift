// MARK: - Packed sequences

/// The layout of a padded batch `[B×T]` packed by time step, like PyTorch's `PackedSequence`.
///
/// Sequences are ranked by length (longest first, ties by batch index). Time step `t` holds the
/// `batchSizes[t]` sequences still running, at rows `offsets[t] ..< offsets[t] + batchSizes[t]`, so
/// padding is never stored or computed: it cannot influence outputs or gradients.
public struct PackedLayout: Sendable, Equatable {
    /// Batch size B.
    public let batch: Int
    /// Padded length T of the source `[B×T]` arrays.
    public let paddedLength: Int
    /// Length of each sequence, in batch order.
    public let lengths: [Int]
    /// `order[i]` is the batch index of rank i (longest first).
    public let order: [Int]
    /// `rank[b]` is the rank of batch index b.
    public let rank: [Int]
    /// Number of running sequences at each time step (non-increasing).
    public let batchSizes: [Int]
    /// First packed row of each time step; `offsets[steps]` is the token count.
    public let offsets: [Int]

    /// Number of time steps (the longest length).
    public var steps: Int { batchSizes.count }
    /// Number of packed rows (real tokens).
    public var tokenCount: Int { offsets[steps] }

    /// Builds the layout for lengths in batch order; each length must be in `1...paddedLength`.
    public init(lengths: [Int32], paddedLength: Int) throws(NNError) {
        guard !lengths.isEmpty else { throw .invalidArgument(where: "PackedLayout", message: "empty batch") }
        var ls = [Int]()
        ls.reserveCapacity(lengths.count)
        for (b, l) in lengths.enumerated() {
            guard l >= 1 && Int(l) <= paddedLength else {
                throw .invalidArgument(where: "PackedLayout", message: "length \(l) of sequence \(b) is outside 1...\(paddedLength)")
            }
            ls.append(Int(l))
        }
        batch = ls.count
        self.paddedLength = paddedLength
        self.lengths = ls
        let o = ls.indices.sorted { ls[$0] != ls[$1] ? ls[$0] > ls[$1] : $0 < $1 }
        order = o
        var r = [Int](repeating: 0, count: ls.count)
        for (i, b) in o.enumerated() { r[b] = i }
        rank = r
        let steps = ls[o[0]]
        var sizes = [Int](repeating: 0, count: steps)
        for l in ls { for t in 0..<l { sizes[t] += 1 } }
        batchSizes = sizes
        var off = [Int](repeating: 0, count: steps + 1)
        for t in 0..<steps { off[t + 1] = off[t] + sizes[t] }
        offsets = off
    }

    /// Packed row of sequence `b` (batch order) at time `t < lengths[b]`.
    @inline(__always) public func row(batch b: Int, time t: Int) -> Int { offsets[t] + rank[b] }

    /// Packs a `[B×T]` per-token array (e.g. tag ids) into packed row order.
    public func pack<T>(_ values: [T]) throws(NNError) -> [T] {
        guard values.count == batch * paddedLength else {
            throw .shapeMismatch(where: "PackedLayout.pack", expected: [batch, paddedLength], got: [values.count])
        }
        var out = [T]()
        out.reserveCapacity(tokenCount)
        for t in 0..<steps { for i in 0..<batchSizes[t] { out.append(values[order[i] * paddedLength + t]) } }
        return out
    }

    /// Expands a per-sequence array (batch order) to one value per packed row.
    public func perRow<T>(_ values: [T]) -> [T] {
        var out = [T]()
        out.reserveCapacity(tokenCount)
        for t in 0..<steps { for i in 0..<batchSizes[t] { out.append(values[order[i]]) } }
        return out
    }
}
