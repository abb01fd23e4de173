// MARK: - Inference-time decoding (greedy and beam search) for AttentionDecoder

/// How a hypothesis' summed log-probability is normalised before hypotheses of different lengths are
/// compared. Raw sums favour short outputs (every token costs probability), hence the penalties.
///
/// The length counts every decoding step of the hypothesis, its `<eos>` included (as the PyTorch
/// reference script does); a hypothesis cut at the maximum length has no `<eos>` to count.
public enum LengthPenalty: Sendable, Equatable {
    /// Compare raw log-probability sums.
    case none
    /// score / len^α (OpenNMT-py's "avg" for α = 1, the reference script's `score / len**alpha`).
    case average(Float)
    /// score / ((5 + len) / 6)^α (Wu et al. 2016, GNMT).
    case gnmt(Float)

    /// The normalised score of a hypothesis with raw log-probability `logProbability` after `length` steps.
    public func normalize(_ logProbability: Float, length: Int) -> Float {
        switch self {
        case .none: return logProbability
        case .average(let alpha): return logProbability / Math.pow(Float(length), alpha)
        case .gnmt(let alpha): return logProbability / Math.pow((5 + Float(length)) / 6, alpha)
        }
    }
}

/// Settings of `AttentionDecoder.greedy` and `.beamSearch`.
public struct DecodingOptions: Sendable, Equatable {
    /// Hypotheses kept per source and step (K); greedy ignores it.
    public var beamSize: Int
    /// Hypotheses returned per source (N ≤ K).
    public var nBest: Int
    public var lengthPenalty: LengthPenalty
    /// The maximum length per source is `maxLengthRatio × source length + maxLengthOffset` decoding
    /// steps (`<eos>` included) unless the caller passes explicit lengths; the defaults are the
    /// reference script's `2 × len + 10`.
    public var maxLengthRatio: Float
    public var maxLengthOffset: Int
    /// Ids never emitted besides `<bos>` and the embedding's padding id, which are always excluded
    /// (e.g. `<unk>` when unknown outputs are useless to the caller).
    public var forbiddenTokens: [Int32]

    public init(beamSize: Int = 5, nBest: Int = 1, lengthPenalty: LengthPenalty = .none,
                maxLengthRatio: Float = 2, maxLengthOffset: Int = 10, forbiddenTokens: [Int32] = []) {
        self.beamSize = beamSize; self.nBest = nBest; self.lengthPenalty = lengthPenalty
        self.maxLengthRatio = maxLengthRatio; self.maxLengthOffset = maxLengthOffset; self.forbiddenTokens = forbiddenTokens
    }
}

/// One decoded output.
public struct Hypothesis: Sendable, Equatable {
    /// Output ids without `<bos>` and `<eos>`.
    public var tokens: [Int32]
    /// Sum of the log-probabilities of every step, `<eos>` included when the hypothesis ended with it.
    public var logProbability: Float
    /// `logProbability` under the length penalty: the key hypotheses are ranked by.
    public var score: Float

    public init(tokens: [Int32], logProbability: Float, score: Float) {
        self.tokens = tokens; self.logProbability = logProbability; self.score = score
    }
}

/// Scratch tensors of the decoding step, sized once per call for the largest row count so that the
/// step loop allocates nothing. States are double-buffered: a step reads `*In` and writes `*Out`, and
/// the surviving rows are gathered back into `*In` (beam reordering and dropping finished rows are
/// the same copy).
///
/// `greedy` and `beamSearch` decode the two halves of a batch (`decodingHalves`) each in its own
/// workspace, concurrently when `BLAS.threads` ≥ 2 (see `AttentionDecoder.decodingHalves`).
final class DecodingWorkspace {
    let x = Tensor(shape: [0]), gates = Tensor(shape: [0]), tanhCell = Tensor(shape: [0])
    let query = Tensor(shape: [0]), combined = Tensor(shape: [0]), logits = Tensor(shape: [0])
    let projection = Tensor(shape: [0]), scores = Tensor(shape: [0]), tokenGates = Tensor(shape: [0])
    let hIn = Tensor(shape: [0]), cIn = Tensor(shape: [0]), feedIn = Tensor(shape: [0])
    let hOut = Tensor(shape: [0]), cOut = Tensor(shape: [0]), feedOut = Tensor(shape: [0])
}

