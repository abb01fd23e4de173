import Testing
@testable import NN

extension NNTests {
    /// All K^L paths of one sequence.
    static func allPaths(_ K: Int, _ L: Int) -> [[Int32]] {
        var out: [[Int32]] = [[]]
        for _ in 0..<L { out = out.flatMap { p in (0..<K).map { p + [Int32($0)] } } }
        return out
    }

    @Test(arguments: [false, true])
    func crfMatchesBruteForce(constrained: Bool) throws {
        var rng = SplitMix64(seed: 20)
        let tags = ["O", "B-X", "I-X", "B-Y", "I-Y"]
        let K = tags.count
        let crf = CRF(tagCount: K, rng: &rng)
        crf.transitions.value.fillUniform(1, rng: &rng)
        if constrained {
            let c = CRF.bioConstraints(tags: tags)
            #expect(c.transitions[0 * K + 2] == false)   // O → I-X forbidden
            #expect(c.transitions[1 * K + 2] == true)    // B-X → I-X allowed
            #expect(c.transitions[3 * K + 2] == false)   // B-Y → I-X forbidden
            #expect(c.start[2] == false && c.start[1] == true)
            try crf.constrain(transitions: c.transitions, start: c.start)
        }
        for L in 1...4 {
            let e = (0..<(L * K)).map { _ in rng.nextUniform() * 2 - 1 }
            var bestScore = -Float.infinity, bestPath: [Int32] = []
            var scores: [Double] = []
            for p in Self.allPaths(K, L) {
                let s = crf.score(emissions: e, tags: p)
                if s > -.infinity { scores.append(Double(s)) }
                if s > bestScore { bestScore = s; bestPath = p }
            }
            let m = scores.max()!
            let logZ = m + Math.logD(scores.reduce(0) { $0 + Math.expD($1 - m) })
            #expect(abs(Double(crf.logPartition(emissions: e)) - logZ) < 1e-4)
            let v = crf.viterbi(emissions: e)
            #expect(v.path == bestPath)
            #expect(abs(v.score - bestScore) < 1e-5)
        }
    }

    @Test func crfGradients() throws {
        var rng = SplitMix64(seed: 21)
        let K = 4
        let L = try PackedLayout(lengths: [3, 1, 4], paddedLength: 4)
        let crf = CRF(tagCount: K, rng: &rng)
        crf.transitions.value.fillUniform(1, rng: &rng)
        let c = CRF.bioConstraints(tags: ["O", "B-X", "I-X", "B-Y"])
        try crf.constrain(transitions: c.transitions, start: c.start)
        let padded: [Int32] = [1, 2, 0, 0, /**/ 3, 0, 0, 0, /**/ 0, 1, 2, 2]
        let tags = try L.pack(padded)
        let e = randomTensor([L.tokenCount, K], &rng)
        let g = Tensor(shape: [0])
        crf.zeroGrad()
        let loss = try crf.loss(emissions: e, tags: tags, layout: L, gradient: g)
        #expect(loss > 0)
        let errs = try GradCheck(h: 1e-2).run(paramTargets(crf.parameters) + [("emissions", e, g.toArray())]) {
            Double(try crf.loss(emissions: e, tags: tags, layout: L, gradient: Tensor(shape: [0])))
        }
        // The probe calls accumulate into the gradients; the analytic values were copied before.
        expectSmall(errs)
        // Gold path violating the constraints is a user error, not a crash.
        let bad = try L.pack([2, 2, 0, 0, 3, 0, 0, 0, 0, 1, 2, 2] as [Int32])
        #expect(throws: NNError.self) { try crf.loss(emissions: e, tags: bad, layout: L, gradient: g) }
        let decoded = try crf.decode(emissions: e, layout: L)
        #expect(decoded.map(\.count) == [3, 1, 4])
    }

    @Test func perTokenSoftmaxOverPackedRows() throws {
        // Tagging with per-token softmax: pack targets with the layout and use the row loss.
        let L = try PackedLayout(lengths: [2, 3], paddedLength: 3)
        let tags = try L.pack([1, 0, -1, 2, 2, 1] as [Int32])
        #expect(tags == [2, 1, 2, 0, 1])
        let rowMask = L.perRow([true, false])
        #expect(rowMask == [false, true, false, true, false])
    }

    /// Path score from the documented formula, written out here (independent of `CRF.score`):
    /// start[y₀] + Σ_t E[t, y_t] + Σ_t T[y_{t−1}, y_t] + end[y_{L−1}]; nil when the constraints forbid it.
    static func referenceScore(_ crf: CRF, _ e: [Float], _ y: [Int32], allowed: (transitions: [Bool], start: [Bool])?) -> Double? {
        let K = crf.tagCount
        let T = crf.transitions.value.toArray(), S = crf.start.value.toArray(), E = crf.end.value.toArray()
        if let a = allowed, !a.start[Int(y[0])] { return nil }
        var s = Double(S[Int(y[0])])
        for t in 0..<y.count {
            s += Double(e[t * K + Int(y[t])])
            if t > 0 {
                if let a = allowed, !a.transitions[Int(y[t - 1]) * K + Int(y[t])] { return nil }
                s += Double(T[Int(y[t - 1]) * K + Int(y[t])])
            }
        }
        return s + Double(E[Int(y[y.count - 1])])
    }

