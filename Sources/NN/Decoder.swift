// MARK: - LSTM decoder with attention

/// A one-layer LSTM decoder over target tokens with attention over encoder outputs, trained with
/// teacher forcing (the gold target shifted right is the input).
///
/// Per target step t (OpenNMT-py's `global_attention.py`, Luong et al. 2015):
/// - input xₜ = [emb(yₜ₋₁); h̃ₜ₋₁] with input feeding (h̃₋₁ = 0), else emb(yₜ₋₁);
/// - hₜ, cₜ = LSTM(xₜ, hₜ₋₁, cₜ₋₁), from the given initial state (zero by default);
/// - scores over the source positions j of the same sequence: `dot` m_jᵀhₜ, `general` m_jᵀW_a hₜ,
///   `bahdanau` vᵀtanh(W_q hₜ + b_q + W_k m_j); softmax over the real positions only (padding is not
///   stored in the packed memory, so it gets weight 0 and no gradient);
/// - context ctxₜ = Σ_j a_j m_j, attentional vector h̃ₜ = tanh(W_c [ctxₜ; hₜ] + b_c);
/// - logits = W_o h̃ₜ + b_o, with W_o the target embedding table when tied (embedding size = hidden size).
///
/// Rows follow the target's `PackedLayout` (rank order, only real steps), so a padded target step is
/// never computed; source and target layouts must describe the same batch (index b in both).
///
/// Parameter names (prefix with `rename(prefix:)`, e.g. `decoder.<task>`): `embedding.weight` [V, E],
/// `lstm.weight_ih` [4H, E(+H)], `lstm.weight_hh` [4H, H], `lstm.bias` [4H] (gate order i, f, g, o as
/// the encoder), `attention.weight` [D, H] (`general`), `attention.query.weight` [A, H],
/// `attention.query.bias` [A], `attention.memory.weight` [A, D], `attention.v` [A] (`bahdanau`),
/// `attention.out.weight` [H, D+H], `attention.out.bias` [H], `output.weight` [V, H] (absent when tied),
/// `output.bias` [V].
public final class AttentionDecoder: ParameterContainer {
    /// The attention score function.
    public enum Attention: String, Sendable, CaseIterable { case dot, general, bahdanau }

    public let attention: Attention
    public let vocabularySize: Int, embeddingSize: Int, hiddenSize: Int, memorySize: Int, attentionSize: Int
    /// Whether h̃ₜ₋₁ is concatenated to the input embedding of step t.
    public let inputFeeding: Bool
    /// The target embedding (its padding id's row stays zero).
    public let embedding: Embedding
    public let weightIH: Parameter, weightHH: Parameter, bias: Parameter
    /// `general`: W_a [D, H].
    public let attentionWeight: Parameter?
    /// `bahdanau`: W_q [A, H], b_q [A], W_k [A, D], v [A].
    public let queryWeight: Parameter?, queryBias: Parameter?, memoryWeight: Parameter?, scoreVector: Parameter?
    /// W_c [H, D+H], b_c [H].
    public let combineWeight: Parameter, combineBias: Parameter
    /// W_o [V, H] (the embedding's table when tied), b_o [V].
    public let outputWeight: Parameter, outputBias: Parameter
    /// Whether the output projection shares the embedding table.
    public var tied: Bool { outputWeight === embedding.weight }

    public var parameters: [Parameter] {
        var ps = embedding.parameters + [weightIH, weightHH, bias]
        for p in [attentionWeight, queryWeight, queryBias, memoryWeight, scoreVector] { if let p { ps.append(p) } }
        ps += [combineWeight, combineBias]
        if !tied { ps.append(outputWeight) }
        ps.append(outputBias)
        return ps
    }

    var inputSize: Int { embeddingSize + (inputFeeding ? hiddenSize : 0) }