extension AttentionDecoder {
    /// The maximum number of decoding steps for a source of `sourceLength` tokens:
    /// ⌊ratio × length⌋ + offset, at least 1 (OpenNMT-py's `max_length`, fairseq's
    /// `max_len_a × len + max_len_b`). Outputs are bounded so that a decoder that never emits
    /// `<eos>` still terminates.
    public static func maxLength(sourceLength: Int, ratio: Float, offset: Int) -> Int {
        Swift.max(1, Int((ratio * Float(sourceLength)).rounded(.down)) + offset)
    }

    // MARK: One step

    /// Runs one decoding step for `sources.count` rows: row i continues a hypothesis of source
    /// `sources[i]` (batch index in `sourceLayout`) whose previous token is `previousTokens[i]`.
    ///
    /// `hidden`, `cell` and `feed` (`[n, H]`) hold the previous LSTM state and attentional vector
    /// (zeros, or the initial state, before the first step) and are overwritten with the new ones, so a
    /// caller can drive its own search. The arithmetic is `forward`'s (same kernels and order), so
    /// feeding the gold tokens reproduces the teacher-forced logits. Returns the logits `[n, V]`, owned
    /// by the decoder until its next decoding call. Bahdanau's memory projection is recomputed per call;
    /// `greedy` and `beamSearch` compute it once.
    public func step(memory: Tensor, sourceLayout S: PackedLayout, sources: [Int], previousTokens: [Int32],
                     hidden: Tensor, cell: Tensor, feed: Tensor) throws(NNError) -> Tensor {
        let n = sources.count, H = hiddenSize
        guard previousTokens.count == n else {
            throw .shapeMismatch(where: "AttentionDecoder.step tokens", expected: [n], got: [previousTokens.count])
        }
        try checkMemory(memory, S, where: "AttentionDecoder.step")
        for t in [hidden, cell, feed] where t.shape != [n, H] {
            throw .shapeMismatch(where: "AttentionDecoder.step state", expected: [n, H], got: t.shape)
        }
        for b in sources where b < 0 || b >= S.batch {
            throw .invalidArgument(where: "AttentionDecoder.step", message: "source \(b) outside batch of \(S.batch)")
        }
        for id in previousTokens where id < 0 || Int(id) >= vocabularySize {
            throw .invalidArgument(where: "AttentionDecoder.step", message: "token id \(id) outside vocabulary of size \(vocabularySize)")
        }
        let ws = decoding[0]
        prepareDecoding(ws, layout: S, rows: n)
        let projection = projectMemory(memory, layout: S), tokenGates: UnsafePointer<Float>? = nil
        ws.hIn.data.update(from: hidden.data, count: n * H)
        ws.cIn.data.update(from: cell.data, count: n * H)
        ws.feedIn.data.update(from: feed.data, count: n * H)
        previousTokens.withUnsafeBufferPointer { tp in
            sources.withUnsafeBufferPointer { sp in
                stepRows(ws, n, tokens: tp.baseAddress!, sources: sp.baseAddress!, memory: memory.data, projection: projection, tokenGates: tokenGates, layout: S)
            }
        }
        hidden.data.update(from: ws.hOut.data, count: n * H)
        cell.data.update(from: ws.cOut.data, count: n * H)
        feed.data.update(from: ws.feedOut.data, count: n * H)
        ws.logits.resize([n, vocabularySize])
        return ws.logits
    }

    private func checkMemory(_ memory: Tensor, _ S: PackedLayout, where w: String) throws(NNError) {
        guard memory.shape == [S.tokenCount, memorySize] else {
            throw .shapeMismatch(where: "\(w) memory", expected: [S.tokenCount, memorySize], got: memory.shape)
        }
    }

