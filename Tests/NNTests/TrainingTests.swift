import Foundation
import Testing
@testable import NN

/// A tiny multi-task model assembled from the public API, as the Training module will.
final class TinyModel {
    let emb: Embedding, enc: LSTMEncoder, pool: Pooling, head: FeedForward
    var parameters: [Parameter] { emb.parameters + enc.parameters + pool.parameters + head.parameters }
    let dLogits = Tensor(shape: [0])

    init(vocab: Int, emb e: Int, hidden: Int, classes: Int, bidirectional: Bool, dropout: Float = 0, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        emb = Embedding(vocabularySize: vocab, dimension: e, paddingID: 0, rng: &rng)
        emb.rename(prefix: "embedding")
        enc = LSTMEncoder(inputSize: e, hiddenSize: hidden, layers: 2, bidirectional: bidirectional, dropout: dropout, rng: &rng)
        enc.rename(prefix: "encoder.lstm")
        pool = Pooling(.last(directions: bidirectional ? 2 : 1), inputSize: enc.outputSize, rng: &rng)
        head = FeedForward(sizes: [enc.outputSize, 16, classes], dropout: dropout, rng: &rng)
        head.rename(prefix: "heads.task0")
    }

    func logits(ids: [Int32], lengths: [Int32], T: Int, training: Bool) throws -> Tensor {
        let L = try PackedLayout(lengths: lengths, paddedLength: T)
        return try head.forward(pool.forward(enc.forward(emb.forward(ids: ids, layout: L), layout: L, training: training), layout: L), training: training)
    }

    @discardableResult
    func step(ids: [Int32], lengths: [Int32], T: Int, targets: [Int32], optimizer: any Optimizer) throws -> Float {
        parameters.zeroGrad()
        let z = try logits(ids: ids, lengths: lengths, T: T, training: true)
        let loss = try SoftmaxCrossEntropy()(logits: z, targets: targets, gradient: dLogits)
        try emb.backward(enc.backward(pool.backward(head.backward(dLogits))))
        clipGradientNorm(parameters, maxNorm: 5)
        optimizer.step(parameters)
        return loss
    }
}

extension NNTests {
    static func toyBatch(T: Int, pad: Int32 = 0) -> (ids: [Int32], lengths: [Int32], targets: [Int32]) {
        let lengths: [Int32] = [4, 7, 2, 5, 7, 1]
        var ids = [Int32](repeating: pad, count: lengths.count * T)
        for (b, l) in lengths.enumerated() { for t in 0..<Int(l) { ids[b * T + t] = Int32(1 + (b * 5 + t * 3) % 11) } }
        return (ids, lengths, [0, 1, 2, 1, 0, 2])
    }

    @Test func paddingChangesNoOutputOrGradient() throws {
        func run(T: Int, pad: Int32) throws -> ([Float], [[Float]]) {
            let m = TinyModel(vocab: 12, emb: 5, hidden: 6, classes: 3, bidirectional: true, seed: 7)
            let b = Self.toyBatch(T: T, pad: pad)
            m.parameters.zeroGrad()
            let z = try m.logits(ids: b.ids, lengths: b.lengths, T: T, training: true).toArray()
            let zt = try m.logits(ids: b.ids, lengths: b.lengths, T: T, training: true)
            _ = try SoftmaxCrossEntropy()(logits: zt, targets: b.targets, gradient: m.dLogits)
            try m.emb.backward(m.enc.backward(m.pool.backward(m.head.backward(m.dLogits))))
            return (z, m.parameters.map { $0.grad.toArray() })
        }
        let (z0, g0) = try run(T: 7, pad: 0)
        let (z1, g1) = try run(T: 19, pad: 0)
        let (z2, g2) = try run(T: 12, pad: 9)   // junk ids in padding positions
        #expect(z0 == z1 && z0 == z2)
        #expect(g0 == g1 && g0 == g2)
        #expect(g0.contains { $0.contains { $0 != 0 } })
    }

    @Test func sameSeedSameThreadsBitIdentical() throws {
        func train(threads: Int, seed: UInt64 = 99, steps: Int = 5) throws -> [[Float]] {
            BLAS.setThreads(threads)
            defer { BLAS.setThreads(1) }
            let m = TinyModel(vocab: 12, emb: 5, hidden: 8, classes: 3, bidirectional: true, dropout: 0.2, seed: seed)
            let opt = Adam.adamW(learningRate: 1e-2)
            let b = Self.toyBatch(T: 7)
            for _ in 0..<steps { try m.step(ids: b.ids, lengths: b.lengths, T: 7, targets: b.targets, optimizer: opt) }
            return m.parameters.map { $0.value.toArray() }
        }
        let a = try train(threads: 2), b = try train(threads: 2)
        #expect(a == b)
        #expect(a != (try train(threads: 2, steps: 0)), "training moved the weights")
        #expect(a != (try train(threads: 2, seed: 100)), "the seed matters")
        // Below BLAS.multithreadFlops every product is single-threaded and the two BiLSTM directions
        // are independent, so at this size even the thread count does not change the result.
        #expect(a == (try train(threads: 1)))
    }

