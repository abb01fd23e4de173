// Counter-based randomness: every draw is a pure function of (seed, purpose, counters), so a
// sampler's state is a counter and any draw can be recomputed without replaying the ones
// before it (design.md, "Loader without replay").

/// Keyed hashing in the SplitMix64 style: `CounterRandom.key(seed, a, b, …)` folds words into a
/// 64-bit key; `uniform(key)` maps it to [0, 1).
public enum CounterRandom {
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A key derived from a seed and any number of counters (order matters).
    @inline(__always)
    public static func key(_ seed: UInt64, _ words: UInt64...) -> UInt64 {
        var h = mix(seed ^ 0x6A09_E667_F3BC_C908)
        for w in words { h = mix(h ^ mix(w &+ 0x3C6E_F372_FE94_F82B)) }
        return h
    }

    /// A double in [0, 1) from 53 bits of the key.
    @inline(__always)
    public static func uniform(_ key: UInt64) -> Double {
        Double(mix(key) >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
}

/// Purposes, so that draws for different decisions never share a key.
enum Purpose: UInt64 {
    case task = 1, classPick = 2, blockOrder = 3, windowShuffle = 4, bucketShuffle = 5
}

/// A generator over a key's counter stream, for shuffles (`Array.shuffle(using:)` is not
/// specified to be stable across Swift versions, so shuffles are our own Fisher–Yates).
struct KeyedGenerator {
    let key: UInt64
    var counter: UInt64 = 0
    init(key: UInt64) { self.key = key }
    @inline(__always)
    mutating func next() -> UInt64 {
        counter &+= 1
        return CounterRandom.mix(key ^ CounterRandom.mix(counter))
    }
    /// Uniform in 0..<n (n > 0), by Lemire's multiply-shift (bias < n / 2^64).
    @inline(__always)
    mutating func below(_ n: Int) -> Int {
        Int(next().multipliedFullWidth(by: UInt64(n)).high)
    }
}

extension MutableCollection where Self: RandomAccessCollection, Index == Int {
    /// Fisher–Yates with a keyed generator: the same key always gives the same order.
    mutating func keyedShuffle(_ key: UInt64) {
        guard count > 1 else { return }
        var g = KeyedGenerator(key: key)
        var i = endIndex - 1
        while i > startIndex {
            let j = startIndex + g.below(i - startIndex + 1)
            if i != j { swapAt(i, j) }
            i -= 1
        }
    }
}

/// FNV-1a 64 over bytes: the stable fingerprint of batches and configurations.
struct FNV64 {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    @inline(__always)
    mutating func add<T: FixedWidthInteger>(_ x: T) {
        var v = x.littleEndian
        withUnsafeBytes(of: &v) { for b in $0 { value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01B3 } }
    }
    mutating func add<T: FixedWidthInteger>(_ xs: [T]) { for x in xs { add(x) } }
    mutating func add(_ s: String) { for b in s.utf8 { add(b) }; add(UInt8(0xff)) }
    mutating func add(_ d: Double) { add(d.bitPattern) }
}
