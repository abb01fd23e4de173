import Foundation

/// Per-class loss weights from training counts, for the trainer's loss
/// (`SoftmaxCrossEntropy(classWeights:)`, `SigmoidBinaryCrossEntropy(labelWeights:)`).
///
/// ```swift
/// let counts = try loader.labelCounts(task: "sentiment")        // from vocab_labels
/// let w = ClassWeights.weights(counts: counts, balancing: .effectiveNumber(beta: 0.999))
/// ```
public enum ClassWeights {
    /// Weights normalised to sum to the number of classes seen in training (Cui et al. 2019);
    /// a class with no training example gets 0.
    /// - `.inverseFrequency`: w_c ∝ 1 / n_c.
    /// - `.effectiveNumber(β)`: w_c ∝ (1 − β) / (1 − β^n_c); β → 0 gives equal weights,
    ///   β → 1 inverse frequency.
    /// - `.none`: 1 for every seen class.
    public static func weights(counts: [Int64], balancing: ClassBalancing) -> [Double] {
        let seen = counts.filter { $0 > 0 }.count
        guard seen > 0 else { return counts.map { _ in 0 } }
        let raw: [Double] = counts.map { n in
            guard n > 0 else { return 0 }
            switch balancing {
            case .none: return 1
            case .inverseFrequency: return 1 / Double(n)
            case .effectiveNumber(let beta):
                // (1 − β) / (1 − β^n); computed as -expm1 so that β close to 1 stays exact.
                let denom = -Foundation.expm1(Double(n) * Foundation.log(beta))
                return beta == 0 ? 1 : (1 - beta) / denom
            }
        }
        let total = raw.reduce(0, +)
        return raw.map { $0 * Double(seen) / total }
    }
}
