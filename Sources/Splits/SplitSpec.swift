import Store

/// What a split is made of: its kind, parts, seed, and how examples are kept together.
///
/// ```swift
/// let spec = try SplitSpec(kind: .kfold(folds: 5, test: 0.1), seed: 7, stratify: ["topic", "sentiment"])
/// ```
public struct SplitSpec: Sendable, Hashable, Codable {
    public enum Kind: Sendable, Hashable, Codable {
        /// train/dev/test ratios (≥ 0, summing to 1) for the examples without a predefined part.
        case ratio(train: Double, dev: Double, test: Double)
        /// A held-out test share (0 for none), then `folds` folds over the rest.
        case kfold(folds: Int, test: Double)
    }

    /// What, besides identical normalized texts (always), keeps examples in one part.
    public enum Grouping: String, Sendable, Hashable, Codable, CaseIterable {
        /// Only exact duplicates of the normalized text.
        case none
        /// `examples.group_key`, the field named by the import mapping's `group`.
        case key
        /// The source file: all examples of a file stay together.
        case source
    }

    public var kind: Kind
    public var seed: UInt64
    /// Tasks (classification or multilabel) whose joint label proportions every part keeps.
    public var stratify: [String]
    public var grouping: Grouping

    public init(kind: Kind, seed: UInt64 = 0, stratify: [String] = [], grouping: Grouping = .none) throws(SplitError) {
        switch kind {
        case .ratio(let a, let b, let c):
            for r in [a, b, c] where !(r >= 0 && r <= 1) {
                throw SplitError("ratio \(r) is not between 0 and 1")
            }
            guard abs(a + b + c - 1) < 1e-6 else {
                throw SplitError("ratios \(a),\(b),\(c) sum to \(a + b + c), not 1")
            }
        case .kfold(let k, let test):
            guard k >= 2 else { throw SplitError("--kfold \(k): K must be at least 2") }
            guard test >= 0 && test < 1 else { throw SplitError("held-out test share \(test) must be in [0, 1)") }
        }
        self.kind = kind; self.seed = seed; self.stratify = stratify; self.grouping = grouping
    }

    /// K, or 0 for a ratio split.
    public var folds: Int { if case .kfold(let k, _) = kind { return k }; return 0 }

    /// The parameters as canonical JSON (stored in `splits.params_json`).
    public var json: String {
        var fields: [String] = []
        switch kind {
        case .ratio(let a, let b, let c): fields.append("\"kind\":\"ratio\",\"ratios\":[\(a),\(b),\(c)]")
        case .kfold(let k, let t): fields.append("\"kind\":\"kfold\",\"folds\":\(k),\"test\":\(t)")
        }
        fields.append("\"seed\":\(seed)")
        fields.append("\"stratify\":[" + stratify.map { jsonString($0) }.joined(separator: ",") + "]")
        fields.append("\"group\":\"\(grouping.rawValue)\"")
        fields.append("\"duplicates\":\"grouped\"")
        return "{" + fields.joined(separator: ",") + "}"
    }
}

/// The one error type of `Splits`: what is wrong, in words a user can act on.
public struct SplitError: Error, Sendable, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
