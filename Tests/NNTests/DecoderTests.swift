import Foundation
import Testing
@testable import NN

/// A small seq2seq batch: source lengths, target lengths, memory and ids, with extra padding on demand.
private struct DecoderBatch {
    static let sourceLengths: [Int32] = [3, 5, 1, 4]
    static let targetLengths: [Int32] = [4, 2, 5, 3]
    let source: PackedLayout, target: PackedLayout
    let memory: Tensor, h0: Tensor, c0: Tensor
    let targetIn: [Int32], targetOut: [Int32]

    /// `extraPadding` widens both padded arrays; padded target slots hold junk ids (they must be ignored).
    init(D: Int, H: Int, V: Int, extraPadding: Int = 0, seed: UInt64 = 11) throws {
        var rng = SplitMix64(seed: seed)
        let Ts = 5 + extraPadding, Tt = 5 + extraPadding, B = Self.sourceLengths.count
        source = try PackedLayout(lengths: Self.sourceLengths, paddedLength: Ts)
        target = try PackedLayout(lengths: Self.targetLengths, paddedLength: Tt)
        memory = randomTensor([source.tokenCount, D], &rng)
        h0 = randomTensor([B, H], &rng, scale: 0.5)
        c0 = randomTensor([B, H], &rng, scale: 0.5)
        var tin = [Int32](repeating: 0, count: B * Tt), tout = tin
        for b in 0..<B {
            for t in 0..<Tt {
                // The real ids depend only on (b, t), so padded and unpadded batches agree.
                let real = t < Int(Self.targetLengths[b])
                tin[b * Tt + t] = real ? Int32(1 + (b * 7 + t * 3) % (V - 1)) : Int32(1 + (b + t) % (V - 1))
                tout[b * Tt + t] = real ? Int32(1 + (b * 5 + t * 2 + 1) % (V - 1)) : 0
            }
        }
        targetIn = tin; targetOut = tout
    }

    func forward(_ dec: AttentionDecoder) throws -> Tensor {
        try dec.forward(memory: memory, sourceLayout: source, targetIn: targetIn, targetLayout: target,
                        initialHidden: h0, initialCell: c0)
    }
}

extension NNTests {
    static let decoderSizes = (V: 7, E: 4, H: 5, D: 5, A: 3)

    private func makeDecoder(_ attention: AttentionDecoder.Attention, inputFeeding: Bool = true, tied: Bool = false,
                             seed: UInt64 = 21) throws -> AttentionDecoder {
        let s = Self.decoderSizes
        var rng = SplitMix64(seed: seed)
        return try AttentionDecoder(vocabularySize: s.V, embeddingSize: tied ? s.H : s.E, hiddenSize: s.H, memorySize: s.D,
                                    attention: attention, attentionSize: s.A, inputFeeding: inputFeeding,
                                    tieEmbeddings: tied, rng: &rng)
    }

    /// Gradient check of the decoder under a random linear probe of the logits: every parameter, the
    /// memory and the initial state.
    private func checkDecoderGradients(_ dec: AttentionDecoder) throws {
        let s = Self.decoderSizes
        sharpenAttention(dec)
        let batch = try DecoderBatch(D: s.D, H: s.H, V: s.V)
        var rng = SplitMix64(seed: 31)
        let r = randomTensor([batch.target.tokenCount, s.V], &rng)
        _ = try batch.forward(dec)
        dec.zeroGrad()
        let g = try dec.backward(r)
        let targets = paramTargets(dec.parameters)
            + [("memory", batch.memory, g.memory.toArray()), ("h0", batch.h0, g.hidden.toArray()), ("c0", batch.c0, g.cell.toArray())]
        let errs = try GradCheck().run(targets) { probe(try batch.forward(dec), r) }
        // Bahdanau's query gradients stay small (~1e-2) even sharpened: a looser bound for rounding
        // noise, still far below what a wrong term gives (O(1)).
        expectSmall(errs, dec.attention == .bahdanau ? 5e-3 : 1e-3)
    }

    /// At initialisation Bahdanau scores are nearly flat, so the query's gradient (~1e-3) drowns in the
    /// Float rounding of central differences; a larger v and W_q make it measurable.
    private func sharpenAttention(_ dec: AttentionDecoder) {
        for p in [dec.scoreVector, dec.queryWeight] { if let p { for i in 0..<p.value.count { p.value.data[i] *= 4 } } }
    }

