/// An error of the text pipeline: a bad spec (naming the offending part), invalid UTF-8
/// (with its byte offset), or a failure reported by ICU.
public struct TextError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A normalizer or tokenizer spec that cannot be used; `part` is the offending piece.
        case badSpec(spec: String, part: String)
        /// Bytes that are not UTF-8; the offset counts bytes from the start of the text.
        case invalidUTF8(byteOffset: Int)
        /// A single text longer than ``TextProcessor/maximumTextBytes``.
        case tooLong(bytes: Int)
        /// ICU failed on valid input (out of memory, missing data, a regex giving up).
        case icu
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static func badSpec(_ spec: String, _ part: String, _ reason: String) -> TextError {
        TextError(.badSpec(spec: spec, part: part), "\(reason) in spec '\(spec)'")
    }
}
