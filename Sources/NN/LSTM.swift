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
                    Kernels.gatesForward(g, nil, c, tc, h, H)
                    hprev.update(repeating: 0, count: H)
                }
            }
        }
        return output
    }

    /// Cell states `[N, H]` of the last forward (a decoder starts from the final ones).
    public var cellStates: Tensor { cell }

    /// Back-propagates `dOut` (`[N, H]`, gradient w.r.t. every hidden state of the last forward)
    /// and, when given, `dCell` (`[N, H]`, gradient w.r.t. cell states used elsewhere, such as
    /// the final ones a decoder starts from): accumulates parameter gradients and returns the
    /// input gradient `[N, I]` (owned by the layer).
    public func backward(_ dOut: Tensor, dCell: Tensor? = nil) throws(NNError) -> Tensor {
        guard let L = layout, let x = input else { throw .invalidArgument(where: "LSTM.backward", message: "backward before forward") }
        let N = L.tokenCount, H = hiddenSize, I = inputSize, G = 4 * H, B = L.batch
        guard dOut.shape == [N, H] else { throw .shapeMismatch(where: "LSTM.backward", expected: [N, H], got: dOut.shape) }
        if let dCell, dCell.shape != [N, H] { throw .shapeMismatch(where: "LSTM.backward (cell)", expected: [N, H], got: dCell.shape) }
        let dcExternal = dCell?.data
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
                // The carry is ∂L/∂c_t from later steps; a use of c_t outside the recurrence adds to it.
                if let dcExternal { let src = dcExternal + r * H, dst = dcc + i * H; for j in 0..<H { dst[j] += src[j] } }
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

/// The fused gate loops, written over `SIMD8<Float>` so they vectorise on any x86-64/arm64 baseline
/// (the scalar tail handles H not divisible by 8). Activations are the rational approximations of `Math`.
enum Kernels {
    typealias V = SIMD8<Float>

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    @inline(__always)
    static func tanh(_ x0: V) -> V {
        let lo = V(repeating: -7.905_311_1), hi = V(repeating: 7.905_311_1)
        let x = x0.replacing(with: lo, where: x0 .< lo).replacing(with: hi, where: x0 .> hi)
        let x2 = x * x
        var p = V(repeating: -2.760_768_5e-16)
        p = p * x2 + V(repeating: 2.000_187_9e-13)
        p = p * x2 + V(repeating: -8.604_671_5e-11)
        p = p * x2 + V(repeating: 5.122_297_1e-08)
        p = p * x2 + V(repeating: 1.485_722_4e-05)
        p = p * x2 + V(repeating: 6.372_619_3e-04)
        p = p * x2 + V(repeating: 4.893_524_6e-03)
        p = p * x
        var q = V(repeating: 1.198_258_4e-06)
        q = q * x2 + V(repeating: 1.185_347_1e-04)
        q = q * x2 + V(repeating: 2.268_434_6e-03)
        q = q * x2 + V(repeating: 4.893_525_2e-03)
        let r = p / q, one = V(repeating: 1)
        return r.replacing(with: -one, where: r .< -one).replacing(with: one, where: r .> one)
    }
    @inline(__always) static func sigmoid(_ x: V) -> V { 0.5 + 0.5 * tanh(0.5 * x) }

    /// Activates pre-activations in `g` (in place) and computes c, tanh c, h. `cprev` nil means zero state.
    @inline(__always)
    static func gatesForward(_ g: UnsafeMutablePointer<Float>, _ cprev: UnsafePointer<Float>?,
                             _ c: UnsafeMutablePointer<Float>, _ tc: UnsafeMutablePointer<Float>,
                             _ h: UnsafeMutablePointer<Float>, _ H: Int) {
        var j = 0
        while j + 8 <= H {
            let ig = sigmoid(load(g + j)), fg = sigmoid(load(g + H + j))
            let gg = tanh(load(g + 2 * H + j)), og = sigmoid(load(g + 3 * H + j))
            store(ig, g + j); store(fg, g + H + j); store(gg, g + 2 * H + j); store(og, g + 3 * H + j)
            var cv = ig * gg
            if let cprev { cv += fg * load(cprev + j) }
            let tv = tanh(cv)
            store(cv, c + j); store(tv, tc + j); store(og * tv, h + j)
            j += 8
        }
        while j < H {
            let ig = Math.fastSigmoid(g[j]), fg = Math.fastSigmoid(g[H + j])
            let gg = Math.fastTanh(g[2 * H + j]), og = Math.fastSigmoid(g[3 * H + j])
            g[j] = ig; g[H + j] = fg; g[2 * H + j] = gg; g[3 * H + j] = og
            let cv = fg * (cprev?[j] ?? 0) + ig * gg
            let tv = Math.fastTanh(cv)
            c[j] = cv; tc[j] = tv; h[j] = og * tv
            j += 1
        }
    }

    /// Gate backward for one row. `dhCarry`/`dcCarry` hold the gradient flowing from the successor step
    /// (zero when there is none); on return `dcCarry` holds the gradient for the predecessor's cell.
    @inline(__always)
    static func gatesBackward(_ g: UnsafePointer<Float>, _ cprev: UnsafePointer<Float>?, _ tc: UnsafePointer<Float>,
                              _ dOut: UnsafePointer<Float>, _ dhCarry: UnsafeMutablePointer<Float>,
                              _ dcCarry: UnsafeMutablePointer<Float>, _ dg: UnsafeMutablePointer<Float>, _ H: Int) {
        var j = 0
        let one = V(repeating: 1)
        while j + 8 <= H {
            let ig = load(g + j), fg = load(g + H + j), gg = load(g + 2 * H + j), og = load(g + 3 * H + j), t = load(tc + j)
            let dh = load(dOut + j) + load(dhCarry + j)
            let dc = load(dcCarry + j) + dh * og * (one - t * t)
            store(dc * gg * ig * (one - ig), dg + j)
            store(cprev.map { dc * load($0 + j) * fg * (one - fg) } ?? V(), dg + H + j)
            store(dc * ig * (one - gg * gg), dg + 2 * H + j)
            store(dh * t * og * (one - og), dg + 3 * H + j)
            store(cprev == nil ? V() : dc * fg, dcCarry + j)
            j += 8
        }
        while j < H {
            let ig = g[j], fg = g[H + j], gg = g[2 * H + j], og = g[3 * H + j], t = tc[j]
            let dh = dOut[j] + dhCarry[j]
            let dc = dcCarry[j] + dh * og * (1 - t * t)
            dg[j] = dc * gg * ig * (1 - ig)
            dg[H + j] = cprev.map { dc * $0[j] * fg * (1 - fg) } ?? 0
            dg[2 * H + j] = dc * ig * (1 - gg * gg)
            dg[3 * H + j] = dh * t * og * (1 - og)
            dcCarry[j] = cprev == nil ? 0 : dc * fg
            j += 1
        }
    }
}
