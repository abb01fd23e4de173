/// A hash table from byte strings to dense entry indices, with a count per entry.
///
/// Written by hand because counting tens of millions of tokens is the vocabulary's whole
/// cost: keys are hashed straight from the SQLite blob's bytes (no `String` per token, no
/// Unicode-aware hashing or comparison) and stored once in one arena.
struct ByteKeyTable {
    private var slots: [Int32]
    private var mask: Int
    private(set) var hashes: [UInt64] = []
    private(set) var starts: [Int32] = []
    private(set) var lengths: [Int32] = []
    private(set) var arena: [UInt8] = []
    var counts: [Int64] = []

    init(capacity: Int = 1 << 14) {
        var c = 16
        while c < capacity * 2 { c <<= 1 }
        slots = [Int32](repeating: -1, count: c)
        mask = c - 1
    }

    var count: Int { counts.count }

    @inline(__always)
    static func hash(_ b: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(b.count)
        var i = 0
        while i + 8 <= b.count {
            h = (h ^ b.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
            i += 8
        }
        if i < b.count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < b.count { tail |= UInt64(b[i]) << shift; shift += 8; i += 1 }
            h = (h ^ tail) &* 0x9E37_79B9_7F4A_7C15
        }
        h ^= h >> 32
        h &*= 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }

    @inline(__always)
    private func equal(_ e: Int, _ b: UnsafeRawBufferPointer) -> Bool {
        guard Int(lengths[e]) == b.count else { return false }
        if b.count == 0 { return true }
        return arena.withUnsafeBytes { a in memcmp(a.baseAddress! + Int(starts[e]), b.baseAddress!, b.count) == 0 }
    }

    /// The entry of `key`, or nil.
    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer) -> Int? {
        let h = Self.hash(key)
        var s = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[s])
            if e < 0 { return nil }
            if hashes[e] == h && equal(e, key) { return e }
            s = (s + 1) & mask
        }
    }

    /// Adds `n` to the count of `key` (inserting it), returning its entry.
    @inline(__always)
    @discardableResult
    mutating func add(_ key: UnsafeRawBufferPointer, _ n: Int64 = 1) -> Int {
        let h = Self.hash(key)
        var s = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[s])
            if e < 0 { break }
            if hashes[e] == h && equal(e, key) { counts[e] += n; return e }
            s = (s + 1) & mask
        }
        let e = counts.count
        slots[s] = Int32(e)
        hashes.append(h); starts.append(Int32(arena.count)); lengths.append(Int32(key.count)); counts.append(n)
        arena.append(contentsOf: key)
        if counts.count * 2 > slots.count { grow() }
        return e
    }

    private mutating func grow() {
        let c = slots.count * 2
        slots = [Int32](repeating: -1, count: c)
        mask = c - 1
        for e in 0..<counts.count {
            var s = Int(truncatingIfNeeded: hashes[e]) & mask
            while slots[s] >= 0 { s = (s + 1) & mask }
            slots[s] = Int32(e)
        }
    }

    /// The bytes of entry `e`.
    func withKey<R>(_ e: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try arena.withUnsafeBytes { a in
            try body(UnsafeRawBufferPointer(rebasing: a[Int(starts[e])..<(Int(starts[e]) + Int(lengths[e]))]))
        }
    }

    func key(_ e: Int) -> String { withKey(e) { String(decoding: $0, as: UTF8.self) } }

    /// Byte-wise (= code point) order of two entries' keys, as Python sorts `str`.
    func keyLess(_ a: Int, _ b: Int) -> Bool {
        arena.withUnsafeBytes { p in
            let la = Int(lengths[a]), lb = Int(lengths[b])
            let c = memcmp(p.baseAddress! + Int(starts[a]), p.baseAddress! + Int(starts[b]), min(la, lb))
            return c != 0 ? c < 0 : la < lb
        }
    }

    /// Adds every entry of `other` (with its count).
    mutating func merge(_ other: ByteKeyTable) {
        for e in 0..<other.count { other.withKey(e) { _ = add($0, other.counts[e]) } }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