    @Test(arguments: [false, true])
    func packedCRFLossAndDecodeMatchPerSequenceBruteForce(constrained: Bool) throws {
        var rng = SplitMix64(seed: 22)
        let tags = ["O", "B-X", "I-X"]
        let K = tags.count
        let crf = CRF(tagCount: K, rng: &rng)
        crf.transitions.value.fillUniform(1, rng: &rng)
        crf.start.value.fillUniform(1, rng: &rng)
        crf.end.value.fillUniform(1, rng: &rng)
        let allowed = constrained ? CRF.bioConstraints(tags: tags) : nil
        if let allowed { try crf.constrain(transitions: allowed.transitions, start: allowed.start) }
        let lengths: [Int32] = [3, 1, 5, 2, 4]
        let T = 5
        let L = try PackedLayout(lengths: lengths, paddedLength: T)
        let emissions = randomTensor([L.tokenCount, K], &rng, scale: 2)
        // Gold tags: valid BIO paths (I-X only after B-X or I-X).
        let paddedGold: [[Int32]] = [[1, 2, 0], [0], [1, 2, 2, 0, 1], [0, 1], [1, 2, 0, 0]]
        var padded = [Int32](repeating: -1, count: lengths.count * T)
        for (b, p) in paddedGold.enumerated() { for (t, v) in p.enumerated() { padded[b * T + t] = v } }
        let gold = try L.pack(padded)

        for mask in [nil, [true, false, true, true, false]] as [[Bool]?] {
            var expected = 0.0, present = 0
            var expectedPaths: [[Int32]] = []
            for b in 0..<lengths.count {
                let n = Int(lengths[b])
                var e = [Float](repeating: 0, count: n * K)
                for t in 0..<n { for k in 0..<K { e[t * K + k] = emissions.data[L.row(batch: b, time: t) * K + k] } }
                var scores: [Double] = [], best = -Double.infinity, bestPath: [Int32] = []
                for p in Self.allPaths(K, n) {
                    guard let s = Self.referenceScore(crf, e, p, allowed: allowed) else { continue }
                    scores.append(s)
                    if s > best { best = s; bestPath = p }
                }
                expectedPaths.append(bestPath)
                guard mask?[b] ?? true else { continue }
                let m = scores.max()!
                let logZ = m + Math.logD(scores.reduce(0) { $0 + Math.expD($1 - m) })
                expected += logZ - Self.referenceScore(crf, e, paddedGold[b], allowed: allowed)!
                present += 1
            }
            expected /= Double(present)
            let got = try crf.loss(emissions: emissions, tags: gold, layout: L, mask: mask, gradient: Tensor(shape: [0]))
            #expect(abs(Double(got) - expected) < 1e-4 * max(1, abs(expected)), "mask \(String(describing: mask)): \(got) vs \(expected)")
            // Masked-out sequences get no emission gradient.
            let g = Tensor(shape: [0])
            _ = try crf.loss(emissions: emissions, tags: gold, layout: L, mask: mask, gradient: g)
            for b in 0..<lengths.count where !(mask?[b] ?? true) {
                for t in 0..<Int(lengths[b]) { for k in 0..<K { #expect(g.data[L.row(batch: b, time: t) * K + k] == 0) } }
            }
            #expect(try crf.decode(emissions: emissions, layout: L) == expectedPaths)
        }
        // A fully masked batch has loss 0.
        #expect(try crf.loss(emissions: emissions, tags: gold, layout: L, mask: [Bool](repeating: false, count: 5), gradient: Tensor(shape: [0])) == 0)
    }

    @Test(arguments: ["out of range", "forbidden"])
    func crfErrorInLaterSequenceLeavesGradientsUntouched(kind: String) throws {
        var rng = SplitMix64(seed: 23)
        let K = 3
        let crf = CRF(tagCount: K, rng: &rng)
        let c = CRF.bioConstraints(tags: ["O", "B-X", "I-X"])
        try crf.constrain(transitions: c.transitions, start: c.start)
        let L = try PackedLayout(lengths: [3, 2], paddedLength: 3)
        let e = randomTensor([L.tokenCount, K], &rng)
        // Sequence 0 is valid; sequence 1 has a tag out of range, or starts with I-X (forbidden).
        let second: [Int32] = kind == "forbidden" ? [2, 2, -1] : [0, Int32(K), -1]
        let tags = try L.pack([1, 2, 0] + second)
        for p in crf.parameters { for i in 0..<p.grad.count { p.grad.data[i] = Float(i) * 0.25 + 1 } }
        let before = crf.parameters.map { $0.grad.toArray() }
        let g = try Tensor(shape: [2], values: [7, 8])
        #expect(throws: NNError.self) { try crf.loss(emissions: e, tags: tags, layout: L, gradient: g) }
        #expect(crf.parameters.map { $0.grad.toArray() } == before)
        #expect(g.shape == [2] && g.toArray() == [7, 8])
    }
}
