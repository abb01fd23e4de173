import Foundation
import Testing
@testable import NN

extension NNTests {
    static let lengths: [Int32] = [3, 5, 1, 4]

    @Test func fastTanhAndSigmoidMatchLibm() {
        var maxT: Float = 0, maxS: Float = 0
        var x: Float = -12
        while x <= 12 {
            maxT = max(maxT, abs(Math.fastTanh(x) - Float(tanh(Double(x)))))
            maxS = max(maxS, abs(Math.fastSigmoid(x) - Float(1 / (1 + Math.expD(-Double(x))))))
            x += 0.001
        }
        #expect(maxT < 2e-6)
        #expect(maxS < 2e-6)
    }

    @Test func packedLayoutOrdersByLength() throws {
        let L = try PackedLayout(lengths: [2, 3, 1, 3], paddedLength: 4)
        #expect(L.order == [1, 3, 0, 2])
        #expect(L.batchSizes == [4, 3, 2])
        #expect(L.offsets == [0, 4, 7, 9])
        #expect(L.row(batch: 0, time: 1) == 6)
        #expect(throws: NNError.self) { try PackedLayout(lengths: [0, 2], paddedLength: 4) }
        #expect(throws: NNError.self) { try PackedLayout(lengths: [5], paddedLength: 4) }
    }

    @Test func linearAndActivationsGradients() throws {
        var rng = SplitMix64(seed: 1)
        for kind in [Activation.Kind.relu, .tanh] {
            let lin = Linear(inputSize: 5, outputSize: 4, rng: &rng)
            let act = Activation(kind)
            let x = randomTensor([6, 5], &rng), r = randomTensor([6, 4], &rng)
            let y = act.forward(try lin.forward(x))
            _ = y
            lin.zeroGrad()
            let dx = try lin.backward(try act.backward(r)).toArray()
            let errs = try GradCheck(h: 1e-3).run(paramTargets(lin.parameters) + [("x", x, dx)]) {
                probe(act.forward(try lin.forward(x)), r)
            }
            expectSmall(errs)
        }
    }

    @Test(arguments: [false, true])
    func lstmDirectionGradients(reverse: Bool) throws {
        var rng = SplitMix64(seed: 2)
        let L = try PackedLayout(lengths: Self.lengths, paddedLength: 6)
        let lstm = LSTMDirection(inputSize: 3, hiddenSize: 4, reverse: reverse, rng: &rng)
        let x = randomTensor([L.tokenCount, 3], &rng), r = randomTensor([L.tokenCount, 4], &rng)
        _ = try lstm.forward(x, layout: L)
        lstm.zeroGrad()
        let dx = try lstm.backward(r).toArray()
        let errs = try GradCheck().run(paramTargets(lstm.parameters) + [("x", x, dx)]) {
            probe(try lstm.forward(x, layout: L), r)
        }
        expectSmall(errs)
    }

    @Test func stackedBiLSTMWithEmbeddingGradients() throws {
        var rng = SplitMix64(seed: 3)
        let T = 6
        let L = try PackedLayout(lengths: Self.lengths, paddedLength: T)
        let emb = Embedding(vocabularySize: 7, dimension: 3, paddingID: 0, rng: &rng)
        let enc = LSTMEncoder(inputSize: 3, hiddenSize: 4, layers: 2, bidirectional: true, rng: &rng)
        var ids = [Int32](repeating: 0, count: 4 * T)
        for b in 0..<4 { for t in 0..<Int(Self.lengths[b]) { ids[b * T + t] = Int32(1 + (b * 3 + t) % 6) } }
        let r = randomTensor([L.tokenCount, 8], &rng)
        for threads in [1, 2] {
            BLAS.setThreads(threads)
            _ = try enc.forward(try emb.forward(ids: ids, layout: L), layout: L)
            emb.zeroGrad(); enc.zeroGrad()
            try emb.backward(try enc.backward(r))
            #expect(emb.weight.grad.toArray()[0..<3].allSatisfy { $0 == 0 }, "padding row gets no gradient")
            let errs = try GradCheck().run(paramTargets(emb.parameters + enc.parameters)) {
                probe(try enc.forward(try emb.forward(ids: ids, layout: L), layout: L), r)
            }
            expectSmall(errs)
        }
        BLAS.setThreads(1)
    }

    @Test(arguments: ["last1", "last2", "mean", "max", "attention"])
    func poolingGradients(kind: String) throws {
        var rng = SplitMix64(seed: 4)
        let L = try PackedLayout(lengths: Self.lengths, paddedLength: 5)
        let D = 6
        let k: Pooling.Kind = switch kind {
        case "last1": .last(directions: 1)
        case "last2": .last(directions: 2)
        case "mean": .mean
        case "max": .max
        default: .attention(size: 5)
        }
        let pool = Pooling(k, inputSize: D, rng: &rng)
        // Well-separated values so that max pooling's argmax is stable under the perturbation.
        let x = Tensor(shape: [L.tokenCount, D])
        var vals = (0..<x.count).map { Float($0) * 0.05 - 1 }
        vals.shuffle(using: &rng)
        for i in 0..<x.count { x.data[i] = vals[i] }
        let r = randomTensor([L.batch, D], &rng)
        _ = try pool.forward(x, layout: L)
        pool.zeroGrad()
        let dx = try pool.backward(r).toArray()
        let errs = try GradCheck(h: 5e-3).run(paramTargets(pool.parameters) + [("x", x, dx)]) {
            probe(try pool.forward(x, layout: L), r)
        }
        expectSmall(errs)
        if let w = pool.attentionWeights {
            for b in 0..<L.batch {
                let s = (0..<L.lengths[b]).reduce(Float(0)) { $0 + w[L.row(batch: b, time: $1)] }
                #expect(abs(s - 1) < 1e-5)
            }
        }
    }

    @Test func feedForwardWithDropoutGradients() throws {
        var rng = SplitMix64(seed: 5)
        let ff = FeedForward(sizes: [4, 6, 3], activation: .tanh, dropout: 0.3, rng: &rng)
        let x = randomTensor([5, 4], &rng), r = randomTensor([5, 3], &rng)
        // Same mask for every evaluation: reset the call counter before each forward.
        func fwd() throws -> Tensor { ff.dropouts[0].calls = 0; return try ff.forward(x, training: true) }
        _ = try fwd()
        ff.zeroGrad()
        let dx = try ff.backward(r).toArray()
        let errs = try GradCheck(h: 1e-3).run(paramTargets(ff.parameters) + [("x", x, dx)]) { probe(try fwd(), r) }
        expectSmall(errs)
        // Dropout zeroes roughly the rate and scales the rest by 1/(1−p).
        let d = Dropout(rate: 0.3, seed: 9)
        let ones = Tensor(shape: [10_000]); ones.fill(1)
        let y = try d.forward(ones, training: true).toArray()
        let zeros = y.filter { $0 == 0 }.count
        #expect(abs(Double(zeros) / 10_000 - 0.3) < 0.02)
        #expect(y.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 })
        #expect(try d.forward(ones, training: false).toArray() == ones.toArray())
    }
}
