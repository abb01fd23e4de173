// MARK: - Linear-chain CRF

/// A linear-chain conditional random field over per-token emission scores.
///
/// Score of a tag path y: start[y₀] + Σ_t E[t, y_t] + Σ_t T[y_{t−1}, y_t] + end[y_{L−1}]. The loss is
/// log Z − score(gold), averaged over present sequences; `decode` is Viterbi. Optional constraints
/// (e.g. `bioConstraints`) forbid transitions and first tags: forbidden paths get probability 0.
/// Parameters: `crf.transitions [K, K]` (row = from, column = to), `crf.start [K]`, `crf.end [K]`.
public final class CRF: ParameterContainer {
    public let tagCount: Int
    public let transitions: Parameter, start: Parameter, end: Parameter
    /// Allowed transitions `[K×K]` (from × to) and allowed first tags `[K]`; nil = all allowed.
    public private(set) var allowedTransitions: [Bool]?
    public private(set) var allowedStart: [Bool]?
    public var parameters: [Parameter] { [transitions, start, end] }

    public init(tagCount: Int, rng: inout SplitMix64) {
        self.tagCount = tagCount
        transitions = Parameter(name: "crf.transitions", shape: [tagCount, tagCount], decays: false)
        start = Parameter(name: "crf.start", shape: [tagCount], decays: false)
        end = Parameter(name: "crf.end", shape: [tagCount], decays: false)
        transitions.value.fillUniform(0.1, rng: &rng)
        start.value.fillUniform(0.1, rng: &rng)
        end.value.fillUniform(0.1, rng: &rng)
    }

    /// Restricts paths. `transitions` is `[K×K]` (from × to), `start` is `[K]`.
    public func constrain(transitions t: [Bool], start s: [Bool]) throws(NNError) {
        let K = tagCount
        guard t.count == K * K, s.count == K else { throw .shapeMismatch(where: "CRF.constrain", expected: [K * K, K], got: [t.count, s.count]) }
        allowedTransitions = t; allowedStart = s
    }

    /// BIO constraints from tag names (`O`, `B-X`, `I-X`): `I-X` may only follow `B-X` or `I-X`, and
    /// cannot start a sequence. Returns (transitions `[K×K]`, start `[K]`) for `constrain`.
    public static func bioConstraints(tags: [String]) -> (transitions: [Bool], start: [Bool]) {
        let K = tags.count
        func split(_ s: String) -> (Character?, Substring) {
            guard s.count >= 2, let f = s.first, "BIES".contains(f), s.dropFirst().first == "-" else { return (nil, Substring(s)) }
            return (f, s.dropFirst(2))
        }
        var t = [Bool](repeating: true, count: K * K), st = [Bool](repeating: true, count: K)
        for j in 0..<K {
            let (pj, tj) = split(tags[j])
            guard pj == "I" else { continue }
            st[j] = false
            for i in 0..<K {
                let (pi, ti) = split(tags[i])
                t[i * K + j] = (pi == "B" || pi == "I") && ti == tj
            }
        }
        return (t, st)
    }

    @inline(__always) private func trans(_ i: Int, _ j: Int) -> Float {
        if let a = allowedTransitions, !a[i * tagCount + j] { return -.infinity }
        return transitions.value.data[i * tagCount + j]
    }
    @inline(__always) private func startScore(_ j: Int) -> Float {
        if let a = allowedStart, !a[j] { return -.infinity }
        return start.value.data[j]
    }

    /// Forward algorithm over one sequence's emissions `[L×K]`; fills `alpha` and returns log Z.
    private func forwardScores(_ e: [Float], _ L: Int, _ alpha: inout [Float]) -> Float {
        let K = tagCount
        var tmp = [Float](repeating: 0, count: K)
        for j in 0..<K { alpha[j] = startScore(j) + e[j] }
        for t in 1..<Swift.max(L, 1) where t < L {
            for j in 0..<K {
                for i in 0..<K { tmp[i] = alpha[(t - 1) * K + i] + trans(i, j) }
                alpha[t * K + j] = e[t * K + j] + tmp.withUnsafeBufferPointer { Math.logSumExp($0.baseAddress!, K) }
            }
        }
        for j in 0..<K { tmp[j] = alpha[(L - 1) * K + j] + end.value.data[j] }
        return tmp.withUnsafeBufferPointer { Math.logSumExp($0.baseAddress!, K) }
    }

    /// log Z of one sequence with emissions `[L×K]` (row-major).
    public func logPartition(emissions e: [Float]) -> Float {
        let L = e.count / tagCount
        var alpha = [Float](repeating: 0, count: e.count)
        return forwardScores(e, L, &alpha)
    }

    /// Score of a tag path for one sequence with emissions `[L×K]`.
    public func score(emissions e: [Float], tags y: [Int32]) -> Float {
        let K = tagCount
        var s = startScore(Int(y[0])) + e[Int(y[0])]
        for t in 1..<Swift.max(y.count, 1) where t < y.count { s += trans(Int(y[t - 1]), Int(y[t])) + e[t * K + Int(y[t])] }
        return s + end.value.data[Int(y[y.count - 1])]
    }

    private func gather(_ emissions: Tensor, _ L: PackedLayout, _ b: Int) -> [Float] {
        let K = tagCount, n = L.lengths[b]
        var e = [Float](repeating: 0, count: n * K)
        for t in 0..<n { let r = L.row(batch: b, time: t); for k in 0..<K { e[t * K + k] = emissions.data[r * K + k] } }
        return e
    }