    @Test(arguments: AttentionDecoder.Attention.allCases)
    func decoderGradientsWithInputFeeding(attention: AttentionDecoder.Attention) throws {
        try checkDecoderGradients(try makeDecoder(attention, inputFeeding: true))
    }

    @Test(arguments: AttentionDecoder.Attention.allCases)
    func decoderGradientsWithoutInputFeeding(attention: AttentionDecoder.Attention) throws {
        try checkDecoderGradients(try makeDecoder(attention, inputFeeding: false))
    }

    @Test func decoderGradientsWithTiedEmbeddings() throws {
        let dec = try makeDecoder(.general, tied: true)
        #expect(dec.tied)
        #expect(dec.parameters.filter { $0 === dec.embedding.weight }.count == 1, "the shared table is listed once")
        try checkDecoderGradients(dec)
    }

    @Test func decoderWithLabelSmoothedCrossEntropyGradients() throws {
        let s = Self.decoderSizes
        let dec = try makeDecoder(.bahdanau)
        sharpenAttention(dec)
        let batch = try DecoderBatch(D: s.D, H: s.H, V: s.V)
        let targets = try batch.target.pack(batch.targetOut)
        let ce = SoftmaxCrossEntropy(labelSmoothing: 0.1)
        let dLogits = Tensor(shape: [0])
        _ = try ce(logits: try batch.forward(dec), targets: targets, gradient: dLogits)
        dec.zeroGrad()
        let g = try dec.backward(dLogits)
        let scratch = Tensor(shape: [0])
        // The loss is a Float mean over the tokens, so its rounding (~1e-7) limits the differences:
        // a wider step and a looser bound than the linear probes above.
        let errs = try GradCheck(h: 2e-2).run(paramTargets(dec.parameters) + [("memory", batch.memory, g.memory.toArray())]) {
            Double(try ce(logits: try batch.forward(dec), targets: targets, gradient: scratch))
        }
        expectSmall(errs, 2e-2)
    }

