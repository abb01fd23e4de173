import Testing
@testable import NN

/// All NN tests share one serialized suite: BLAS thread settings are process-wide.
@Suite(.serialized) struct NNTests {}

/// Finite-difference gradient check in Float with central differences.
///
/// The probe loss is summed in Double; the reported figure is the norm-wise relative error
/// ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖) over the checked elements of one tensor, which is
/// robust to tiny individual components (Float central differences cannot resolve those to 1e-3).
struct GradCheck {
    var h: Float = 1e-2
    var maxElements = 48

    /// `targets`: (name, tensor to perturb, analytic gradient). Returns the relative error per name.
    func run(_ targets: [(String, Tensor, [Float])], loss: () throws -> Double) rethrows -> [(String, Double)] {
        var out: [(String, Double)] = []
        for (name, t, analytic) in targets {
            precondition(analytic.count == t.count, "\(name): gradient size")
            let stride = Swift.max(1, t.count / maxElements)
            var diff = 0.0, na = 0.0, nn = 0.0
            for i in Swift.stride(from: 0, to: t.count, by: stride) {
                let v = t.data[i]
                t.data[i] = v + h; let lp = try loss()
                t.data[i] = v - h; let lm = try loss()
                t.data[i] = v
                let num = (lp - lm) / (2 * Double(h)), a = Double(analytic[i])
                diff += (num - a) * (num - a); na += a * a; nn += num * num
            }
            let denom = Swift.max(na.squareRoot(), nn.squareRoot(), 1e-12)
            out.append((name, diff.squareRoot() / denom))
        }
        return out
    }
}

func randomTensor(_ shape: [Int], _ rng: inout SplitMix64, scale: Float = 1) -> Tensor {
    let t = Tensor(shape: shape)
    t.fillUniform(scale, rng: &rng)
    return t
}

/// Σ y·r in Double: a random linear probe of an output.
func probe(_ y: Tensor, _ r: Tensor) -> Double {
    var s = 0.0
    for i in 0..<y.count { s += Double(y.data[i]) * Double(r.data[i]) }
    return s
}

func paramTargets(_ ps: [Parameter]) -> [(String, Tensor, [Float])] {
    ps.map { ($0.name, $0.value, $0.grad.toArray()) }
}

func expectSmall(_ errs: [(String, Double)], _ tol: Double = 1e-3, sourceLocation: SourceLocation = #_sourceLocation) {
    for (name, e) in errs {
        #expect(e < tol, "relative gradient error of \(name): \(e)", sourceLocation: sourceLocation)
    }
}
