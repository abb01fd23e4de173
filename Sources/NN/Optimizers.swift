// MARK: - Optimizers

/// Common interface of the optimizers. State is keyed by parameter name so it can be saved.
public protocol Optimizer: AnyObject {
    /// Base learning rate; the schedule's factor multiplies it.
    var learningRate: Float { get set }
    /// Number of steps taken.
    var stepCount: Int { get set }
    /// Applies one update to every non-frozen parameter from its `grad` (gradients are not zeroed).
    func step(_ parameters: [Parameter], learningRate: Float?)
    /// Optimizer state as named tensors (`optimizer.<slot>.<parameter name>`) for checkpoints. The step
    /// count is stored exactly as `optimizer.step_exact` (see `StepCount`), and approximately as the
    /// Float `optimizer.step` for older readers.
    func stateTensors() -> [(String, Tensor)]
    /// Restores state written by `stateTensors()`; throws on missing or mis-shaped tensors.
    func loadState(_ tensors: [String: Tensor], parameters: [Parameter]) throws(NNError)
}

extension Optimizer {
    public func step(_ parameters: [Parameter]) { step(parameters, learningRate: nil) }
}

/// SGD with optional (heavy-ball) momentum and L2 weight decay: v ← μv + g + λw; w ← w − lr·v.
public final class SGD: Optimizer {
    public var learningRate: Float, momentum: Float, weightDecay: Float
    public var stepCount = 0
    var velocity: [String: Tensor] = [:]
    public init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) {
        self.learningRate = learningRate; self.momentum = momentum; self.weightDecay = weightDecay
    }
    public func step(_ parameters: [Parameter], learningRate lrOverride: Float? = nil) {
        stepCount += 1
        let lr = lrOverride ?? learningRate
        for p in parameters where !p.frozen {
            let w = p.value.data, g = p.grad.data, n = p.value.count
            let wd = p.decays ? weightDecay : 0
            if momentum == 0 {
                for i in 0..<n { w[i] -= lr * (g[i] + wd * w[i]) }
            } else {
                let v = slot(p)
                let vp = v.data, mu = momentum
                for i in 0..<n { vp[i] = mu * vp[i] + g[i] + wd * w[i]; w[i] -= lr * vp[i] }
            }
        }
    }
    private func slot(_ p: Parameter) -> Tensor {
        if let v = velocity[p.name] { return v }
        let v = Tensor(shape: p.value.shape); velocity[p.name] = v; return v
    }
    public func stateTensors() -> [(String, Tensor)] {
        return StepCount.tensors(stepCount) + velocity.keys.sorted().map { ("optimizer.velocity.\($0)", velocity[$0]!) }
    }
    public func loadState(_ t: [String: Tensor], parameters: [Parameter]) throws(NNError) {
        var v: [String: Tensor] = [:]
        if momentum != 0 {
            for p in parameters where !p.frozen {
                let k = "optimizer.velocity.\(p.name)"
                // No velocity: the parameter has not been updated yet (steps may leave parameters out).
                guard let x = t[k] else { continue }
                guard x.shape == p.value.shape else { throw .shapeMismatch(where: k, expected: p.value.shape, got: x.shape) }
                v[p.name] = x.copy()
            }
        }
        let steps = try StepCount.load(t)
        velocity = v
        stepCount = steps
    }
}

