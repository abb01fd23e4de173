import Foundation
import Testing
@testable import NN

extension NNTests {
    @Test(arguments: [(Float(0), Float(0), false), (0.1, 0, false), (0, 2, false), (0.1, 1.5, true)])
    func softmaxCrossEntropyGradients(smoothing: Float, gamma: Float, weighted: Bool) throws {
        var rng = SplitMix64(seed: 10)
        let logits = randomTensor([6, 4], &rng, scale: 2)
        let y: [Int32] = [0, 3, 1, 2, 2, 0]
        let mask = [true, true, false, true, true, true]
        let ce = SoftmaxCrossEntropy(classWeights: weighted ? [1, 2, 0.5, 1.5] : nil, labelSmoothing: smoothing, focalGamma: gamma)
        let g = Tensor(shape: [0])
        _ = try ce(logits: logits, targets: y, mask: mask, gradient: g, scale: 1)
        #expect(g.toArray()[8..<12].allSatisfy { $0 == 0 }, "absent rows get no gradient")
        let errs = try GradCheck(h: 1e-3).run([("logits", logits, g.toArray())]) {
            Double(try ce(logits: logits, targets: y, mask: mask, gradient: Tensor(shape: [0])))
        }
        expectSmall(errs)
    }

    @Test func softmaxCrossEntropyValues() throws {
        let logits = try Tensor(shape: [1, 3], values: [1, 2, 3])
        let g = Tensor(shape: [0])
        let lse = log(exp(1.0) + exp(2.0) + exp(3.0))
        let plain = try SoftmaxCrossEntropy()(logits: logits, targets: [0], gradient: g)
        #expect(abs(Double(plain) - (lse - 1)) < 1e-5)
        // Label smoothing ε: (1−ε)·CE + ε·mean_c(−log p_c)
        let smooth = try SoftmaxCrossEntropy(labelSmoothing: 0.3)(logits: logits, targets: [0], gradient: g)
        let meanNLL = ((lse - 1) + (lse - 2) + (lse - 3)) / 3
        #expect(abs(Double(smooth) - (0.7 * (lse - 1) + 0.3 * meanNLL)) < 1e-5)
        // Focal: −(1−p)^γ log p
        let p0 = exp(1 - lse)
        let focal = try SoftmaxCrossEntropy(focalGamma: 2)(logits: logits, targets: [0], gradient: g)
        let expectedFocal: Double = (1 - p0) * (1 - p0) * (lse - 1)
        #expect(abs(Double(focal) - expectedFocal) < 1e-5)
        #expect(throws: NNError.self) { try SoftmaxCrossEntropy()(logits: logits, targets: [3], gradient: g) }
    }

    @Test(arguments: [Float(0), 2])
    func binaryCrossEntropyGradients(gamma: Float) throws {
        var rng = SplitMix64(seed: 11)
        let logits = randomTensor([4, 3], &rng, scale: 3)
        let y: [Float] = [1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0]
        let bce = SigmoidBinaryCrossEntropy(labelWeights: [1, 2, 0.5], focalGamma: gamma)
        let g = Tensor(shape: [0])
        let loss = try bce(logits: logits, targets: y, mask: [true, false, true, true], gradient: g)
        #expect(loss > 0)
        let errs = try GradCheck(h: 1e-3).run([("logits", logits, g.toArray())]) {
            Double(try bce(logits: logits, targets: y, mask: [true, false, true, true], gradient: Tensor(shape: [0])))
        }
        expectSmall(errs)
        // Plain BCE value at z = 0 is log 2.
        let z = Tensor(shape: [1, 1])
        #expect(abs(try SigmoidBinaryCrossEntropy()(logits: z, targets: [1], gradient: g) - Float(log(2.0))) < 1e-6)
    }

    @Test func meanSquaredErrorValueAndGradient() throws {
        let p = try Tensor(shape: [3, 1], values: [1, -2, 0.5])
        let g = Tensor(shape: [0])
        let mse = MeanSquaredError()
        // Rows 0 and 2 kept: ((1 − 3)² + (0.5 − 0)²) / 2
        #expect(mse(predictions: p, targets: [3, 7, 0], mask: [true, false, true], gradient: g, scale: 2) == 2.125)
        #expect(g.toArray() == [-4, 0, 1])   // 2·d/n × scale
        #expect(mse(predictions: p, targets: [0, 0, 0], mask: [false, false, false], gradient: g) == nil)
        let errs = GradCheck(h: 1e-3).run([("predictions", p, { _ = mse(predictions: p, targets: [3, 7, 0], mask: [true, false, true], gradient: g); return g.toArray() }())]) {
            Double(mse(predictions: p, targets: [3, 7, 0], mask: [true, false, true], gradient: Tensor(shape: [0]))!)
        }
        expectSmall(errs)
    }

    @Test func uncertaintyWeightingGradient() throws {
        let w = UncertaintyTaskWeighting(taskCount: 3)
        w.logVariance.value.data[0] = 0.3; w.logVariance.value.data[1] = -0.2
        let losses: [Float?] = [1.5, nil, 0.7]
        let (total, scales) = w.combine(losses: losses)
        #expect(abs(total - (Float(Math.expD(-0.3)) * 1.5 + 0.3 + 0.7)) < 1e-5)
        #expect(abs(scales[1] - Float(Math.expD(0.2))) < 1e-5)
        let errs = GradCheck(h: 1e-3).run([("s", w.logVariance.value, w.logVariance.grad.toArray())]) {
            Double(UncertaintyTaskWeighting.combineValue(w, losses))
        }
        expectSmall(errs)
        #expect(w.logVariance.grad.data[1] == 0, "absent task gets no gradient")
        let s = StaticTaskWeighting(weights: [0.5, 2])
        #expect(s.combine(losses: [2, 3]).total == 7)
    }

    @Test func pcGradRemovesConflicts() throws {
        var rng = SplitMix64(seed: 12)
        let g1: [Float] = [1, 0, 1], g2: [Float] = [-1, 1, 0]
        let out = try PCGrad.combine([g1, g2], rng: &rng)
        // g1·g2 = −1 < 0: g1' = g1 − (−1/2) g2 = [0.5, 0.5, 1]; g2' = g2 − (−1/2) g1 = [−0.5, 1, 0.5]
        #expect(out == [0, 1.5, 1.5])
        // Each projected gradient no longer conflicts with the other task's original gradient.
        let p1: [Float] = [0.5, 0.5, 1]
        #expect(PCGrad.dot(p1, g2) >= -1e-7)
        // No conflict: plain sum.
        #expect(try PCGrad.combine([[1, 2], [3, 1]], rng: &rng) == [4, 3])
        #expect(throws: NNError.self) { try PCGrad.combine([[1], [1, 2]], rng: &rng) }
    }
}

extension UncertaintyTaskWeighting {
    /// The objective without touching gradients (for the finite-difference check).
    static func combineValue(_ w: UncertaintyTaskWeighting, _ losses: [Float?]) -> Double {
        var t = 0.0
        for (i, l) in losses.enumerated() { if let l { let s = Double(w.logVariance.value.data[i]); t += Math.expD(-s) * Double(l) + s } }
        return t
    }
}
