/// SplitMix64's finalizer: a fixed, well-mixed 64-bit function of its input, identical
/// on every machine. Split positions come from it, so an example's part depends only on
/// (seed, its identity), never on row order or on which process computed it.
@inline(__always)
func mix64(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

@inline(__always)
func mix64(_ a: UInt64, _ b: UInt64) -> UInt64 { mix64(mix64(a) ^ b) }

/// A value in [0, 1) from 64 random bits (53 significant bits, exact in a Double).
@inline(__always)
func unitInterval(_ bits: UInt64) -> Double { Double(bits >> 11) * 0x1p-53 }