/// Adam (Kingma & Ba) and AdamW (decoupled weight decay, Loshchilov & Hutter) in one type.
/// With `decoupled == false`, `weightDecay` is added to the gradient (PyTorch `Adam`); with true it
/// shrinks the weights directly (PyTorch `AdamW`).
public final class Adam: Optimizer {
    public var learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public let decoupled: Bool
    public var stepCount = 0
    var m: [String: Tensor] = [:], v: [String: Tensor] = [:]
    /// Updates per parameter (by name): parameters left out of a step are not counted.
    var updates: [String: Int] = [:]

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0, decoupled: Bool = false) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        self.weightDecay = weightDecay; self.decoupled = decoupled
    }
    /// AdamW with PyTorch's default decay 0.01.
    public static func adamW(learningRate: Float = 1e-3, weightDecay: Float = 0.01) -> Adam {
        Adam(learningRate: learningRate, weightDecay: weightDecay, decoupled: true)
    }

    public func step(_ parameters: [Parameter], learningRate lrOverride: Float? = nil) {
        stepCount += 1
        let lr = lrOverride ?? learningRate
        let b1 = beta1, b2 = beta2, eps = epsilon
        // The bookkeeping first, in parameter order; then the element-wise update, which is
        // independent per element, as two halves of every parameter (on two cores when threads ≥ 2;
        // the same arithmetic per element either way, so the result does not depend on it).
        struct Update { let w, g, m, v: UnsafeMutablePointer<Float>; let n: Int; let stepSize, invSqrtBc2, shrink, l2: Float }
        var work: [Update] = []
        work.reserveCapacity(parameters.count)
        for p in parameters where !p.frozen {
            // Bias correction counts this parameter's own updates (PyTorch keeps a step per
            // parameter): a task head updated only on its task's batches is corrected as such.
            let updateCount = (updates[p.name] ?? 0) + 1
            updates[p.name] = updateCount
            let t = Float(updateCount)
            let bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t)
            let (mt, vt) = slots(p)
            let wd = p.decays ? weightDecay : 0
            work.append(Update(w: p.value.data, g: p.grad.data, m: mt.data, v: vt.data, n: p.value.count,
                               stepSize: lr / bc1, invSqrtBc2: 1 / bc2.squareRoot(),
                               shrink: decoupled && wd != 0 ? 1 - lr * wd : 1, l2: decoupled ? 0 : wd))
        }
        work.withUnsafeBufferPointer { work in
            BLAS.parallelPair { h in
                for u in work {
                    let half = u.n / 2, lo = h == 0 ? 0 : half, hi = h == 0 ? half : u.n
                    let w = u.w, g = u.g, mp = u.m, vp = u.v, stepSize = u.stepSize, invSqrtBc2 = u.invSqrtBc2, l2 = u.l2
                    if u.shrink != 1 { let f = u.shrink; for i in lo..<hi { w[i] *= f } }
                    for i in lo..<hi {
                        let gi = g[i] + l2 * w[i]
                        let mi = b1 * mp[i] + (1 - b1) * gi
                        let vi = b2 * vp[i] + (1 - b2) * gi * gi
                        mp[i] = mi; vp[i] = vi
                        w[i] -= stepSize * mi / ((vi.squareRoot() * invSqrtBc2) + eps)
                    }
                }
            }
        }
    }

    private func slots(_ p: Parameter) -> (Tensor, Tensor) {
        if let a = m[p.name], let b = v[p.name] { return (a, b) }
        let a = Tensor(shape: p.value.shape), b = Tensor(shape: p.value.shape)
        m[p.name] = a; v[p.name] = b
        return (a, b)
    }

    public func stateTensors() -> [(String, Tensor)] {
        var out = StepCount.tensors(stepCount)
        for k in m.keys.sorted() {
            out.append(("optimizer.exp_avg.\(k)", m[k]!)); out.append(("optimizer.exp_avg_sq.\(k)", v[k]!))
            out.append(("optimizer.updates.\(k)", StepCount.exactTensor(updates[k] ?? stepCount)))
        }
        return out
    }

    public func loadState(_ t: [String: Tensor], parameters: [Parameter]) throws(NNError) {
        var nm: [String: Tensor] = [:], nv: [String: Tensor] = [:], nu: [String: Int] = [:]
        let steps = try StepCount.load(t)
        // Files with per-parameter counts leave out parameters never updated yet (a task head whose
        // task has not been drawn); older files hold every parameter, updated at every step.
        let perParameter = t.keys.contains { $0.hasPrefix("optimizer.updates.") }
        if steps > 0 {
            for p in parameters where !p.frozen {
                if let u = t["optimizer.updates.\(p.name)"] {
                    nu[p.name] = try StepCount.loadExact(u, name: "optimizer.updates.\(p.name)")
                } else if perParameter {
                    continue
                } else {
                    nu[p.name] = steps
                }
                for (slot, dict) in [("exp_avg", 0), ("exp_avg_sq", 1)] {
                    let k = "optimizer.\(slot).\(p.name)"
                    guard let x = t[k] else { throw .missingTensor(path: "optimizer state", name: k) }
                    guard x.shape == p.value.shape else { throw .shapeMismatch(where: k, expected: p.value.shape, got: x.shape) }
                    if dict == 0 { nm[p.name] = x.copy() } else { nv[p.name] = x.copy() }
                }
            }
        }
        m = nm; v = nv; updates = nu; stepCount = steps
    }
}

