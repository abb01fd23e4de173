// MARK: - Pooling over time

/// Pools packed rows `[N, D]` into one vector per sequence `[B, D]` (batch order).
///
/// - `last`: the final state of each direction: forward half at the sequence's last token, backward
///   half (when `directions == 2`) at its first token — PyTorch's `h_n`.
/// - `mean`, `max`: over the sequence's real tokens.
/// - `attention`: additive attention, score_t = vᵀ tanh(W h_t + b), softmax over the real tokens.
///   Parameters `attention.weight [A, D]`, `attention.bias [A]`, `attention.context [A]`.
public final class Pooling: ParameterContainer {
    public enum Kind: Sendable, Equatable {
        case last(directions: Int)
        case mean
        case max
        case attention(size: Int)
    }
    public let kind: Kind
    public let inputSize: Int
    public let attentionProjection: Linear?
    public let context: Parameter?
    public var parameters: [Parameter] {
        guard let a = attentionProjection, let c = context else { return [] }
        return a.parameters + [c]
    }

    private let output = Tensor(shape: [0]), dInput = Tensor(shape: [0])
    private let scores = Tensor(shape: [0]), dU = Tensor(shape: [0])
    private var argmax: [Int32] = []
    private var layout: PackedLayout?
    private var input: Tensor?
    private let tanhU = Tensor(shape: [0])

    public init(_ kind: Kind, inputSize: Int, rng: inout SplitMix64) {
        self.kind = kind; self.inputSize = inputSize
        if case let .attention(a) = kind {
            let p = Linear(inputSize: inputSize, outputSize: a, rng: &rng)
            p.rename(prefix: "attention")
            attentionProjection = p
            let c = Parameter(name: "attention.context", shape: [a])
            c.value.fillUniform(1 / Float(a).squareRoot(), rng: &rng)
            context = c
        } else {
            attentionProjection = nil; context = nil
        }
    }

    /// `x` is `[N, D]` packed; returns `[B, D]` (owned by the layer).
    public func forward(_ x: Tensor, layout L: PackedLayout) throws(NNError) -> Tensor {
        let N = L.tokenCount, D = inputSize, B = L.batch
        guard x.shape == [N, D] else { throw .shapeMismatch(where: "Pooling.forward", expected: [N, D], got: x.shape) }
        layout = L; input = x
        output.resize([B, D], zero: true)
        let o = output.data, xp = x.data
        switch kind {
        case let .last(dirs):
            let half = dirs == 2 ? D / 2 : D
            for b in 0..<B {
                let rl = L.row(batch: b, time: L.lengths[b] - 1)
                (o + b * D).update(from: xp + rl * D, count: half)
                if dirs == 2 { (o + b * D + half).update(from: xp + L.row(batch: b, time: 0) * D + half, count: D - half) }
            }
        case .mean:
            for t in 0..<L.steps {
                for i in 0..<L.batchSizes[t] {
                    let b = L.order[i], src = xp + (L.offsets[t] + i) * D, dst = o + b * D
                    for j in 0..<D { dst[j] += src[j] }
                }
            }
            for b in 0..<B { let s = 1 / Float(L.lengths[b]); for j in 0..<D { o[b * D + j] *= s } }
        case .max:
            argmax = [Int32](repeating: 0, count: B * D)
            for b in 0..<B { (o + b * D).update(from: xp + L.row(batch: b, time: 0) * D, count: D) }
            for t in 1..<Swift.max(L.steps, 1) where t < L.steps {
                for i in 0..<L.batchSizes[t] {
                    let b = L.order[i], r = L.offsets[t] + i, src = xp + r * D, dst = o + b * D
                    for j in 0..<D where src[j] > dst[j] { dst[j] = src[j]; argmax[b * D + j] = Int32(t) }
                }
            }
        case .attention:
            let u = try attentionProjection!.forward(x)
            let th = tanhU
            th.resize(u.shape)
            for i in 0..<u.count { th.data[i] = Math.fastTanh(u.data[i]) }
            let A = th.cols, v = context!.value.data
            scores.resize([N])
            for r in 0..<N { var s: Float = 0; for a in 0..<A { s += th.data[r * A + a] * v[a] }; scores.data[r] = s }
            // softmax per sequence over its rows
            for b in 0..<B {
                var m = -Float.infinity
                for t in 0..<L.lengths[b] { m = Swift.max(m, scores.data[L.row(batch: b, time: t)]) }
                var z: Float = 0
                for t in 0..<L.lengths[b] { let r = L.row(batch: b, time: t); let e = Math.exp(scores.data[r] - m); scores.data[r] = e; z += e }
                for t in 0..<L.lengths[b] {
                    let r = L.row(batch: b, time: t); scores.data[r] /= z
                    let w = scores.data[r], src = xp + r * D, dst = o + b * D
                    for j in 0..<D { dst[j] += w * src[j] }
                }
            }
        }
        return output
    }