    @Test func optimizersMatchReferenceUpdates() throws {
        func param(_ v: [Float], _ g: [Float]) throws -> Parameter {
            let p = Parameter(name: "w", shape: [v.count]); try p.value.assign(try Tensor(shape: [v.count], values: v)); try p.grad.assign(try Tensor(shape: [g.count], values: g)); return p
        }
        // Adam step 1: update = lr · m̂/(√v̂+ε) = lr · sign(g) (bias-corrected).
        let p = try param([1, -2], [0.5, -0.25])
        let adam = Adam(learningRate: 0.1)
        adam.step([p])
        #expect(abs(p.value.data[0] - 0.9) < 1e-6 && abs(p.value.data[1] - -1.9) < 1e-6)
        // AdamW decouples decay: w ← w(1 − lr·λ) before the Adam update.
        let q = try param([1], [0.5])
        Adam.adamW(learningRate: 0.1, weightDecay: 0.5).step([q])
        #expect(abs(q.value.data[0] - (1 * 0.95 - 0.1)) < 1e-6)
        // SGD momentum: v1 = g, w1 = w − lr g; v2 = μ v1 + g, w2 = w1 − lr v2.
        let s = try param([1], [1])
        let sgd = SGD(learningRate: 0.1, momentum: 0.9)
        sgd.step([s]); sgd.step([s])
        #expect(abs(s.value.data[0] - (1 - 0.1 - 0.1 * 1.9)) < 1e-6)
        // Frozen parameters do not move.
        let f = try param([3], [1]); f.frozen = true
        adam.step([f]); #expect(f.value.data[0] == 3)
        // Global-norm clipping.
        let c1 = try param([0, 0], [3, 0]), c2 = try param([0], [4])
        #expect(clipGradientNorm([c1, c2], maxNorm: 1) == 5)
        #expect(abs(c1.grad.data[0] - 0.6) < 1e-6 && abs(c2.grad.data[0] - 0.8) < 1e-6)
        // Schedules.
        #expect(LearningRateSchedule.linear(warmup: 10, total: 110).factor(step: 4) == 0.5)
        #expect(LearningRateSchedule.linear(warmup: 10, total: 110).factor(step: 60) == 0.5)
        #expect(abs(LearningRateSchedule.cosine(warmup: 0, total: 100, minFactor: 0.1).factor(step: 50) - 0.55) < 1e-6)
        #expect(LearningRateSchedule.constant.factor(step: 1000) == 1)
    }

    @Test func checkpointRoundTripIsBitExact() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nn-tests-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("ckpt.safetensors").path
        let m = TinyModel(vocab: 12, emb: 5, hidden: 6, classes: 3, bidirectional: true, seed: 1)
        let opt = Adam(learningRate: 1e-2)
        let b = Self.toyBatch(T: 7)
        for _ in 0..<3 { try m.step(ids: b.ids, lengths: b.lengths, T: 7, targets: b.targets, optimizer: opt) }
        try Checkpoint.save(parameters: m.parameters, optimizer: opt, metadata: ["step": "3", "note": "héllo \"q\""], to: path)