    /// Mean negative log-likelihood over present sequences. `emissions` is packed `[N, K]`, `tags`
    /// packed `[N]` (see `PackedLayout.pack`). Writes ∂loss/∂emissions·scale to `gradient` and
    /// accumulates the CRF parameters' gradients (also scaled). Throws, before writing any gradient,
    /// when a present sequence has a tag outside `0..<tagCount` or a gold path the constraints forbid.
    public func loss(emissions: Tensor, tags: [Int32], layout L: PackedLayout, mask: [Bool]? = nil,
                     gradient: Tensor, scale: Float = 1) throws(NNError) -> Float {
        let K = tagCount, N = L.tokenCount
        guard emissions.shape == [N, K] else { throw .shapeMismatch(where: "CRF.loss emissions", expected: [N, K], got: emissions.shape) }
        guard tags.count == N else { throw .shapeMismatch(where: "CRF.loss tags", expected: [N], got: [tags.count]) }
        if let mask, mask.count != L.batch { throw .shapeMismatch(where: "CRF.loss mask", expected: [L.batch], got: [mask.count]) }
        let present = (0..<L.batch).filter { mask?[$0] ?? true }
        // Validate every present sequence before writing anything: an error leaves `gradient` and the
        // parameters' gradients untouched.
        var golds: [Float] = []
        golds.reserveCapacity(present.count)
        for b in present {
            let n = L.lengths[b]
            let y = (0..<n).map { tags[L.row(batch: b, time: $0)] }
            for (t, v) in y.enumerated() where v < 0 || Int(v) >= K {
                throw .invalidArgument(where: "CRF.loss", message: "tag \(v) outside 0..<\(K) (sequence \(b), position \(t))")
            }
            let gold = score(emissions: gather(emissions, L, b), tags: y)
            guard gold > -.infinity else {
                throw .invalidArgument(where: "CRF.loss", message: "gold tags of sequence \(b) violate the transition constraints")
            }
            golds.append(gold)
        }
        gradient.resize([N, K], zero: true)
        if present.isEmpty { return 0 }
        let k = scale / Float(present.count)
        var total: Double = 0
        for (idx, b) in present.enumerated() {
            let n = L.lengths[b]
            let e = gather(emissions, L, b)
            let y = (0..<n).map { tags[L.row(batch: b, time: $0)] }
            var alpha = [Float](repeating: 0, count: n * K)
            let logZ = forwardScores(e, n, &alpha)
            total += Double(logZ - golds[idx])
            // Backward scores.
            var beta = [Float](repeating: 0, count: n * K), tmp = [Float](repeating: 0, count: K)
            for j in 0..<K { beta[(n - 1) * K + j] = end.value.data[j] }
            if n >= 2 {
                for t in stride(from: n - 2, through: 0, by: -1) {
                    for i in 0..<K {
                        for j in 0..<K { tmp[j] = trans(i, j) + e[(t + 1) * K + j] + beta[(t + 1) * K + j] }
                        beta[t * K + i] = tmp.withUnsafeBufferPointer { Math.logSumExp($0.baseAddress!, K) }
                    }
                }
            }
            // Marginals minus gold indicators.
            let dT = transitions.grad.data, dS = start.grad.data, dE = end.grad.data
            for t in 0..<n {
                let r = L.row(batch: b, time: t)
                for j in 0..<K {
                    let p = Math.exp(alpha[t * K + j] + beta[t * K + j] - logZ) - (Int(y[t]) == j ? 1 : 0)
                    gradient.data[r * K + j] = p * k
                    if t == 0 && !start.frozen { dS[j] += p * k }
                    if t == n - 1 && !end.frozen { dE[j] += (Math.exp(alpha[t * K + j] + end.value.data[j] - logZ) - (Int(y[t]) == j ? 1 : 0)) * k }
                }
                if t + 1 < n && !transitions.frozen {
                    for i in 0..<K {
                        for j in 0..<K {
                            let tr = trans(i, j)
                            if tr == -.infinity { continue }
                            let p = Math.exp(alpha[t * K + i] + tr + e[(t + 1) * K + j] + beta[(t + 1) * K + j] - logZ)
                            dT[i * K + j] += p * k
                        }
                    }
                    dT[Int(y[t]) * K + Int(y[t + 1])] -= k
                }
            }
        }
        return Float(total / Double(present.count))
    }

    /// Viterbi decoding: the best allowed tag path of every sequence, in batch order.
    public func decode(emissions: Tensor, layout L: PackedLayout) throws(NNError) -> [[Int32]] {
        let K = tagCount, N = L.tokenCount
        guard emissions.shape == [N, K] else { throw .shapeMismatch(where: "CRF.decode emissions", expected: [N, K], got: emissions.shape) }
        return (0..<L.batch).map { b in viterbi(emissions: gather(emissions, L, b)).path }
    }

    /// Best path and its score for one sequence with emissions `[L×K]`.
    public func viterbi(emissions e: [Float]) -> (path: [Int32], score: Float) {
        let K = tagCount, n = e.count / K
        var delta = [Float](repeating: 0, count: n * K), back = [Int32](repeating: 0, count: n * K)
        for j in 0..<K { delta[j] = startScore(j) + e[j] }
        for t in 1..<Swift.max(n, 1) where t < n {
            for j in 0..<K {
                var best = -Float.infinity, arg = 0
                for i in 0..<K { let s = delta[(t - 1) * K + i] + trans(i, j); if s > best { best = s; arg = i } }
                delta[t * K + j] = best + e[t * K + j]; back[t * K + j] = Int32(arg)
            }
        }
        var best = -Float.infinity, arg = 0
        for j in 0..<K { let s = delta[(n - 1) * K + j] + end.value.data[j]; if s > best { best = s; arg = j } }
        var path = [Int32](repeating: 0, count: n)
        path[n - 1] = Int32(arg)
        if n >= 2 { for t in stride(from: n - 1, to: 0, by: -1) { path[t - 1] = back[t * K + Int(path[t])] } }
        return (path, best)
    }
}
