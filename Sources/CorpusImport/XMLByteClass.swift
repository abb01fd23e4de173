/// Byte classes for `XMLSubsetParser`'s scanning loops: one table lookup per byte decides
/// whether the byte is plain (skip it) or needs a look (markup, line ends, references,
/// non-ASCII to validate, characters XML forbids). The byte 0 stops every loop: the parser's
/// buffer ends with zero bytes, so the loops need no bounds checks.
enum XMLByteClass {
    /// Ends plain character data: `<` `&` `>` (for `]]>`), CR, LF, other controls, non-ASCII.
    static let textStop: UInt8 = 1 << 0
    /// Ends plain attribute-value bytes: quotes, `<` `&`, TAB CR LF (normalized to spaces),
    /// other controls, non-ASCII.
    static let valueStop: UInt8 = 1 << 1
    /// Ends plain comment, PI and CDATA bytes: `-` `?` `]`, CR, LF, other controls, non-ASCII.
    static let markupStop: UInt8 = 1 << 2
    /// `[A-Za-z_]`: the ASCII name start characters (`:` is handled as the QName separator).
    static let nameStart: UInt8 = 1 << 3
    /// `[A-Za-z0-9._-]`: the ASCII name characters.
    static let nameChar: UInt8 = 1 << 4
    /// XML white space: space, TAB, CR, LF.
    static let space: UInt8 = 1 << 5

    static let table: [UInt8] = (0...255).map { classify(UInt8($0)) }

    /// `table` as the parser's loops read it: no bounds checks, no reference counting. Never
    /// freed (256 bytes for the process's lifetime).
    nonisolated(unsafe) static let pointer: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        p.initialize(from: table, count: 256)
        return UnsafePointer(p)
    }()

    static func isNameStart(_ b: UInt8) -> Bool { classify(b) & nameStart != 0 }
    static func isNameChar(_ b: UInt8) -> Bool { classify(b) & nameChar != 0 }

    private static func classify(_ b: UInt8) -> UInt8 {
        var c: UInt8 = 0
        let control = b < 0x20, nonASCII = b >= 0x80
        if control && b != 0x09 || nonASCII || b == UInt8(ascii: "<") || b == UInt8(ascii: "&") || b == UInt8(ascii: ">") {
            c |= textStop
        }
        if control || nonASCII || b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") || b == UInt8(ascii: "<") || b == UInt8(ascii: "&") {
            c |= valueStop
        }
        if control && b != 0x09 || nonASCII || b == UInt8(ascii: "-") || b == UInt8(ascii: "?") || b == UInt8(ascii: "]") {
            c |= markupStop
        }
        let letter = (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z")
        if letter || b == UInt8(ascii: "_") { c |= nameStart | nameChar }
        if (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: ".") || b == UInt8(ascii: "-") { c |= nameChar }
        if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { c |= space }
        return c
    }
}