    /// Sizes workspace `ws` for `rows` rows.
    private func prepareDecoding(_ ws: DecodingWorkspace, layout S: PackedLayout, rows R: Int) {
        let H = hiddenSize, D = memorySize, A = attentionSize, R1 = Swift.max(R, 1)
        ws.x.resize([R1, inputSize]); ws.gates.resize([R1, 4 * H]); ws.tanhCell.resize([R1, H])
        ws.query.resize([R1, attention == .bahdanau ? A : D]); ws.combined.resize([R1, D + H])
        ws.logits.resize([R1, vocabularySize]); ws.scores.resize([Swift.max(S.steps, 1)])
        for t in [ws.hIn, ws.cIn, ws.feedIn, ws.hOut, ws.cOut, ws.feedOut] { t.resize([R1, H]) }
    }

    /// Bahdanau's W_k m_j for every memory row, once per call (it does not depend on the step), in
    /// the first workspace; both halves read it. Nil for the other score functions.
    private func projectMemory(_ memory: Tensor, layout S: PackedLayout) -> UnsafePointer<Float>? {
        guard attention == .bahdanau else { return nil }
        let p = decoding[0].projection, A = attentionSize, D = memorySize
        p.resize([S.tokenCount, A])
        BLAS.gemm(false, true, S.tokenCount, A, D, 1, memory.data, D, memoryWeight!.value.data, D, 0, p.data, A)
        return UnsafePointer(p.data)
    }

    /// bias + emb(v)·W_Eᵀ for every token v, the embedding's share of the input gates, computed once
    /// per decoding call when that is cheaper than per decoded row (vocabulary no larger than a few
    /// rows per source; `rows` is the first step's row count). Nil: `stepRows` computes it per row.
    private func tokenGateTable(rows: Int) -> UnsafePointer<Float>? {
        let V = vocabularySize, G = 4 * hiddenSize, E = embeddingSize
        guard V <= 4 * rows else { return nil }
        let t = decoding[0].tokenGates
        t.resize([V, G])
        for v in 0..<V { (t.data + v * G).update(from: bias.value.data, count: G) }
        BLAS.gemm(false, true, V, G, E, 1, embedding.weight.value.data, E, weightIH.value.data, inputSize, 1, t.data, G)
        return UnsafePointer(t.data)
    }

    /// The two source ranges `greedy` and `beamSearch` decode separately: a split of 0..<B into
    /// contiguous halves of about equal total source length (output lengths, hence work, follow the
    /// source lengths). The split depends only on the lengths, never on the thread count, and the
    /// halves are decoded the same way whether in turn or concurrently, so the results are the same
    /// bits for any thread count.
    static func decodingHalves(_ S: PackedLayout) -> [Range<Int>] {
        let B = S.batch
        if B < 2 { return [0..<B, B..<B] }
        let total = S.lengths.reduce(0, +)
        var acc = 0, cut = 1
        for b in 0..<(B - 1) {
            acc += S.lengths[b]
            cut = b + 1
            if 2 * acc >= total { break }
        }
        return [0..<cut, cut..<B]
    }