    // Forward workspaces (packed target rows unless noted).
    private let x = Tensor(shape: [0]), gates = Tensor(shape: [0]), cell = Tensor(shape: [0]), tanhCell = Tensor(shape: [0])
    private let hidden = Tensor(shape: [0]), hPrev = Tensor(shape: [0]), cPrev = Tensor(shape: [0])
    private let query = Tensor(shape: [0]), memoryProjection = Tensor(shape: [0]), scoreTanh = Tensor(shape: [0])
    private let combined = Tensor(shape: [0]), attentional = Tensor(shape: [0])
    /// Attention weights `[N_target, S]` of the last forward, S the longest source length; row r,
    /// column j is the weight of source position j for target row r (0 beyond the sequence's length).
    public let attentionWeights = Tensor(shape: [0])
    /// Logits `[N_target, V]` of the last forward.
    public let logits = Tensor(shape: [0])
    // Backward workspaces.
    private let dAttentional = Tensor(shape: [0]), dCombined = Tensor(shape: [0]), dHidden = Tensor(shape: [0])
    private let dQuery = Tensor(shape: [0]), dMemoryProjection = Tensor(shape: [0]), dGates = Tensor(shape: [0])
    private let dEmbedding = Tensor(shape: [0])
    private let dhCarry = Tensor(shape: [0]), dcCarry = Tensor(shape: [0]), dFeed = Tensor(shape: [0])
    private var memory: Tensor?, sourceLayout: PackedLayout?, targetLayout: PackedLayout?
    /// Scratch of `step`, `greedy` and `beamSearch` (BeamSearch.swift), apart from the training
    /// workspaces so that decoding between a forward and its backward does not clobber them. One per
    /// half of a decoded batch (`decodingHalves`); `step` uses the first.
    let decoding = [DecodingWorkspace(), DecodingWorkspace()]

    /// Gradients returned by `backward`, owned by the decoder until the next backward.
    public struct Gradients {
        /// ∂/∂memory, `[N_source, D]` in the source's packed order.
        public let memory: Tensor
        /// ∂/∂h₀ and ∂/∂c₀, `[B, H]` in batch order.
        public let hidden: Tensor, cell: Tensor
    }
    private let dMemory = Tensor(shape: [0]), dHidden0 = Tensor(shape: [0]), dCell0 = Tensor(shape: [0])

    /// `memorySize` is the encoder output size D; `dot` needs D = H, `tieEmbeddings` needs E = H.
    /// Initialisation like PyTorch (embedding N(0, 1), the rest U(±1/√fan_in)).
    public init(vocabularySize: Int, embeddingSize: Int, hiddenSize: Int, memorySize: Int,
                attention: Attention, attentionSize: Int? = nil, inputFeeding: Bool = true,
                tieEmbeddings: Bool = false, paddingID: Int32? = 0, rng: inout SplitMix64) throws(NNError) {
        let V = vocabularySize, E = embeddingSize, H = hiddenSize, D = memorySize, A = attentionSize ?? hiddenSize
        if attention == .dot && D != H {
            throw .invalidArgument(where: "AttentionDecoder", message: "dot attention needs memory size \(D) = hidden size \(H)")
        }
        if tieEmbeddings && E != H {
            throw .invalidArgument(where: "AttentionDecoder", message: "tied embeddings need embedding size \(E) = hidden size \(H)")
        }
        self.attention = attention
        self.vocabularySize = V; self.embeddingSize = E; self.hiddenSize = H; self.memorySize = D; self.attentionSize = A
        self.inputFeeding = inputFeeding
        embedding = Embedding(vocabularySize: V, dimension: E, paddingID: paddingID, rng: &rng)
        embedding.rename(prefix: "embedding")
        let I = E + (inputFeeding ? H : 0)
        func uniform(_ name: String, _ shape: [Int], fanIn: Int, decays: Bool = true) -> Parameter {
            let p = Parameter(name: name, shape: shape, decays: decays)
            p.value.fillUniform(1 / Float(fanIn).squareRoot(), rng: &rng)
            return p
        }
        weightIH = uniform("lstm.weight_ih", [4 * H, I], fanIn: H)
        weightHH = uniform("lstm.weight_hh", [4 * H, H], fanIn: H)
        bias = uniform("lstm.bias", [4 * H], fanIn: H, decays: false)
        switch attention {
        case .dot:
            attentionWeight = nil; queryWeight = nil; queryBias = nil; memoryWeight = nil; scoreVector = nil
        case .general:
            attentionWeight = uniform("attention.weight", [D, H], fanIn: H)
            queryWeight = nil; queryBias = nil; memoryWeight = nil; scoreVector = nil
        case .bahdanau:
            attentionWeight = nil
            queryWeight = uniform("attention.query.weight", [A, H], fanIn: H)
            queryBias = uniform("attention.query.bias", [A], fanIn: H, decays: false)
            memoryWeight = uniform("attention.memory.weight", [A, D], fanIn: D)
            scoreVector = uniform("attention.v", [A], fanIn: A)
        }
        combineWeight = uniform("attention.out.weight", [H, D + H], fanIn: D + H)
        combineBias = uniform("attention.out.bias", [H], fanIn: D + H, decays: false)
        outputWeight = tieEmbeddings ? embedding.weight : uniform("output.weight", [V, H], fanIn: H)
        outputBias = uniform("output.bias", [V], fanIn: H, decays: false)
    }