/// The optimizer step count in Float32 tensors without rounding: `optimizer.step_exact` is `[2]`
/// holding (⌊n / 2²⁴⌋, n mod 2²⁴), both integers below 2²⁴ and so exact in Float (n < 2⁴⁸).
/// `optimizer.step` keeps the rounded Float count; files with only that tensor (older checkpoints)
/// still load, exactly up to 2²⁴ steps.
enum StepCount {
    static let limb = 1 << 24

    static func tensors(_ n: Int) -> [(String, Tensor)] {
        let approx = Tensor(shape: [1]); approx.data[0] = Float(n)
        return [("optimizer.step", approx), ("optimizer.step_exact", exactTensor(n))]
    }

    /// n as (⌊n / 2²⁴⌋, n mod 2²⁴): both limbs exact in Float.
    static func exactTensor(_ n: Int) -> Tensor {
        let exact = Tensor(shape: [2]); exact.data[0] = Float(n / limb); exact.data[1] = Float(n % limb)
        return exact
    }

    static func integral(_ x: Float, below bound: Float) -> Bool { x >= 0 && x < bound && x.rounded(.towardZero) == x }

    /// Reads a count written by `exactTensor`; `name` names the tensor in errors.
    static func loadExact(_ e: Tensor, name: String) throws(NNError) -> Int {
        guard e.shape == [2] else { throw .shapeMismatch(where: name, expected: [2], got: e.shape) }
        let hi = e.data[0], lo = e.data[1], l = Float(limb)
        guard integral(hi, below: l), integral(lo, below: l) else {
            throw .invalidArgument(where: name, message: "values \(hi), \(lo) are not integers in 0..<2^24")
        }
        return Int(hi) * limb + Int(lo)
    }

    static func load(_ t: [String: Tensor]) throws(NNError) -> Int {
        if let e = t["optimizer.step_exact"] { return try loadExact(e, name: "optimizer.step_exact") }
        guard let s = t["optimizer.step"] else { return 0 }
        guard s.count == 1, integral(s.data[0], below: 0x1p62) else {
            throw .invalidArgument(where: "optimizer.step", message: "not a non-negative integer count")
        }
        return Int(s.data[0])
    }
}

// MARK: - Clipping and schedules

/// Scales all gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping.
/// Sums in Double in parameter order (deterministic).
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
    var s: Double = 0
    for p in parameters where !p.frozen { for i in 0..<p.grad.count { let g = Double(p.grad.data[i]); s += g * g } }
    let norm = Float(s.squareRoot())
    if norm > maxNorm && norm > 0 {
        let k = maxNorm / norm
        for p in parameters where !p.frozen { for i in 0..<p.grad.count { p.grad.data[i] *= k } }
    }
    return norm
}

/// Learning-rate schedules as a factor of the base rate at a step (0-based).
public enum LearningRateSchedule: Sendable, Equatable {
    case constant
    /// Linear warm-up from 0 over `warmup` steps, then linear decay to 0 at `total`.
    case linear(warmup: Int, total: Int)
    /// Linear warm-up, then cosine decay to `minFactor` at `total`.
    case cosine(warmup: Int, total: Int, minFactor: Float)

    public func factor(step: Int) -> Float {
        switch self {
        case .constant: return 1
        case let .linear(w, total):
            if step < w { return Float(step + 1) / Float(w) }
            return Swift.max(0, Float(total - step) / Float(Swift.max(1, total - w)))
        case let .cosine(w, total, minF):
            if step < w { return Float(step + 1) / Float(w) }
            let progress = Swift.min(1, Float(step - w) / Float(Swift.max(1, total - w)))
            return minF + (1 - minF) * 0.5 * (1 + Float(Math.cosD(Double.pi * Double(progress))))
        }
    }
}
