// MARK: - Softmax cross-entropy

/// Softmax cross-entropy over rows of logits, with optional class weights, label smoothing and focal
/// modulation. Per row: ℓ = −Σ_c q_c (1 − p_c)^γ log p_c with q the (smoothed) one-hot target
/// (γ = 0 gives plain cross-entropy). The loss is the weighted mean over present rows:
/// Σ_r m_r w_{y_r} ℓ_r / Σ_r m_r w_{y_r} (PyTorch's weighted mean).
public struct SoftmaxCrossEntropy: Sendable {
    public var classWeights: [Float]?
    public var labelSmoothing: Float
    public var focalGamma: Float

    public init(classWeights: [Float]? = nil, labelSmoothing: Float = 0, focalGamma: Float = 0) {
        self.classWeights = classWeights; self.labelSmoothing = labelSmoothing; self.focalGamma = focalGamma
    }

    /// Returns the loss and writes ∂loss/∂logits, multiplied by `scale`, into `gradient` (resized to
    /// `logits.shape`). `mask` (per row, optional) excludes rows whose task label is absent.
    public func callAsFunction(logits: Tensor, targets: [Int32], mask: [Bool]? = nil,
                               gradient: Tensor, scale: Float = 1) throws(NNError) -> Float {
        let M = logits.rows, C = logits.cols
        guard targets.count == M else { throw .shapeMismatch(where: "SoftmaxCrossEntropy", expected: [M], got: [targets.count]) }
        if let mask, mask.count != M { throw .shapeMismatch(where: "SoftmaxCrossEntropy mask", expected: [M], got: [mask.count]) }
        if let w = classWeights, w.count != C { throw .shapeMismatch(where: "SoftmaxCrossEntropy classWeights", expected: [C], got: [w.count]) }
        gradient.resize(logits.shape, zero: true)
        var total: Double = 0, norm: Double = 0
        let eps = labelSmoothing, gamma = focalGamma
        var p = [Float](repeating: 0, count: C), a = [Float](repeating: 0, count: C)
        for r in 0..<M {
            if let mask, !mask[r] { continue }
            let y = Int(targets[r])
            guard y >= 0 && y < C else { throw .invalidArgument(where: "SoftmaxCrossEntropy", message: "target \(y) outside 0..<\(C) at row \(r)") }
            let z = logits.data + r * C
            let lse = Math.logSumExp(z, C)
            let w = classWeights?[y] ?? 1
            norm += Double(w)
            var loss: Float = 0, sumA: Float = 0
            for c in 0..<C {
                let logp = z[c] - lse
                p[c] = Math.exp(logp)
                let q = (c == y ? 1 - eps : 0) + eps / Float(C)
                if q == 0 { a[c] = 0; continue }
                if gamma == 0 {
                    loss -= q * logp
                    a[c] = -q
                } else {
                    let om = Swift.max(1 - p[c], 0)
                    let mod = Math.pow(om, gamma)
                    loss -= q * mod * logp
                    // a_c = q f'(p) p with f(p) = −(1−p)^γ log p
                    let fp = gamma * (om > 0 ? Math.pow(om, gamma - 1) : 0) * logp * p[c] - mod
                    a[c] = q * fp
                }
                sumA += a[c]
            }
            total += Double(w * loss)
            let g = gradient.data + r * C
            for c in 0..<C { g[c] = w * (a[c] - p[c] * sumA) }
        }
        if norm == 0 { return 0 }
        let s = scale / Float(norm)
        for i in 0..<gradient.count { gradient.data[i] *= s }
        return Float(total / norm)
    }
}

// MARK: - Mean squared error

/// Regression loss: the mean of (prediction − target)² over the rows `mask` keeps, of a
/// single-column `[B, 1]` prediction.
public struct MeanSquaredError: Sendable {
    public init() {}

