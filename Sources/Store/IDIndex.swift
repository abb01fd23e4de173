/// Example-id → index lookup for sorted ids: a dense table when the ids are mostly
/// contiguous (the usual case), binary search otherwise.
public struct IDIndex: Sendable {
    private let ids: [Int64]
    private let base: Int64
    private let table: [Int32]

    public init(sortedIDs ids: [Int64]) {
        self.ids = ids
        if let first = ids.first, let last = ids.last, last - first < Int64(4 * ids.count + 1024) {
            base = first
            var t = [Int32](repeating: -1, count: Int(last - first + 1))
            for (i, id) in ids.enumerated() { t[Int(id - first)] = Int32(i) }
            table = t
        } else {
            base = 0; table = []
        }
    }

    /// The index of `id`, or nil when absent.
    @inline(__always)
    public func index(of id: Int64) -> Int? {
        if !table.isEmpty {
            let o = id - base
            guard o >= 0 && o < Int64(table.count) else { return nil }
            let i = table[Int(o)]
            return i < 0 ? nil : Int(i)
        }
        var lo = 0, hi = ids.count
        while lo < hi { let m = (lo + hi) / 2; if ids[m] < id { lo = m + 1 } else { hi = m } }
        return lo < ids.count && ids[lo] == id ? lo : nil
    }
}