    /// The step itself on the workspace: reads `hIn`, `cIn`, `feedIn` rows 0..<n, writes `hOut`,
    /// `cOut`, `feedOut` and `logits`. Mirrors one time step of `forward`, all rows in one GEMM each.
    private func stepRows(_ ws: DecodingWorkspace, _ n: Int, tokens: UnsafePointer<Int32>, sources: UnsafePointer<Int>,
                          memory mp: UnsafePointer<Float>, projection: UnsafePointer<Float>?, tokenGates: UnsafePointer<Float>?,
                          layout S: PackedLayout) {
        if n == 0 { return }
        let H = hiddenSize, E = embeddingSize, D = memorySize, A = attentionSize
        let G = 4 * H, I = inputSize, C = D + H, V = vocabularySize
        let xp = ws.x.data, gp = ws.gates.data, tcp = ws.tanhCell.data, cbp = ws.combined.data
        let hin = ws.hIn.data, cin = ws.cIn.data, fin = ws.feedIn.data
        let hout = ws.hOut.data, cout = ws.cOut.data, fout = ws.feedOut.data, lp = ws.logits.data
        let emb = embedding.weight.value.data, bp = bias.value.data
        // The gates as `forward` adds them: bias + emb(y)·W_Eᵀ (from the per-token table when given),
        // then + h̃·W_Fᵀ, then + h·W_hhᵀ.
        if let tokenGates {
            for i in 0..<n { (gp + i * G).update(from: tokenGates + Int(tokens[i]) * G, count: G) }
        } else {
            for i in 0..<n {
                (xp + i * E).update(from: emb + Int(tokens[i]) * E, count: E)
                (gp + i * G).update(from: bp, count: G)
            }
            BLAS.gemm(false, true, n, G, E, 1, xp, E, weightIH.value.data, I, 1, gp, G)
        }
        if inputFeeding { BLAS.gemm(false, true, n, G, H, 1, fin, H, weightIH.value.data + E, I, 1, gp, G) }
        BLAS.gemm(false, true, n, G, H, 1, hin, H, weightHH.value.data, H, 1, gp, G)
        for i in 0..<n { Kernels.gatesForward(gp + i * G, cin + i * H, cout + i * H, tcp + i * H, hout + i * H, H) }
        let qp = ws.query.data
        switch attention {
        case .dot: break
        case .general:
            BLAS.gemm(false, true, n, D, H, 1, hout, H, attentionWeight!.value.data, H, 0, qp, D)
        case .bahdanau:
            for i in 0..<n { (qp + i * A).update(from: queryBias!.value.data, count: A) }
            BLAS.gemm(false, true, n, A, H, 1, hout, H, queryWeight!.value.data, H, 1, qp, A)
        }
        let qStride = attention == .bahdanau ? A : D, cb = combineBias.value.data, sp = ws.scores.data
        for i in 0..<n {
            let h = hout + i * H, ctx = cbp + i * C
            attendRow(h: h, query: attention == .dot ? nil : UnsafePointer(qp + i * qStride), source: sources[i], layout: S,
                      memory: mp, projection: projection, scoreTanh: nil, scores: sp, weights: nil, context: ctx)
            (ctx + D).update(from: h, count: H)
            (fout + i * H).update(from: cb, count: H)
        }
        BLAS.gemm(false, true, n, H, C, 1, cbp, C, combineWeight.value.data, C, 1, fout, H)
        for k in 0..<(n * H) { fout[k] = Math.fastTanh(fout[k]) }
        let ob = outputBias.value.data
        for i in 0..<n { (lp + i * V).update(from: ob, count: V) }
        BLAS.gemm(false, true, n, V, H, 1, fout, H, outputWeight.value.data, H, 1, lp, V)
    }

    /// Copies the new state of row `parents[i]` to row i of the input buffers (rows that survive,
    /// reordered for the beam), ready for the next step.
    private func gatherState(_ ws: DecodingWorkspace, _ n: Int, parents: UnsafePointer<Int>) {
        let H = hiddenSize
        let hin = ws.hIn.data, cin = ws.cIn.data, fin = ws.feedIn.data
        let hout = ws.hOut.data, cout = ws.cOut.data, fout = ws.feedOut.data
        for i in 0..<n {
            let p = parents[i]
            (hin + i * H).update(from: hout + p * H, count: H)
            (cin + i * H).update(from: cout + p * H, count: H)
            (fin + i * H).update(from: fout + p * H, count: H)
        }
    }

    /// Row i of the input state starts source `sources[i]`: the given initial state (zeros when nil)
    /// and a zero attentional vector, as `forward` at t = 0.
    private func initialState(_ ws: DecodingWorkspace, _ sources: [Int], initialHidden: Tensor?, initialCell: Tensor?) {
        let H = hiddenSize
        for (i, b) in sources.enumerated() {
            if let h0 = initialHidden { (ws.hIn.data + i * H).update(from: h0.data + b * H, count: H) } else { (ws.hIn.data + i * H).update(repeating: 0, count: H) }
            if let c0 = initialCell { (ws.cIn.data + i * H).update(from: c0.data + b * H, count: H) } else { (ws.cIn.data + i * H).update(repeating: 0, count: H) }
            (ws.feedIn.data + i * H).update(repeating: 0, count: H)
        }
    }

