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