    /// Attention weights of the last forward, per packed row (attention pooling only).
    public var attentionWeights: [Float]? {
        if case .attention = kind { return Array(UnsafeBufferPointer(start: scores.data, count: scores.count)) }
        return nil
    }

    /// `dOut` is `[B, D]`; returns the gradient for the packed input `[N, D]`.
    public func backward(_ dOut: Tensor) throws(NNError) -> Tensor {
        guard let L = layout, let x = input else { throw .invalidArgument(where: "Pooling.backward", message: "backward before forward") }
        let N = L.tokenCount, D = inputSize, B = L.batch
        guard dOut.shape == [B, D] else { throw .shapeMismatch(where: "Pooling.backward", expected: [B, D], got: dOut.shape) }
        dInput.resize([N, D], zero: true)
        let g = dInput.data, d = dOut.data
        switch kind {
        case let .last(dirs):
            let half = dirs == 2 ? D / 2 : D
            for b in 0..<B {
                let rl = L.row(batch: b, time: L.lengths[b] - 1)
                for j in 0..<half { g[rl * D + j] += d[b * D + j] }
                if dirs == 2 { let r0 = L.row(batch: b, time: 0); for j in half..<D { g[r0 * D + j] += d[b * D + j] } }
            }
        case .mean:
            for t in 0..<L.steps {
                for i in 0..<L.batchSizes[t] {
                    let b = L.order[i], s = 1 / Float(L.lengths[b]), dst = g + (L.offsets[t] + i) * D
                    for j in 0..<D { dst[j] = d[b * D + j] * s }
                }
            }
        case .max:
            for b in 0..<B { for j in 0..<D { g[L.row(batch: b, time: Int(argmax[b * D + j])) * D + j] += d[b * D + j] } }
        case .attention:
            let th = tanhU, A = th.cols, v = context!.value.data, xp = x.data
            dU.resize([N, A])
            for b in 0..<B {
                // dα_r = dOut_b · x_r ; dscore_r = α_r (dα_r − Σ α dα)
                var mean: Float = 0
                for t in 0..<L.lengths[b] {
                    let r = L.row(batch: b, time: t)
                    var s: Float = 0; for j in 0..<D { s += d[b * D + j] * xp[r * D + j] }
                    dU.data[r * A] = s   // temporarily hold dα_r
                    mean += scores.data[r] * s
                }
                for t in 0..<L.lengths[b] {
                    let r = L.row(batch: b, time: t), w = scores.data[r]
                    let ds = w * (dU.data[r * A] - mean)
                    for j in 0..<D { g[r * D + j] += w * d[b * D + j] }
                    if !context!.frozen { for a in 0..<A { context!.grad.data[a] += ds * th.data[r * A + a] } }
                    for a in 0..<A { let tv = th.data[r * A + a]; dU.data[r * A + a] = ds * v[a] * (1 - tv * tv) }
                }
            }
            let dx = try attentionProjection!.backward(dU)
            for i in 0..<(N * D) { g[i] += dx.data[i] }
        }
        return dInput
    }
}
