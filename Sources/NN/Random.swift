// MARK: - Counter-based RNG

/// SplitMix64: a counter-based generator. `value(at:)` is a pure function of (seed, counter), so
/// dropout masks and initialisations are reproducible regardless of call order or thread count.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The seed (key).
    public let seed: UInt64
    /// The counter of the next draw.
    public var counter: UInt64

    public init(seed: UInt64, counter: UInt64 = 0) { self.seed = seed; self.counter = counter }

    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The draw at `counter` without advancing.
    @inline(__always)
    public func value(at counter: UInt64) -> UInt64 {
        SplitMix64.mix(seed &* 0xD1B5_4A32_D192_ED03 ^ SplitMix64.mix(counter))
    }

    public mutating func next() -> UInt64 {
        let v = value(at: counter)
        counter &+= 1
        return v
    }

    /// Uniform in [0, 1).
    public mutating func nextUniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Standard normal (Box–Muller).
    public mutating func nextNormal() -> Float {
        let u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) + 1e-300
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * Math.logD(u1)).squareRoot() * Math.cosD(2 * Double.pi * u2))
    }

    /// A generator for a named sub-stream, independent of this one.
    public func derived(_ tag: UInt64) -> SplitMix64 { SplitMix64(seed: SplitMix64.mix(seed ^ SplitMix64.mix(tag &+ 0x1234_5678))) }

    /// A derived stream keyed by a string (e.g. a parameter name).
    public func derived(_ tag: String) -> SplitMix64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in tag.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return derived(h)
    }
}

// MARK: - Initialisers

extension Tensor {
    /// Fills with U(-a, a).
    public func fillUniform(_ a: Float, rng: inout SplitMix64) {
        for i in 0..<count { data[i] = (rng.nextUniform() * 2 - 1) * a }
    }
    /// Fills with N(0, std²).
    public func fillNormal(std: Float, rng: inout SplitMix64) {
        for i in 0..<count { data[i] = rng.nextNormal() * std }
    }
}
