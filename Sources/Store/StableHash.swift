/// Deterministic 64-bit hashes (FNV-1a), identical in every process and on every machine,
/// unlike Swift's seeded `Hasher`. Used for `examples.norm_hash`.
public enum StableHash {
    /// FNV-1a 64 of `bytes`, as a signed value ready for an SQLite INTEGER column.
    public static func fnv1a64<C: Sequence>(_ bytes: C) -> Int64 where C.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return Int64(bitPattern: h)
    }

    /// FNV-1a 64 of contiguous bytes (the fast path: no per-byte iterator).
    public static func fnv1a64(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return Int64(bitPattern: h)
    }

    /// FNV-1a 64 of the UTF-8 of `text`.
    public static func fnv1a64(_ text: String) -> Int64 {
        var text = text
        return text.withUTF8 { fnv1a64($0) }
    }
}