    /// Checks the common arguments; returns the maximum length per source and the forbidden-id mask.
    private func decodingSetup(memory: Tensor, layout S: PackedLayout, initialHidden: Tensor?, initialCell: Tensor?,
                               bos: Int32, eos: Int32, options o: DecodingOptions, maxLengths: [Int]?,
                               where w: String) throws(NNError) -> (maxLengths: [Int], forbidden: [Bool]) {
        let V = vocabularySize
        try checkMemory(memory, S, where: w)
        for s in [initialHidden, initialCell] {
            if let s, s.shape != [S.batch, hiddenSize] { throw .shapeMismatch(where: "\(w) initial state", expected: [S.batch, hiddenSize], got: s.shape) }
        }
        for (name, id) in [("bos", bos), ("eos", eos)] where id < 0 || Int(id) >= V {
            throw .invalidArgument(where: w, message: "\(name) id \(id) outside vocabulary of size \(V)")
        }
        guard o.beamSize >= 1, o.nBest >= 1, o.nBest <= o.beamSize else {
            throw .invalidArgument(where: w, message: "need 1 ≤ nBest (\(o.nBest)) ≤ beamSize (\(o.beamSize))")
        }
        var forbidden = [Bool](repeating: false, count: V)
        forbidden[Int(bos)] = true
        if let p = embedding.paddingID, p >= 0, Int(p) < V { forbidden[Int(p)] = true }
        for id in o.forbiddenTokens {
            guard id >= 0 && Int(id) < V else { throw .invalidArgument(where: w, message: "forbidden id \(id) outside vocabulary of size \(V)") }
            forbidden[Int(id)] = true
        }
        if forbidden[Int(eos)] { throw .invalidArgument(where: w, message: "eos id \(eos) is forbidden (it is bos, padding or listed)") }
        let lengths: [Int]
        if let maxLengths {
            guard maxLengths.count == S.batch else { throw .shapeMismatch(where: "\(w) maxLengths", expected: [S.batch], got: [maxLengths.count]) }
            guard maxLengths.allSatisfy({ $0 >= 1 }) else { throw .invalidArgument(where: w, message: "maximum lengths must be ≥ 1") }
            lengths = maxLengths
        } else {
            lengths = S.lengths.map { Self.maxLength(sourceLength: $0, ratio: o.maxLengthRatio, offset: o.maxLengthOffset) }
        }
        return (lengths, forbidden)
    }

    // MARK: Greedy

    /// Greedy decoding of every source of the batch at once: each step takes the most probable
    /// allowed token of every unfinished source (one GEMM over all of them). A source ends at `<eos>`
    /// or after its maximum number of steps.
    ///
    /// - memory: encoder outputs `[N_source, D]` packed by `sourceLayout`; initialHidden/initialCell
    ///   `[B, H]` in batch order or nil for zeros.
    /// - maxLengths: steps per source (`<eos>` included); nil derives them from `options`
    ///   (`maxLength(sourceLength:ratio:offset:)`).
    /// Returns one hypothesis per source in batch order, scored with `options.lengthPenalty`.
    public func greedy(memory: Tensor, sourceLayout S: PackedLayout, initialHidden: Tensor? = nil, initialCell: Tensor? = nil,
                       bos: Int32, eos: Int32, options: DecodingOptions = DecodingOptions(),
                       maxLengths: [Int]? = nil) throws(NNError) -> [Hypothesis] {
        let (maxLens, forbidden) = try decodingSetup(memory: memory, layout: S, initialHidden: initialHidden, initialCell: initialCell,
                                                     bos: bos, eos: eos, options: options, maxLengths: maxLengths, where: "AttentionDecoder.greedy")
        let projection = projectMemory(memory, layout: S), tokenGates = tokenGateTable(rows: S.batch)
        let halves = Self.decodingHalves(S)
        var results: [[Hypothesis]] = [[], []]
        // Sources are independent: each half runs its own step loop, on its own core when threads ≥ 2.
        results.withUnsafeMutableBufferPointer { out in
            BLAS.parallelPair { h in
                out[h] = greedyHalf(decoding[h], sources: halves[h], memory: memory, layout: S, projection: projection, tokenGates: tokenGates,
                                    initialHidden: initialHidden, initialCell: initialCell, bos: bos, eos: eos,
                                    penalty: options.lengthPenalty, maxLengths: maxLens, forbidden: forbidden)
            }
        }
        return results[0] + results[1]
    }