    /// Runs the decoder with teacher forcing.
    ///
    /// - memory: encoder outputs `[N_source, D]` packed by `sourceLayout`.
    /// - targetIn: padded ids `[B×T]` (the target shifted right, `<bos>` first) with `targetLayout`;
    ///   ids beyond each length are ignored.
    /// - initialHidden, initialCell: `[B, H]` in batch order, or nil for zeros.
    /// Returns the logits `[N_target, V]` in the target's packed order (owned by the decoder).
    public func forward(memory: Tensor, sourceLayout S: PackedLayout, targetIn ids: [Int32], targetLayout L: PackedLayout,
                        initialHidden: Tensor? = nil, initialCell: Tensor? = nil) throws(NNError) -> Tensor {
        let B = L.batch, N = L.tokenCount, H = hiddenSize, E = embeddingSize, D = memorySize, A = attentionSize
        let G = 4 * H, I = inputSize, C = D + H, V = vocabularySize, Smax = S.steps
        guard S.batch == B else { throw .shapeMismatch(where: "AttentionDecoder.forward layouts", expected: [B], got: [S.batch]) }
        guard memory.shape == [S.tokenCount, D] else {
            throw .shapeMismatch(where: "AttentionDecoder.forward memory", expected: [S.tokenCount, D], got: memory.shape)
        }
        for s in [initialHidden, initialCell] {
            if let s, s.shape != [B, H] { throw .shapeMismatch(where: "AttentionDecoder.forward initial state", expected: [B, H], got: s.shape) }
        }
        let emb = try embedding.forward(ids: ids, layout: L)
        self.memory = memory; sourceLayout = S; targetLayout = L
        x.resize([N, I]); gates.resize([N, G]); cell.resize([N, H]); tanhCell.resize([N, H])
        hidden.resize([N, H]); hPrev.resize([N, H]); cPrev.resize([N, H])
        combined.resize([N, C]); attentional.resize([N, H]); attentionWeights.resize([N, Smax], zero: true)
        switch attention {
        case .dot: break
        case .general: query.resize([N, D])
        case .bahdanau:
            query.resize([N, A]); scoreTanh.resize([N, Smax, A])
            // W_k m_j once per source token: it does not depend on the step.
            memoryProjection.resize([S.tokenCount, A])
            BLAS.gemm(false, true, S.tokenCount, A, D, 1, memory.data, D, memoryWeight!.value.data, D, 0, memoryProjection.data, A)
        }
        let xp = x.data, gp = gates.data, cp = cell.data, tcp = tanhCell.data, hp = hidden.data
        let hpp = hPrev.data, cpp = cPrev.data, mp = memory.data, ap = attentionWeights.data
        let cbp = combined.data, atp = attentional.data, qp = query.data
        // The embedding's share of the input gates, bias + emb(yₜ₋₁)·W_Eᵀ (W_E the first E columns of
        // W_ih), does not depend on the recurrence: one GEMM over all target rows before the loop,
        // leaving the per-step GEMMs only the fed-back h̃ₜ₋₁ (and hₜ₋₁). Decoding adds the same
        // two terms in the same order (per row, or from a per-token table), so its steps reproduce
        // these numbers.
        for r in 0..<N { (gp + r * G).update(from: bias.value.data, count: G) }
        BLAS.gemm(false, true, N, G, E, 1, emb.data, E, weightIH.value.data, I, 1, gp, G)
        let S1 = Swift.max(Smax, 1)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: 2 * S1)
        defer { scores.deallocate() }
        // The recurrence of a sequence depends only on itself, so the sequences are split in two
        // halves by rank parity (balanced: ranks are sorted by length), each running the whole time
        // loop on its own core when threads ≥ 2. Half h's rows of step t are ranks h, h+2, …: every
        // other packed row, so its GEMMs take a row stride (leading dimension) of two rows. The
        // halves are computed the same way for any thread count, so the results are too.
        BLAS.parallelPair { h in
            let scr = scores + h * S1
            for t in 0..<L.steps {
                let n = L.batchSizes[t], off = L.offsets[t], poff = t > 0 ? L.offsets[t - 1] : 0
                let c = (n - h + 1) / 2, base = off + h
                if c <= 0 { break }
                // Inputs and previous state; the running rows of step t are ranks 0..<n, a prefix of step t−1's.
                for i in stride(from: h, to: n, by: 2) {
                    let r = off + i, b = L.order[i]
                    (xp + r * I).update(from: emb.data + r * E, count: E)
                    if t > 0 {
                        if inputFeeding { (xp + r * I + E).update(from: atp + (poff + i) * H, count: H) }
                        (hpp + r * H).update(from: hp + (poff + i) * H, count: H)
                        (cpp + r * H).update(from: cp + (poff + i) * H, count: H)
                    } else {
                        if inputFeeding { (xp + r * I + E).update(repeating: 0, count: H) }
                        if let h0 = initialHidden { (hpp + r * H).update(from: h0.data + b * H, count: H) } else { (hpp + r * H).update(repeating: 0, count: H) }
                        if let c0 = initialCell { (cpp + r * H).update(from: c0.data + b * H, count: H) } else { (cpp + r * H).update(repeating: 0, count: H) }
                    }
                }
                if inputFeeding {
                    BLAS.gemm(false, true, c, G, H, 1, xp + base * I + E, 2 * I, weightIH.value.data + E, I, 1, gp + base * G, 2 * G)
                }
                BLAS.gemm(false, true, c, G, H, 1, hpp + base * H, 2 * H, weightHH.value.data, H, 1, gp + base * G, 2 * G)
                for i in stride(from: h, to: n, by: 2) {
                    let r = off + i
                    Kernels.gatesForward(gp + r * G, cpp + r * H, cp + r * H, tcp + r * H, hp + r * H, H)
                }
                // Queries for the half's rows of the step in one GEMM.
                switch attention {
                case .dot: break
                case .general:
                    BLAS.gemm(false, true, c, D, H, 1, hp + base * H, 2 * H, attentionWeight!.value.data, H, 0, qp + base * D, 2 * D)
                case .bahdanau:
                    for i in stride(from: h, to: n, by: 2) { (qp + (off + i) * A).update(from: queryBias!.value.data, count: A) }
                    BLAS.gemm(false, true, c, A, H, 1, hp + base * H, 2 * H, queryWeight!.value.data, H, 1, qp + base * A, 2 * A)
                }
                for i in stride(from: h, to: n, by: 2) {
                    let r = off + i, b = L.order[i], hr = hp + r * H, ctx = cbp + r * C
                    let q: UnsafePointer<Float>? = switch attention {
                    case .dot: nil
                    case .general: UnsafePointer(qp + r * D)
                    case .bahdanau: UnsafePointer(qp + r * A)
                    }
                    attendRow(h: hr, query: q, source: b, layout: S, memory: mp,
                              projection: attention == .bahdanau ? UnsafePointer(memoryProjection.data) : nil,
                              scoreTanh: attention == .bahdanau ? scoreTanh.data + r * Smax * A : nil,
                              scores: scr, weights: ap + r * Smax, context: ctx)
                    (ctx + D).update(from: hr, count: H)
                    (atp + r * H).update(from: combineBias.value.data, count: H)
                }
                BLAS.gemm(false, true, c, H, C, 1, cbp + base * C, 2 * C, combineWeight.value.data, C, 1, atp + base * H, 2 * H)
                for i in stride(from: h, to: n, by: 2) {
                    let row = atp + (off + i) * H
                    for k in 0..<H { row[k] = Math.fastTanh(row[k]) }
                }
            }
        }
        logits.resize([N, V])
        for r in 0..<N { (logits.data + r * V).update(from: outputBias.value.data, count: V) }
        BLAS.gemm(false, true, N, V, H, 1, atp, H, outputWeight.value.data, H, 1, logits.data, V)
        return logits
    }

    /// Back-propagates `dLogits` (`[N_target, V]`): accumulates every parameter's gradient (the
    /// embedding's included) and returns the gradients w.r.t. the memory and the initial state.
    public func backward(_ dLogits: Tensor) throws(NNError) -> Gradients {
        guard let L = targetLayout, let S = sourceLayout, let memory else {
            throw .invalidArgument(where: "AttentionDecoder.backward", message: "backward before forward")
        }
        let B = L.batch, N = L.tokenCount, H = hiddenSize, E = embeddingSize, D = memorySize, A = attentionSize
        let G = 4 * H, I = inputSize, C = D + H, V = vocabularySize, Smax = S.steps
        guard dLogits.shape == [N, V] else { throw .shapeMismatch(where: "AttentionDecoder.backward", expected: [N, V], got: dLogits.shape) }
        let dl = dLogits.data, atp = attentional.data
        if !outputWeight.frozen { BLAS.gemm(true, false, V, H, N, 1, dl, V, atp, H, 1, outputWeight.grad.data, H) }
        if !outputBias.frozen { addRows(dl, N, V, into: outputBias.grad.data) }
        dAttentional.resize([N, H])
        BLAS.gemm(false, false, N, H, V, 1, dl, V, outputWeight.value.data, H, 0, dAttentional.data, H)
        dCombined.resize([N, C]); dHidden.resize([N, H]); dGates.resize([N, G])
        dhCarry.resize([B, H], zero: true); dcCarry.resize([B, H], zero: true); dFeed.resize([B, H], zero: true)
        dMemory.resize([S.tokenCount, D], zero: true)
        switch attention {
        case .dot: break
        case .general: dQuery.resize([N, D])
        case .bahdanau: dQuery.resize([N, A]); dMemoryProjection.resize([S.tokenCount, A], zero: true)
        }
        let dap = dAttentional.data, dcp = dCombined.data, dhp = dHidden.data, dgp = dGates.data
        let mp = memory.data, dmp = dMemory.data, ap = attentionWeights.data, hp = hidden.data, cbp = combined.data
        let qp = query.data, dqp = dQuery.data, Q = attention == .general ? D : A
        let dhc = dhCarry.data, dcc = dcCarry.data, dfp = dFeed.data
        let S1 = Swift.max(Smax, 1)
        // Per half: the softmax-backward scratch, and (bahdanau) its own ∂v, summed in a fixed order
        // below. Everything else a half writes is its own rows or its own sources' memory rows.
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * (S1 + A))
        scratch.initialize(repeating: 0, count: 2 * (S1 + A))
        defer { scratch.deallocate() }
        // The same split as `forward`: half h back-propagates ranks h, h+2, … through every step.
        BLAS.parallelPair { h in
            let da = scratch + h * (S1 + A), dvHalf = da + S1
            for t in stride(from: L.steps - 1, through: 0, by: -1) {
                let n = L.batchSizes[t], off = L.offsets[t]
                let c = (n - h + 1) / 2, base = off + h
                if c <= 0 { continue }
                // dh̃ from the logits and, with input feeding, from step t+1's input; then through the tanh.
                for i in stride(from: h, to: n, by: 2) {
                    let r = off + i, d = dap + r * H, y = atp + r * H, f = dfp + i * H
                    for k in 0..<H { d[k] = (d[k] + (inputFeeding ? f[k] : 0)) * (1 - y[k] * y[k]) }
                }
                BLAS.gemm(false, false, c, C, H, 1, dap + base * H, 2 * H, combineWeight.value.data, C, 0, dcp + base * C, 2 * C)
                for i in stride(from: h, to: n, by: 2) {
                    let r = off + i, b = L.order[i], len = S.lengths[b]
                    let dctx = dcp + r * C, hr = hp + r * H, dh = dhp + r * H, a = ap + r * Smax
                    dh.update(from: dctx + D, count: H)
                    // Softmax backward: ds_j = a_j (da_j − Σ_k a_k da_k).
                    var dot: Float = 0
                    for j in 0..<len {
                        let m = mp + S.row(batch: b, time: j) * D, dm = dmp + S.row(batch: b, time: j) * D
                        var s: Float = 0
                        for k in 0..<D { s += dctx[k] * m[k]; dm[k] += a[j] * dctx[k] }
                        da[j] = s
                        dot += a[j] * s
                    }
                    if attention != .dot { (dqp + r * Q).update(repeating: 0, count: Q) }
                    for j in 0..<len {
                        let ds = a[j] * (da[j] - dot)
                        let row = S.row(batch: b, time: j), m = mp + row * D, dm = dmp + row * D
                        switch attention {
                        case .dot:
                            for k in 0..<D { dh[k] += ds * m[k]; dm[k] += ds * hr[k] }
                        case .general:
                            let q = qp + r * D, dq = dqp + r * D
                            for k in 0..<D { dq[k] += ds * m[k]; dm[k] += ds * q[k] }
                        case .bahdanau:
                            let th = scoreTanh.data + (r * Smax + j) * A, v = scoreVector!.value.data
                            let dq = dqp + r * A, du = dMemoryProjection.data + row * A
                            let trainV = !scoreVector!.frozen
                            for k in 0..<A {
                                if trainV { dvHalf[k] += ds * th[k] }
                                let g = ds * v[k] * (1 - th[k] * th[k])
                                dq[k] += g; du[k] += g
                            }
                        }
                    }
                }
                switch attention {
                case .dot: break
                case .general:
                    BLAS.gemm(false, false, c, H, D, 1, dqp + base * D, 2 * D, attentionWeight!.value.data, H, 1, dhp + base * H, 2 * H)
                case .bahdanau:
                    BLAS.gemm(false, false, c, H, A, 1, dqp + base * A, 2 * A, queryWeight!.value.data, H, 1, dhp + base * H, 2 * H)
                }
                for i in stride(from: h, to: n, by: 2) {
                    let r = off + i
                    Kernels.gatesBackward(gates.data + r * G, cPrev.data + r * H, tanhCell.data + r * H,
                                          dhp + r * H, dhc + i * H, dcc + i * H, dgp + r * G, H)
                }
                BLAS.gemm(false, false, c, H, G, 1, dgp + base * G, 2 * G, weightHH.value.data, H, 0, dhc + h * H, 2 * H)
                // Only the fed-back part of ∂x is needed within the loop; the embedding's part is one
                // GEMM over all rows after it.
                if inputFeeding {
                    BLAS.gemm(false, false, c, H, G, 1, dgp + base * G, 2 * G, weightIH.value.data + E, I, 0, dfp + h * H, 2 * H)
                }
            }
        }
        if attention == .bahdanau && !scoreVector!.frozen {
            let dv = scoreVector!.grad.data
            for h in 0..<2 { let part = scratch + h * (S1 + A) + S1; for k in 0..<A { dv[k] += part[k] } }
        }
        // Weight gradients over all steps in a few large GEMMs.
        if !weightIH.frozen { BLAS.gemm(true, false, G, I, N, 1, dgp, G, x.data, I, 1, weightIH.grad.data, I) }
        if !weightHH.frozen { BLAS.gemm(true, false, G, H, N, 1, dgp, G, hPrev.data, H, 1, weightHH.grad.data, H) }
        if !bias.frozen { addRows(dgp, N, G, into: bias.grad.data) }
        if !combineWeight.frozen { BLAS.gemm(true, false, H, C, N, 1, dap, H, cbp, C, 1, combineWeight.grad.data, C) }
        if !combineBias.frozen { addRows(dap, N, H, into: combineBias.grad.data) }
        switch attention {
        case .dot: break
        case .general:
            let w = attentionWeight!
            if !w.frozen { BLAS.gemm(true, false, D, H, N, 1, dQuery.data, D, hp, H, 1, w.grad.data, H) }
        case .bahdanau:
            let wq = queryWeight!, bq = queryBias!, wk = memoryWeight!, Ns = S.tokenCount
            if !wq.frozen { BLAS.gemm(true, false, A, H, N, 1, dQuery.data, A, hp, H, 1, wq.grad.data, H) }
            if !bq.frozen { addRows(dQuery.data, N, A, into: bq.grad.data) }
            if !wk.frozen { BLAS.gemm(true, false, A, D, Ns, 1, dMemoryProjection.data, A, mp, D, 1, wk.grad.data, D) }
            BLAS.gemm(false, false, Ns, D, A, 1, dMemoryProjection.data, A, wk.value.data, D, 1, dmp, D)
        }
        dEmbedding.resize([N, E])
        BLAS.gemm(false, false, N, E, G, 1, dgp, G, weightIH.value.data, I, 0, dEmbedding.data, E)
        try embedding.backward(dEmbedding)
        dHidden0.resize([B, H]); dCell0.resize([B, H])
        for i in 0..<B {
            let b = L.order[i]
            (dHidden0.data + b * H).update(from: dhCarry.data + i * H, count: H)
            (dCell0.data + b * H).update(from: dcCarry.data + i * H, count: H)
        }
        return Gradients(memory: dMemory, hidden: dHidden0, cell: dCell0)
    }

    /// Scores, masked softmax and context of one row. `forward` and the decoding step both go through
    /// here so that step-by-step decoding reproduces the teacher-forced numbers exactly.
    ///
    /// `query` is W_a h (general) or W_q h + b_q (bahdanau), nil for dot; `projection` the memory's
    /// W_k m_j (bahdanau); `scoreTanh` (`[S, A]`, bahdanau) and `weights` are stored when non-nil
    /// (backward needs them, decoding does not). Writes the context into `context[0..<D]`.
    @inline(__always)
    func attendRow(h: UnsafePointer<Float>, query q: UnsafePointer<Float>?, source b: Int, layout S: PackedLayout,
                   memory mp: UnsafePointer<Float>, projection: UnsafePointer<Float>?,
                   scoreTanh: UnsafeMutablePointer<Float>?, scores: UnsafeMutablePointer<Float>,
                   weights a: UnsafeMutablePointer<Float>?, context ctx: UnsafeMutablePointer<Float>) {
        let D = memorySize, A = attentionSize, len = S.lengths[b]
        var mx = -Float.infinity
        for j in 0..<len {
            let m = mp + S.row(batch: b, time: j) * D
            var s: Float = 0
            switch attention {
            case .dot: for k in 0..<D { s += m[k] * h[k] }
            case .general: let q = q!; for k in 0..<D { s += m[k] * q[k] }
            case .bahdanau:
                let q = q!, u = projection! + S.row(batch: b, time: j) * A, v = scoreVector!.value.data
                if let scoreTanh {
                    let th = scoreTanh + j * A
                    for k in 0..<A { let tv = Math.fastTanh(q[k] + u[k]); th[k] = tv; s += v[k] * tv }
                } else {
                    for k in 0..<A { let tv = Math.fastTanh(q[k] + u[k]); s += v[k] * tv }
                }
            }
            scores[j] = s
            mx = Swift.max(mx, s)
        }
        var z: Float = 0
        for j in 0..<len { scores[j] = Math.exp(scores[j] - mx); z += scores[j] }
        ctx.update(repeating: 0, count: D)
        for j in 0..<len {
            let w = scores[j] / z
            if let a { a[j] = w }
            let m = mp + S.row(batch: b, time: j) * D
            for k in 0..<D { ctx[k] += w * m[k] }
        }
    }

    private func addRows(_ p: UnsafePointer<Float>, _ rows: Int, _ cols: Int, into g: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { let row = p + r * cols; for j in 0..<cols { g[j] += row[j] } }
    }
}