        // Read back with a reader written from the format specification (independent of NN's parser).
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + Int(n)))) as! [String: Any]
        #expect((header["__metadata__"] as! [String: String]) == ["step": "3", "note": "héllo \"q\""])
        let body = data.subdata(in: (8 + Int(n))..<data.count)
        for p in m.parameters {
            let e = header[p.name] as! [String: Any]
            #expect(e["dtype"] as? String == "F32")
            #expect((e["shape"] as! [Int]) == p.value.shape)
            let off = e["data_offsets"] as! [Int]
            let floats = body.subdata(in: off[0]..<off[1]).withUnsafeBytes { raw in
                (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            }
            #expect(floats == p.value.toArray())
        }
        #expect(header["encoder.lstm.l0.fwd.weight_ih"] != nil)
        #expect(header["optimizer.exp_avg.encoder.lstm.l1.bwd.weight_hh"] != nil)

        // Load into a fresh model: bit-identical parameters and optimizer state; training continues identically.
        let m2 = TinyModel(vocab: 12, emb: 5, hidden: 6, classes: 3, bidirectional: true, seed: 2)
        let opt2 = Adam(learningRate: 1e-2)
        let meta = try Checkpoint.load(parameters: m2.parameters, optimizer: opt2, from: path)
        #expect(meta["step"] == "3")
        #expect(m2.parameters.map { $0.value.toArray() } == m.parameters.map { $0.value.toArray() })
        #expect(opt2.stepCount == 3)
        try m.step(ids: b.ids, lengths: b.lengths, T: 7, targets: b.targets, optimizer: opt)
        try m2.step(ids: b.ids, lengths: b.lengths, T: 7, targets: b.targets, optimizer: opt2)
        #expect(m2.parameters.map { $0.value.toArray() } == m.parameters.map { $0.value.toArray() })

        // Missing and mis-shaped tensors are reported and leave the model untouched.
        let before = m2.parameters.map { $0.value.toArray() }
        let small = TinyModel(vocab: 12, emb: 5, hidden: 4, classes: 3, bidirectional: true, seed: 3)
        #expect(throws: NNError.self) { try Checkpoint.load(parameters: small.parameters, from: path) }
        let extra = Parameter(name: "not.there", shape: [2])
        do {
            try Checkpoint.load(parameters: m2.parameters + [extra], from: path)
            Issue.record("expected missingTensor")
        } catch {
            #expect(error == .missingTensor(path: path, name: "not.there"))
        }
        #expect(m2.parameters.map { $0.value.toArray() } == before)
        // Truncated file.
        try data.prefix(100).write(to: URL(fileURLWithPath: path))
        #expect(throws: NNError.self) { try SafeTensors.read(path) }
        #expect(throws: NNError.self) { try SafeTensors.read(dir.appendingPathComponent("absent").path) }
    }

    /// Corpora root: $MTL_CORPORA, else ../shared/corpora next to the package.
    static let corporaRoot: String = {
        if let e = ProcessInfo.processInfo.environment["MTL_CORPORA"] { return e }
        let pkg = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return pkg.deletingLastPathComponent().appendingPathComponent("shared/corpora").path
    }()
    static let sst2 = corporaRoot + "/sst2/train.tsv"

    // Skips when the corpora are absent (a fresh clone): set MTL_CORPORA to the corpora folder.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: NNTests.sst2), "corpora not found: set MTL_CORPORA"))
    func overfitsASmallRealBatch() throws {
        let lines = try String(contentsOfFile: Self.sst2, encoding: .utf8).split(separator: "\n").dropFirst().prefix(32)
        var vocab: [Substring: Int32] = [:]
        var seqs: [[Int32]] = [], ys: [Int32] = []
        for line in lines {
            let parts = line.split(separator: "\t")
            let words = parts[0].split(separator: " ").prefix(40)
            seqs.append(words.map { w in
                if let i = vocab[w] { return i }
                vocab[w] = Int32(vocab.count + 1); return Int32(vocab.count)
            })
            ys.append(Int32(parts[1].trimmingCharacters(in: .whitespaces))!)
        }
        let T = seqs.map(\.count).max()!
        var ids = [Int32](repeating: 0, count: seqs.count * T)
        for (b, s) in seqs.enumerated() { for (t, v) in s.enumerated() { ids[b * T + t] = v } }
        let lengths = seqs.map { Int32($0.count) }
        let m = TinyModel(vocab: vocab.count + 1, emb: 16, hidden: 16, classes: 2, bidirectional: true, seed: 5)
        let opt = Adam(learningRate: 1e-2)
        var acc = 0.0
        for step in 0..<150 {
            try m.step(ids: ids, lengths: lengths, T: T, targets: ys, optimizer: opt)
            if step % 10 == 9 {
                let z = try m.logits(ids: ids, lengths: lengths, T: T, training: false)
                acc = Double((0..<ys.count).filter { b in (z[b, 1] > z[b, 0] ? 1 : 0) == ys[b] }.count) / Double(ys.count)
                if acc == 1 { break }
            }
        }
        #expect(acc == 1, "training accuracy \(acc)")
    }

    @Test func userMistakesAreErrorsWithShapes() throws {
        var rng = SplitMix64(seed: 1)
        let lin = Linear(inputSize: 3, outputSize: 2, rng: &rng)
        do { _ = try lin.forward(Tensor(shape: [4, 5])); Issue.record("expected error") } catch {
            #expect(error.description == "Linear.forward: shape mismatch: expected [4, 3], got [4, 5]")
        }
        let emb = Embedding(vocabularySize: 5, dimension: 2, rng: &rng)
        let L = try PackedLayout(lengths: [2], paddedLength: 2)
        #expect(throws: NNError.self) { try emb.forward(ids: [1, 7], layout: L) }
        #expect(throws: NNError.self) { try emb.load(pretrained: Tensor(shape: [4, 2])) }
        let pre = Tensor(shape: [5, 2]); pre.fill(0.5)
        try emb.load(pretrained: pre)
        emb.weight.frozen = true
        let x = try emb.forward(ids: [1, 2], layout: L)
        #expect(x.toArray() == [0.5, 0.5, 0.5, 0.5])
        try emb.backward(x)
        #expect(emb.weight.grad.toArray().allSatisfy { $0 == 0 })
        // A real token equal to the padding id reads its (zero) row and sends it no gradient.
        emb.weight.frozen = false
        let y = try emb.forward(ids: [0, 3], layout: L)
        #expect(y.toArray() == [0.5, 0.5, 0.5, 0.5])
        try emb.backward(y)
        #expect(emb.weight.grad.toArray() == [0, 0, 0, 0, 0, 0, 0.5, 0.5, 0, 0])
    }
}