    @Test func decoderNamesFollowTheScheme() throws {
        let dec = try makeDecoder(.bahdanau)
        dec.rename(prefix: "decoder.g2p")
        #expect(dec.parameters.map(\.name) == [
            "decoder.g2p.embedding.weight", "decoder.g2p.lstm.weight_ih", "decoder.g2p.lstm.weight_hh", "decoder.g2p.lstm.bias",
            "decoder.g2p.attention.query.weight", "decoder.g2p.attention.query.bias", "decoder.g2p.attention.memory.weight",
            "decoder.g2p.attention.v", "decoder.g2p.attention.out.weight", "decoder.g2p.attention.out.bias",
            "decoder.g2p.output.weight", "decoder.g2p.output.bias",
        ])
        #expect(throws: NNError.self) {
            var rng = SplitMix64(seed: 1)
            _ = try AttentionDecoder(vocabularySize: 5, embeddingSize: 3, hiddenSize: 4, memorySize: 6, attention: .dot, rng: &rng)
        }
        #expect(throws: NNError.self) {
            var rng = SplitMix64(seed: 1)
            _ = try AttentionDecoder(vocabularySize: 5, embeddingSize: 3, hiddenSize: 4, memorySize: 4, attention: .general,
                                     tieEmbeddings: true, rng: &rng)
        }
    }

    /// Extra padding on the source and target (with junk ids in the padded target slots) changes no
    /// logit, no gradient and no attention weight of the real positions.
    @Test(arguments: AttentionDecoder.Attention.allCases)
    func decoderPaddingInvariance(attention: AttentionDecoder.Attention) throws {
        let s = Self.decoderSizes
        func run(extra: Int) throws -> (logits: [Float], grads: [[Float]], attention: [[Float]]) {
            let dec = try makeDecoder(attention)
            let batch = try DecoderBatch(D: s.D, H: s.H, V: s.V, extraPadding: extra)
            var rng = SplitMix64(seed: 41)
            let r = randomTensor([batch.target.tokenCount, s.V], &rng)
            let logits = try batch.forward(dec).toArray()
            let w = dec.attentionWeights
            let att = (0..<w.rows).map { row in (0..<batch.source.steps).map { w[row, $0] } }
            dec.zeroGrad()
            let g = try dec.backward(r)
            return (logits, dec.parameters.map { $0.grad.toArray() } + [g.memory.toArray(), g.hidden.toArray(), g.cell.toArray()], att)
        }
        let a = try run(extra: 0), b = try run(extra: 3)
        #expect(a.logits == b.logits)
        #expect(a.grads == b.grads)
        #expect(a.attention == b.attention)
    }

    /// A sequence decoded alone gets the logits it gets inside a batch, up to rounding (its rows move
    /// in the packed order and the GEMMs' shapes change).
    @Test func decoderBatchCompositionInvariance() throws {
        let s = Self.decoderSizes
        let dec = try makeDecoder(.general)
        let batch = try DecoderBatch(D: s.D, H: s.H, V: s.V)
        let logits = try batch.forward(dec).toArray()
        // The same batch with sequence 1 alone.
        let one = 1, Ts = batch.source.paddedLength, Tt = batch.target.paddedLength
        let src1 = try PackedLayout(lengths: [DecoderBatch.sourceLengths[one]], paddedLength: Ts)
        let tgt1 = try PackedLayout(lengths: [DecoderBatch.targetLengths[one]], paddedLength: Tt)
        let mem1 = Tensor(shape: [src1.tokenCount, s.D])
        for t in 0..<src1.tokenCount {
            (mem1.data + t * s.D).update(from: batch.memory.data + batch.source.row(batch: one, time: t) * s.D, count: s.D)
        }
        let h1 = Tensor(shape: [1, s.H]), c1 = Tensor(shape: [1, s.H])
        h1.data.update(from: batch.h0.data + one * s.H, count: s.H)
        c1.data.update(from: batch.c0.data + one * s.H, count: s.H)
        let ids1 = Array(batch.targetIn[(one * Tt)..<((one + 1) * Tt)])
        let logits1 = try dec.forward(memory: mem1, sourceLayout: src1, targetIn: ids1, targetLayout: tgt1,
                                      initialHidden: h1, initialCell: c1).toArray()
        for t in 0..<Int(DecoderBatch.targetLengths[one]) {
            let row = batch.target.row(batch: one, time: t)
            for v in 0..<s.V { #expect(abs(logits[row * s.V + v] - logits1[t * s.V + v]) < 1e-5) }
        }
    }

    /// The forward and backward split the sequences in two halves that run on two cores with two
    /// threads: one and two threads give the same bits, and the gradients stay right with two.
    @Test(arguments: AttentionDecoder.Attention.allCases)
    func decoderGivesTheSameBitsWithOneOrTwoThreads(attention: AttentionDecoder.Attention) throws {
        let s = Self.decoderSizes
        func run(threads: Int) throws -> [[Float]] {
            BLAS.setThreads(threads)
            defer { BLAS.setThreads(1) }
            let dec = try makeDecoder(attention, seed: 77)
            let batch = try DecoderBatch(D: s.D, H: s.H, V: s.V, seed: 78)
            let logits = try batch.forward(dec)
            dec.zeroGrad()
            let g = try dec.backward(logits)
            return [logits.toArray(), dec.attentionWeights.toArray(), g.memory.toArray(), g.hidden.toArray(), g.cell.toArray()]
                + dec.parameters.map { $0.grad.toArray() }
        }
        #expect(try run(threads: 1) == run(threads: 2))
        BLAS.setThreads(2)
        defer { BLAS.setThreads(1) }
        try checkDecoderGradients(try makeDecoder(attention))
    }

    @Test(arguments: AttentionDecoder.Attention.allCases)
    func decoderIsDeterministic(attention: AttentionDecoder.Attention) throws {
        let s = Self.decoderSizes
        func run() throws -> [[Float]] {
            let dec = try makeDecoder(attention, seed: 77)
            let batch = try DecoderBatch(D: s.D, H: s.H, V: s.V, seed: 78)
            let logits = try batch.forward(dec)
            dec.zeroGrad()
            let g = try dec.backward(logits)
            return [logits.toArray(), g.memory.toArray(), g.hidden.toArray()] + dec.parameters.map { $0.grad.toArray() }
        }
        #expect(try run() == run())
    }

    @Test(arguments: AttentionDecoder.Attention.allCases)
    func decoderAttentionWeightsAreMaskedDistributions(attention: AttentionDecoder.Attention) throws {
        let s = Self.decoderSizes
        let dec = try makeDecoder(attention)
        let batch = try DecoderBatch(D: s.D, H: s.H, V: s.V, extraPadding: 2)
        _ = try batch.forward(dec)
        let w = dec.attentionWeights, L = batch.target, S = batch.source
        #expect(w.shape == [L.tokenCount, S.steps])
        for b in 0..<L.batch {
            for t in 0..<L.lengths[b] {
                let row = L.row(batch: b, time: t)
                var sum: Float = 0
                for j in 0..<S.steps {
                    if j < S.lengths[b] { #expect(w[row, j] >= 0); sum += w[row, j] } else { #expect(w[row, j] == 0) }
                }
                #expect(abs(sum - 1) < 1e-5)
            }
        }
    }
}

extension NNTests {
    /// The decoder trains with the module's optimizer and label-smoothed loss unchanged, and its
    /// parameters (the tied table once) round-trip through a checkpoint bit-exactly.
    @Test func decoderTrainsAndRoundTripsThroughACheckpoint() throws {
        let s = Self.decoderSizes
        var rng = SplitMix64(seed: 91)
        func make() throws -> AttentionDecoder {
            let d = try AttentionDecoder(vocabularySize: s.V, embeddingSize: s.H, hiddenSize: s.H, memorySize: s.D,
                                         attention: .general, tieEmbeddings: true, rng: &rng)
            d.rename(prefix: "decoder.g2p")
            return d
        }
        let dec = try make()
        let batch = try DecoderBatch(D: s.D, H: s.H, V: s.V)
        let targets = try batch.target.pack(batch.targetOut)
        let ce = SoftmaxCrossEntropy(labelSmoothing: 0.1)
        let adam = Adam(learningRate: 0.05)
        let dLogits = Tensor(shape: [0])
        var losses: [Float] = []
        for _ in 0..<80 {
            losses.append(try ce(logits: try batch.forward(dec), targets: targets, gradient: dLogits))
            dec.zeroGrad()
            _ = try dec.backward(dLogits)
            adam.step(dec.parameters)
        }
        #expect(losses.last! < 0.5 * losses.first!, "losses \(losses.first!) → \(losses.last!)")

        let dir = try Self.scratchDirectory("decoder")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("d.safetensors").path
        try Checkpoint.save(parameters: dec.parameters, to: path)
        let names = try SafeTensors.read(path).tensors.keys.sorted()
        #expect(names == dec.parameters.map(\.name).sorted())
        #expect(!names.contains("decoder.g2p.output.weight"))
        let fresh = try make()
        try Checkpoint.load(parameters: fresh.parameters, from: path)
        #expect(try batch.forward(fresh).toArray() == batch.forward(dec).toArray())
    }
}

extension NNTests {
    /// With two threads, products of at least `BLAS.multithreadFlops` are split in two halves (by
    /// rows or columns of C) on two cores; every element must come out as the unsplit product's.
    @Test func splitProductsEqualUnsplitOnes() throws {
        var rng = SplitMix64(seed: 90)
        // (m, n, k): split by rows (m ≥ n) and by columns (m < n), odd sizes for uneven halves.
        for (m, n, k) in [(515, 257, 131), (97, 1031, 173)] {
            #expect(2 * m * n * k >= BLAS.multithreadFlops)
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let a = randomTensor(ta ? [k, m] : [m, k], &rng), b = randomTensor(tb ? [n, k] : [k, n], &rng)
                let c0 = randomTensor([m, n], &rng)
                func product(threads: Int) -> [Float] {
                    BLAS.setThreads(threads)
                    defer { BLAS.setThreads(1) }
                    let c = c0.copy()
                    BLAS.gemm(ta, tb, m, n, k, 0.5, a.data, ta ? m : k, b.data, tb ? k : n, 1, c.data, n)
                    return c.toArray()
                }
                #expect(product(threads: 1) == product(threads: 2), "\(m)×\(n)×\(k) transA \(ta) transB \(tb)")
            }
        }
    }
}
