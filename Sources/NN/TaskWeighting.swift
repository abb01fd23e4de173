// MARK: - Multi-task loss weighting

/// How task losses combine into one objective. `combine` returns the total and, per task, the factor
/// by which that task's loss gradient must be scaled (pass it as `scale:` to the loss).
public protocol TaskWeighting: AnyObject {
    /// `losses[i]` is nil when task i has no examples in the step.
    func combine(losses: [Float?]) -> (total: Float, scales: [Float])
}

/// The seed documents' static weighting L = Σ αᵢ Lᵢ.
public final class StaticTaskWeighting: TaskWeighting {
    public let weights: [Float]
    public init(weights: [Float]) { self.weights = weights }
    public func combine(losses: [Float?]) -> (total: Float, scales: [Float]) {
        var total: Float = 0
        for (i, l) in losses.enumerated() { if let l { total += weights[i] * l } }
        return (total, weights)
    }
}

/// Uncertainty weighting (Kendall, Gal & Cipolla 2018): L = Σ exp(−sᵢ) Lᵢ + sᵢ with sᵢ = log σᵢ²
/// learned (parameter `task_weighting.log_variance [tasks]`, initialised to 0).
/// `combine` accumulates ∂L/∂sᵢ = 1 − exp(−sᵢ) Lᵢ for present tasks.
public final class UncertaintyTaskWeighting: TaskWeighting, ParameterContainer {
    public let logVariance: Parameter
    public var parameters: [Parameter] { [logVariance] }
    public init(taskCount: Int) {
        logVariance = Parameter(name: "task_weighting.log_variance", shape: [taskCount], decays: false)
    }
    public func combine(losses: [Float?]) -> (total: Float, scales: [Float]) {
        var total: Float = 0
        var scales = [Float](repeating: 0, count: losses.count)
        for (i, l) in losses.enumerated() {
            let s = logVariance.value.data[i], w = Math.exp(-s)
            scales[i] = w
            guard let l else { continue }
            total += w * l + s
            if !logVariance.frozen { logVariance.grad.data[i] += 1 - w * l }
        }
        return (total, scales)
    }
}

// MARK: - PCGrad

/// PCGrad (Yu et al. 2020): for each task gradient gᵢ, in a random order over the other tasks j,
/// if gᵢ·gⱼ < 0 then gᵢ ← gᵢ − (gᵢ·gⱼ / ‖gⱼ‖²) gⱼ (gⱼ the original gradient); the result is Σ gᵢ.
/// Dot products are summed in Double in index order, so results are deterministic.
public enum PCGrad {
    public static func combine(_ grads: [[Float]], rng: inout SplitMix64) throws(NNError) -> [Float] {
        guard let n = grads.first?.count else { return [] }
        for g in grads where g.count != n { throw .shapeMismatch(where: "PCGrad.combine", expected: [n], got: [g.count]) }
        let norms = grads.map { dot($0, $0) }
        var out = [Float](repeating: 0, count: n)
        for i in grads.indices {
            var g = grads[i]
            var others = grads.indices.filter { $0 != i }
            others.shuffle(using: &rng)
            for j in others where norms[j] > 0 {
                let d = dot(g, grads[j])
                if d < 0 {
                    let c = Float(d / norms[j])
                    for k in 0..<n { g[k] -= c * grads[j][k] }
                }
            }
            for k in 0..<n { out[k] += g[k] }
        }
        return out
    }

    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        var s: Double = 0
        for k in a.indices { s += Double(a[k]) * Double(b[k]) }
        return s
    }
}

extension Array where Element == Parameter {
    /// All gradients concatenated in parameter order (for PCGrad and diagnostics).
    public func flattenedGradients() -> [Float] {
        var out = [Float]()
        out.reserveCapacity(reduce(0) { $0 + $1.grad.count })
        for p in self { out.append(contentsOf: UnsafeBufferPointer(start: p.grad.data, count: p.grad.count)) }
        return out
    }
    /// Writes a flat vector (as from `flattenedGradients`) back into the gradients.
    public func setGradients(_ flat: [Float]) throws(NNError) {
        let n = reduce(0) { $0 + $1.grad.count }
        guard flat.count == n else { throw .shapeMismatch(where: "setGradients", expected: [n], got: [flat.count]) }
        var o = 0
        for p in self { flat.withUnsafeBufferPointer { p.grad.data.update(from: $0.baseAddress! + o, count: p.grad.count) }; o += p.grad.count }
    }
}