    /// Writes ∂loss/∂prediction × `scale` into `gradient` (zero on rows left out); nil without a kept row.
    public func callAsFunction(predictions: Tensor, targets: [Float], mask: [Bool], gradient: Tensor, scale: Float = 1) -> Float? {
        let n = mask.reduce(0) { $0 + ($1 ? 1 : 0) }
        guard n > 0 else { return nil }
        gradient.resize(predictions.shape, zero: true)
        var loss: Float = 0
        for r in 0..<min(predictions.rows, mask.count) where mask[r] {
            let d = predictions.data[r] - targets[r]
            loss += d * d
            gradient.data[r] = 2 * d / Float(n) * scale
        }
        return loss / Float(n)
    }
}

// MARK: - Sigmoid binary cross-entropy

/// Multilabel loss: per element ℓ = −w_l [y log σ(z) + (1 − y) log(1 − σ(z))] · (focal factor
/// (1 − p_t)^γ when γ > 0), averaged over the elements of present rows.
public struct SigmoidBinaryCrossEntropy: Sendable {
    /// Optional per-label weights.
    public var labelWeights: [Float]?
    public var focalGamma: Float
    public init(labelWeights: [Float]? = nil, focalGamma: Float = 0) { self.labelWeights = labelWeights; self.focalGamma = focalGamma }

    /// `targets` is multi-hot `[M × L]` (0 or 1; soft targets allowed when γ = 0).
    public func callAsFunction(logits: Tensor, targets: [Float], mask: [Bool]? = nil,
                               gradient: Tensor, scale: Float = 1) throws(NNError) -> Float {
        let M = logits.rows, L = logits.cols
        guard targets.count == M * L else { throw .shapeMismatch(where: "SigmoidBinaryCrossEntropy", expected: [M, L], got: [targets.count]) }
        if let mask, mask.count != M { throw .shapeMismatch(where: "SigmoidBinaryCrossEntropy mask", expected: [M], got: [mask.count]) }
        if let w = labelWeights, w.count != L { throw .shapeMismatch(where: "SigmoidBinaryCrossEntropy labelWeights", expected: [L], got: [w.count]) }
        gradient.resize(logits.shape, zero: true)
        var total: Double = 0, count = 0
        let gamma = focalGamma
        for r in 0..<M {
            if let mask, !mask[r] { continue }
            count += L
            for l in 0..<L {
                let z = logits.data[r * L + l], y = targets[r * L + l], w = labelWeights?[l] ?? 1
                // log σ(z) and log(1 − σ(z)) computed stably
                let lsp = -softplus(-z), lsn = -softplus(z)
                let s = Math.exp(lsp)
                if gamma == 0 {
                    total += Double(-w * (y * lsp + (1 - y) * lsn))
                    gradient.data[r * L + l] = w * (s - y)
                } else {
                    // p_t = s if y = 1 else 1 − s; ℓ = −(1 − p_t)^γ log p_t
                    let pos = y >= 0.5
                    let pt = pos ? s : 1 - s, logpt = pos ? lsp : lsn
                    let om = Swift.max(1 - pt, 0), mod = Math.pow(om, gamma)
                    total += Double(-w * mod * logpt)
                    // dℓ/dp_t · dp_t/dz, dp_t/dz = ±s(1 − s)
                    let dpt = gamma * (om > 0 ? Math.pow(om, gamma - 1) : 0) * logpt - mod / Swift.max(pt, 1e-30)
                    gradient.data[r * L + l] = w * dpt * (pos ? 1 : -1) * s * (1 - s)
                }
            }
        }
        if count == 0 { return 0 }
        let k = scale / Float(count)
        for i in 0..<gradient.count { gradient.data[i] *= k }
        return Float(total / Double(count))
    }

    @inline(__always) private func softplus(_ x: Float) -> Float {
        x > 0 ? x + Math.log(1 + Math.exp(-x)) : Math.log(1 + Math.exp(x))
    }
}