    /// Greedy decoding of the sources `range` in workspace `ws`; one hypothesis per source in order.
    private func greedyHalf(_ ws: DecodingWorkspace, sources range: Range<Int>, memory: Tensor, layout S: PackedLayout,
                            projection: UnsafePointer<Float>?, tokenGates: UnsafePointer<Float>?, initialHidden: Tensor?, initialCell: Tensor?,
                            bos: Int32, eos: Int32, penalty: LengthPenalty, maxLengths maxLens: [Int], forbidden: [Bool]) -> [Hypothesis] {
        let B = range.count, V = vocabularySize, first = range.lowerBound
        if B == 0 { return [] }
        prepareDecoding(ws, layout: S, rows: B)
        var rowSource = Array(range), rowToken = [Int32](repeating: bos, count: B), rowScore = [Float](repeating: 0, count: B)
        var parents = [Int](repeating: 0, count: B)
        var out = range.map { b in Hypothesis(tokens: { var a = [Int32](); a.reserveCapacity(maxLens[b]); return a }(), logProbability: 0, score: 0) }
        initialState(ws, rowSource, initialHidden: initialHidden, initialCell: initialCell)
        let logits = ws.logits.data
        var n = B, t = 0
        while n > 0 {
            rowToken.withUnsafeBufferPointer { tp in
                rowSource.withUnsafeBufferPointer { sp in
                    stepRows(ws, n, tokens: tp.baseAddress!, sources: sp.baseAddress!, memory: memory.data, projection: projection, tokenGates: tokenGates, layout: S)
                }
            }
            var m = 0
            for i in 0..<n {
                let l = logits + i * V, lse = Math.logSumExp(l, V)
                var best = -1, bestLogit = -Float.infinity
                for v in 0..<V where !forbidden[v] && (best < 0 || l[v] > bestLogit) { best = v; bestLogit = l[v] }
                let score = rowScore[i] + (bestLogit - lse), b = rowSource[i], o = b - first
                if best == Int(eos) || t + 1 >= maxLens[b] {
                    if best != Int(eos) { out[o].tokens.append(Int32(best)) }
                    out[o].logProbability = score
                    out[o].score = penalty.normalize(score, length: t + 1)
                } else {
                    out[o].tokens.append(Int32(best))
                    rowSource[m] = b; rowToken[m] = Int32(best); rowScore[m] = score; parents[m] = i
                    m += 1
                }
            }
            parents.withUnsafeBufferPointer { gatherState(ws, m, parents: $0.baseAddress!) }
            n = m; t += 1
        }
        return out
    }

    // MARK: Beam search

    /// Beam search over every source of the batch at once: the live hypotheses of all sources form the
    /// rows of one step (one GEMM each), K per source.
    ///
    /// Per step and source (fairseq's candidate rule): each live hypothesis is extended by every
    /// allowed token with its log-softmax; the candidates are ranked by raw log-probability sum (ties
    /// by parent rank, then token id). Walking that ranking, a candidate ending in `<eos>` is finished
    /// when it is among the top K candidates (its penalised score is recorded), and the first K
    /// candidates not ending in `<eos>` stay live.
    ///
    /// Stopping rule per source, checked after each step, in this order:
    /// 1. at its maximum length the live hypotheses are finished as they are (without `<eos>`);
    /// 2. no live hypothesis remains (only when fewer than K tokens are allowed);
    /// 3. it has at least K finished hypotheses and the best finished score cannot be beaten: the raw
    ///    sum of a live hypothesis s ≤ 0 only decreases, so any continuation of length L scores at most
    ///    s / lp(L); the bound is the best live s under the penalty at the next length or at the maximum
    ///    length (lp is monotone, so one of the two ends is the largest). With `.none` this is exactly
    ///    "the best live hypothesis is already worse than the best finished one"; with a penalty it is
    ///    never premature, though it may decode longer than fairseq's "stop at K finished".
    /// So the best returned hypothesis is the best the beam can reach, never one cut early.
    ///
    /// Returns per source (batch order) the `options.nBest` best finished hypotheses by penalised
    /// score (ties: higher raw sum, then earlier finished), fewer only if fewer finished.
    public func beamSearch(memory: Tensor, sourceLayout S: PackedLayout, initialHidden: Tensor? = nil, initialCell: Tensor? = nil,
                           bos: Int32, eos: Int32, options: DecodingOptions = DecodingOptions(),
                           maxLengths: [Int]? = nil) throws(NNError) -> [[Hypothesis]] {
        let (maxLens, forbidden) = try decodingSetup(memory: memory, layout: S, initialHidden: initialHidden, initialCell: initialCell,
                                                     bos: bos, eos: eos, options: options, maxLengths: maxLengths, where: "AttentionDecoder.beamSearch")
        let projection = projectMemory(memory, layout: S), tokenGates = tokenGateTable(rows: S.batch * options.beamSize)
        let halves = Self.decodingHalves(S)
        var results: [[[Hypothesis]]] = [[], []]
        // Sources are independent: each half runs its own beam, on its own core when threads ≥ 2.
        results.withUnsafeMutableBufferPointer { out in
            BLAS.parallelPair { h in
                out[h] = beamHalf(decoding[h], sources: halves[h], memory: memory, layout: S, projection: projection, tokenGates: tokenGates,
                                  initialHidden: initialHidden, initialCell: initialCell, bos: bos, eos: eos,
                                  options: options, maxLengths: maxLens, forbidden: forbidden)
            }
        }
        return results[0] + results[1]
    }

