// MARK: - One LSTM direction

/// One direction of an LSTM layer over packed sequences. Gate order i, f, g, o (as PyTorch);
/// `bias` plays the role of PyTorch's `bias_ih + bias_hh`.
///
/// Forward: one GEMM projects every token (`[N, I]·W_ihᵀ`), then per time step one GEMM over the
/// running sequences (`[n_t, H]·W_hhᵀ`) and a fused, vectorised gate loop. Backward mirrors it and
/// finishes with two large GEMMs for the weight gradients.
public final class LSTMDirection: ParameterContainer {
    public let inputSize: Int, hiddenSize: Int
    /// Whether this direction runs from each sequence's end to its start.
    public let reverse: Bool
    /// `[4H, I]`, `[4H, H]`, `[4H]`, named `weight_ih`, `weight_hh`, `bias`.
    public let weightIH: Parameter, weightHH: Parameter, bias: Parameter
    public var parameters: [Parameter] { [weightIH, weightHH, bias] }

    // Workspaces (resized per batch shape; no allocation once sizes are stable).
    let gates = Tensor(shape: [0]), cell = Tensor(shape: [0]), tanhCell = Tensor(shape: [0])
    /// Hidden states `[N, H]` of the last forward.
    public let output = Tensor(shape: [0])
    let hPrev = Tensor(shape: [0]), dGates = Tensor(shape: [0]), dInput = Tensor(shape: [0])
    let dhCarry = Tensor(shape: [0]), dcCarry = Tensor(shape: [0])
    private var input: Tensor?
    private var layout: PackedLayout?

    /// U(-1/√H, 1/√H) initialisation like PyTorch.
    public init(inputSize: Int, hiddenSize: Int, reverse: Bool, rng: inout SplitMix64) {
        self.inputSize = inputSize; self.hiddenSize = hiddenSize; self.reverse = reverse
        weightIH = Parameter(name: "weight_ih", shape: [4 * hiddenSize, inputSize])
        weightHH = Parameter(name: "weight_hh", shape: [4 * hiddenSize, hiddenSize])
        bias = Parameter(name: "bias", shape: [4 * hiddenSize], decays: false)
        let a = 1 / Float(hiddenSize).squareRoot()
        weightIH.value.fillUniform(a, rng: &rng)
        weightHH.value.fillUniform(a, rng: &rng)
        bias.value.fillUniform(a, rng: &rng)
    }

    /// Time step preceding `t` in this direction's processing order, and how many of step t's rows have one.
    @inline(__always) private func predecessor(_ t: Int, _ L: PackedLayout) -> (time: Int, rows: Int) {
        if reverse { return t + 1 < L.steps ? (t + 1, L.batchSizes[t + 1]) : (t, 0) }
        return t > 0 ? (t - 1, L.batchSizes[t]) : (t, 0)
    }

    /// Runs the direction over packed input `[N, I]`; returns hidden states `[N, H]` (owned by the layer).
    public func forward(_ x: Tensor, layout L: PackedLayout) throws(NNError) -> Tensor {
        let N = L.tokenCount, H = hiddenSize, I = inputSize, G = 4 * H
        guard x.shape == [N, I] else { throw .shapeMismatch(where: "LSTM.forward", expected: [N, I], got: x.shape) }
        input = x; layout = L
        gates.resize([N, G]); cell.resize([N, H]); tanhCell.resize([N, H]); output.resize([N, H]); hPrev.resize([N, H])
        // Input projection for every token, bias included.
        let gp = gates.data, bp = bias.value.data
        for r in 0..<N { (gp + r * G).update(from: bp, count: G) }
        BLAS.gemm(false, true, N, G, I, 1, x.data, I, weightIH.value.data, I, 1, gp, G)
        let whh = weightHH.value.data
        let cp = cell.data, tcp = tanhCell.data, hp = output.data, hpp = hPrev.data
        for s in 0..<L.steps {
            let t = reverse ? L.steps - 1 - s : s
            let n = L.batchSizes[t], off = L.offsets[t]
            let (pt, np) = predecessor(t, L)
            let poff = L.offsets[pt]
            if np > 0 {
                BLAS.gemm(false, true, np, G, H, 1, hp + poff * H, H, whh, H, 1, gp + off * G, G)
            }
            for i in 0..<n {
                let g = gp + (off + i) * G
                let c = cp + (off + i) * H, tc = tcp + (off + i) * H, h = hp + (off + i) * H, hprev = hpp + (off + i) * H
                if i < np {
                    let cprev = cp + (poff + i) * H, hsrc = hp + (poff + i) * H
                    Kernels.gatesForward(g, cprev, c, tc, h, H)
                    hprev.update(from: hsrc, count: H)
                } else {
                    Kernels.gatesForwardNoPrev(g, c, tc, h, H)
                    hprev.update(repeating: 0, count: H)
                }
            }
        }
        return output
    }