    /// Beam search over the sources `range` in workspace `ws`; the n-best lists per source in order.
    private func beamHalf(_ ws: DecodingWorkspace, sources range: Range<Int>, memory: Tensor, layout S: PackedLayout,
                          projection: UnsafePointer<Float>?, tokenGates: UnsafePointer<Float>?, initialHidden: Tensor?, initialCell: Tensor?,
                          bos: Int32, eos: Int32, options: DecodingOptions, maxLengths maxLens: [Int], forbidden: [Bool]) -> [[Hypothesis]] {
        let B = range.count, first = range.lowerBound, V = vocabularySize, K = options.beamSize, penalty = options.lengthPenalty
        if B == 0 { return [] }
        let allowed = forbidden.reduce(0) { $0 + ($1 ? 0 : 1) }
        // K + 1 per hypothesis suffice: a kept candidate has at most K − 1 live and one <eos>
        // candidate of its own parent ranked above it.
        let M = Swift.min(K + 1, allowed), Rmax = B * K
        prepareDecoding(ws, layout: S, rows: Rmax)

        var rowSource = [Int](repeating: 0, count: Rmax), rowToken = [Int32](repeating: bos, count: Rmax)
        var rowScore = [Float](repeating: 0, count: Rmax), rowHistory = [Int32](repeating: -1, count: Rmax)
        var nextSource = rowSource, nextToken = rowToken, nextScore = rowScore, nextHistory = rowHistory
        var parents = [Int](repeating: 0, count: Rmax)
        var candToken = [Int32](repeating: 0, count: Rmax * M), candValue = [Float](repeating: 0, count: Rmax * M)
        var candCount = [Int](repeating: 0, count: Rmax)
        struct Candidate { var value: Float; var row: Int; var token: Int32 }
        var merged = [Candidate](); merged.reserveCapacity(K * M)
        // Back-pointers: entry e is token historyToken[e] following entry historyParent[e] (−1: none).
        var historyToken = [Int32](), historyParent = [Int32]()
        historyToken.reserveCapacity(Rmax * (maxLens.max() ?? 1)); historyParent.reserveCapacity(Rmax * (maxLens.max() ?? 1))
        struct Finished { var history: Int32; var logProbability: Float; var score: Float }
        var finished = [[Finished]](repeating: [], count: B)
        for b in 0..<B { finished[b].reserveCapacity(2 * K) }
        var bestFinished = [Float](repeating: -.infinity, count: B)

        for b in 0..<B { rowSource[b] = first + b }
        initialState(ws, Array(range), initialHidden: initialHidden, initialCell: initialCell)
        let logits = ws.logits.data
        var R = B, t = 0
        while R > 0 {
            rowToken.withUnsafeBufferPointer { tp in
                rowSource.withUnsafeBufferPointer { sp in
                    stepRows(ws, R, tokens: tp.baseAddress!, sources: sp.baseAddress!, memory: memory.data, projection: projection, tokenGates: tokenGates, layout: S)
                }
            }
            // The M best allowed tokens of each row by logit (ties: lower id), then their summed log-probabilities.
            for i in 0..<R {
                let l = logits + i * V, lse = Math.logSumExp(l, V), base = i * M
                var c = 0
                for v in 0..<V where !forbidden[v] {
                    let x = l[v]
                    if c == M && !(x > candValue[base + M - 1]) { continue }
                    var q = c < M ? c : M - 1
                    if c < M { c += 1 }
                    while q > 0 && candValue[base + q - 1] < x {
                        candValue[base + q] = candValue[base + q - 1]; candToken[base + q] = candToken[base + q - 1]; q -= 1
                    }
                    candValue[base + q] = x; candToken[base + q] = Int32(v)
                }
                candCount[i] = c
                for q in 0..<c { candValue[base + q] = rowScore[i] + (candValue[base + q] - lse) }
            }
            var nR = 0, i = 0
            while i < R {
                let b = rowSource[i], o = b - first
                var j = i
                while j < R && rowSource[j] == b { j += 1 }
                // Stable insertion sort of the group's candidates: equal sums keep parent rank, then token order.
                merged.removeAll(keepingCapacity: true)
                for r in i..<j {
                    for q in 0..<candCount[r] {
                        let cand = Candidate(value: candValue[r * M + q], row: r, token: candToken[r * M + q])
                        merged.append(cand)
                        var p = merged.count - 1
                        while p > 0 && merged[p - 1].value < cand.value { merged[p] = merged[p - 1]; p -= 1 }
                        merged[p] = cand
                    }
                }
                let first = nR
                var live = 0
                for k in 0..<merged.count {
                    if live == K && k >= K { break }
                    let cand = merged[k]
                    if cand.token == eos {
                        if k < K {
                            let score = penalty.normalize(cand.value, length: t + 1)
                            finished[o].append(Finished(history: rowHistory[cand.row], logProbability: cand.value, score: score))
                            bestFinished[o] = Swift.max(bestFinished[o], score)
                        }
                    } else if live < K {
                        historyToken.append(cand.token); historyParent.append(rowHistory[cand.row])
                        nextSource[nR] = b; nextToken[nR] = cand.token; nextScore[nR] = cand.value
                        nextHistory[nR] = Int32(historyToken.count - 1); parents[nR] = cand.row
                        nR += 1; live += 1
                    }
                }
                if t + 1 >= maxLens[b] {
                    for q in first..<nR {
                        let score = penalty.normalize(nextScore[q], length: t + 1)
                        finished[o].append(Finished(history: nextHistory[q], logProbability: nextScore[q], score: score))
                    }
                    nR = first
                } else if live > 0 && finished[o].count >= K {
                    let s = nextScore[first]
                    let bound = Swift.max(penalty.normalize(s, length: t + 2), penalty.normalize(s, length: maxLens[b]))
                    if bestFinished[o] >= bound { nR = first }
                }
                i = j
            }
            for q in 0..<nR {
                rowSource[q] = nextSource[q]; rowToken[q] = nextToken[q]; rowScore[q] = nextScore[q]; rowHistory[q] = nextHistory[q]
            }
            parents.withUnsafeBufferPointer { gatherState(ws, nR, parents: $0.baseAddress!) }
            R = nR; t += 1
        }

        return finished.map { list in
            let ranked = list.enumerated().sorted { a, b in
                if a.element.score != b.element.score { return a.element.score > b.element.score }
                if a.element.logProbability != b.element.logProbability { return a.element.logProbability > b.element.logProbability }
                return a.offset < b.offset
            }
            return ranked.prefix(options.nBest).map { f in
                var tokens = [Int32](), e = f.element.history
                while e >= 0 { tokens.append(historyToken[Int(e)]); e = historyParent[Int(e)] }
                return Hypothesis(tokens: tokens.reversed(), logProbability: f.element.logProbability, score: f.element.score)
            }
        }
    }
}