    /// Back-propagates `dOut` (`[N, H]`, gradient w.r.t. every hidden state of the last forward):
    /// accumulates parameter gradients and returns the input gradient `[N, I]` (owned by the layer).
    public func backward(_ dOut: Tensor) throws(NNError) -> Tensor {
        guard let L = layout, let x = input else { throw .invalidArgument(where: "LSTM.backward", message: "backward before forward") }
        let N = L.tokenCount, H = hiddenSize, I = inputSize, G = 4 * H, B = L.batch
        guard dOut.shape == [N, H] else { throw .shapeMismatch(where: "LSTM.backward", expected: [N, H], got: dOut.shape) }
        dGates.resize([N, G]); dInput.resize([N, I]); dhCarry.resize([B, H], zero: true); dcCarry.resize([B, H], zero: true)
        let gp = gates.data, cp = cell.data, tcp = tanhCell.data, dgp = dGates.data
        let dhc = dhCarry.data, dcc = dcCarry.data, dop = dOut.data, whh = weightHH.value.data
        for s in 0..<L.steps {
            // Reverse of the forward processing order.
            let t = reverse ? s : L.steps - 1 - s
            let n = L.batchSizes[t], off = L.offsets[t]
            let (pt, np) = predecessor(t, L)
            let poff = L.offsets[pt]
            for i in 0..<n {
                let r = off + i
                Kernels.gatesBackward(gp + r * G, i < np ? cp + (poff + i) * H : nil, tcp + r * H,
                                      dop + r * H, dhc + i * H, dcc + i * H, dgp + r * G, H)
            }
            if np > 0 {
                // dh of the predecessors: dG · W_hh
                BLAS.gemm(false, false, np, H, G, 1, dgp + off * G, G, whh, H, 0, dhc, H)
            }
        }
        BLAS.gemm(false, false, N, I, G, 1, dgp, G, weightIH.value.data, I, 0, dInput.data, I)
        if !weightIH.frozen { BLAS.gemm(true, false, G, I, N, 1, dgp, G, x.data, I, 1, weightIH.grad.data, I) }
        if !weightHH.frozen { BLAS.gemm(true, false, G, H, N, 1, dgp, G, hPrev.data, H, 1, weightHH.grad.data, H) }
        if !bias.frozen {
            let db = bias.grad.data
            for r in 0..<N { let row = dgp + r * G; for j in 0..<G { db[j] += row[j] } }
        }
        return dInput
    }
}

// MARK: - Gate kernels

enum Kernels {
    /// Activates pre-activations in `g` (in place) and computes c, tanh c, h.
    @inline(__always)
    static func gatesForward(_ g: UnsafeMutablePointer<Float>, _ cprev: UnsafePointer<Float>,
                             _ c: UnsafeMutablePointer<Float>, _ tc: UnsafeMutablePointer<Float>,
                             _ h: UnsafeMutablePointer<Float>, _ H: Int) {
        for j in 0..<H {
            let ig = Math.fastSigmoid(g[j]), fg = Math.fastSigmoid(g[H + j])
            let gg = Math.fastTanh(g[2 * H + j]), og = Math.fastSigmoid(g[3 * H + j])
            g[j] = ig; g[H + j] = fg; g[2 * H + j] = gg; g[3 * H + j] = og
            let cv = fg * cprev[j] + ig * gg
            let tv = Math.fastTanh(cv)
            c[j] = cv; tc[j] = tv; h[j] = og * tv
        }
    }

    @inline(__always)
    static func gatesForwardNoPrev(_ g: UnsafeMutablePointer<Float>,
                                   _ c: UnsafeMutablePointer<Float>, _ tc: UnsafeMutablePointer<Float>,
                                   _ h: UnsafeMutablePointer<Float>, _ H: Int) {
        for j in 0..<H {
            let ig = Math.fastSigmoid(g[j]), fg = Math.fastSigmoid(g[H + j])
            let gg = Math.fastTanh(g[2 * H + j]), og = Math.fastSigmoid(g[3 * H + j])
            g[j] = ig; g[H + j] = fg; g[2 * H + j] = gg; g[3 * H + j] = og
            let cv = ig * gg
            let tv = Math.fastTanh(cv)
            c[j] = cv; tc[j] = tv; h[j] = og * tv
        }
    }

    /// Gate backward for one row. `dhCarry`/`dcCarry` hold the gradient flowing from the successor step
    /// (zero when there is none); on return `dcCarry` holds the gradient for the predecessor's cell.
    @inline(__always)
    static func gatesBackward(_ g: UnsafePointer<Float>, _ cprev: UnsafePointer<Float>?, _ tc: UnsafePointer<Float>,
                              _ dOut: UnsafePointer<Float>, _ dhCarry: UnsafeMutablePointer<Float>,
                              _ dcCarry: UnsafeMutablePointer<Float>, _ dg: UnsafeMutablePointer<Float>, _ H: Int) {
        if let cprev {
            for j in 0..<H {
                let ig = g[j], fg = g[H + j], gg = g[2 * H + j], og = g[3 * H + j], t = tc[j]
                let dh = dOut[j] + dhCarry[j]
                let dc = dcCarry[j] + dh * og * (1 - t * t)
                dg[j] = dc * gg * ig * (1 - ig)
                dg[H + j] = dc * cprev[j] * fg * (1 - fg)
                dg[2 * H + j] = dc * ig * (1 - gg * gg)
                dg[3 * H + j] = dh * t * og * (1 - og)
                dcCarry[j] = dc * fg
            }
        } else {
            for j in 0..<H {
                let ig = g[j], gg = g[2 * H + j], og = g[3 * H + j], t = tc[j]
                let dh = dOut[j] + dhCarry[j]
                let dc = dcCarry[j] + dh * og * (1 - t * t)
                dg[j] = dc * gg * ig * (1 - ig)
                dg[H + j] = 0
                dg[2 * H + j] = dc * ig * (1 - gg * gg)
                dg[3 * H + j] = dh * t * og * (1 - og)
                dcCarry[j] = 0
            }
        }
    }
}
