// MARK: - Linear

/// y = x·Wᵀ + b over rows. Weight `[out, in]` named `weight`, bias `[out]` named `bias`.
public final class Linear: ParameterContainer {
    public let weight: Parameter, bias: Parameter
    public var inputSize: Int { weight.value.shape[1] }
    public var outputSize: Int { weight.value.shape[0] }
    public var parameters: [Parameter] { [weight, bias] }
    private let output = Tensor(shape: [0]), dInput = Tensor(shape: [0])
    private var input: Tensor?

    /// U(-1/√in, 1/√in) initialisation like PyTorch.
    public init(inputSize: Int, outputSize: Int, rng: inout SplitMix64) {
        weight = Parameter(name: "weight", shape: [outputSize, inputSize])
        bias = Parameter(name: "bias", shape: [outputSize], decays: false)
        let a = 1 / Float(inputSize).squareRoot()
        weight.value.fillUniform(a, rng: &rng)
        bias.value.fillUniform(a, rng: &rng)
    }

    /// `x` is `[M, in]`; returns `[M, out]` (owned by the layer).
    public func forward(_ x: Tensor) throws(NNError) -> Tensor {
        let M = x.rows, I = inputSize, O = outputSize
        guard x.cols == I else { throw .shapeMismatch(where: "Linear.forward", expected: [M, I], got: x.shape) }
        input = x
        output.resize([M, O])
        for r in 0..<M { (output.data + r * O).update(from: bias.value.data, count: O) }
        BLAS.gemm(false, true, M, O, I, 1, x.data, I, weight.value.data, I, 1, output.data, O)
        return output
    }

    /// Accumulates dW, db; returns dx `[M, in]`.
    public func backward(_ dOut: Tensor) throws(NNError) -> Tensor {
        guard let x = input else { throw .invalidArgument(where: "Linear.backward", message: "backward before forward") }
        let M = x.rows, I = inputSize, O = outputSize
        guard dOut.shape == [M, O] else { throw .shapeMismatch(where: "Linear.backward", expected: [M, O], got: dOut.shape) }
        if !weight.frozen { BLAS.gemm(true, false, O, I, M, 1, dOut.data, O, x.data, I, 1, weight.grad.data, I) }
        if !bias.frozen {
            let db = bias.grad.data
            for r in 0..<M { let row = dOut.data + r * O; for j in 0..<O { db[j] += row[j] } }
        }
        dInput.resize([M, I])
        BLAS.gemm(false, false, M, I, O, 1, dOut.data, O, weight.value.data, I, 0, dInput.data, I)
        return dInput
    }
}

// MARK: - Activations

/// Elementwise activation layer.
public final class Activation {
    public enum Kind: String, Sendable { case relu, tanh, identity }
    public let kind: Kind
    private let output = Tensor(shape: [0]), dInput = Tensor(shape: [0])
    public init(_ kind: Kind) { self.kind = kind }

    public func forward(_ x: Tensor) -> Tensor {
        output.resize(x.shape)
        let s = x.data, o = output.data
        switch kind {
        case .relu: for i in 0..<x.count { o[i] = Swift.max(s[i], 0) }
        case .tanh: for i in 0..<x.count { o[i] = Math.fastTanh(s[i]) }
        case .identity: o.update(from: s, count: x.count)
        }
        return output
    }

    public func backward(_ dOut: Tensor) throws(NNError) -> Tensor {
        guard dOut.shape == output.shape else { throw .shapeMismatch(where: "Activation(\(kind)).backward", expected: output.shape, got: dOut.shape) }
        dInput.resize(dOut.shape)
        let d = dOut.data, y = output.data, o = dInput.data
        switch kind {
        case .relu: for i in 0..<dOut.count { o[i] = y[i] > 0 ? d[i] : 0 }
        case .tanh: for i in 0..<dOut.count { o[i] = d[i] * (1 - y[i] * y[i]) }
        case .identity: o.update(from: d, count: dOut.count)
        }
        return dInput
    }
}

// MARK: - Dropout

/// Inverted dropout. The mask of call k is a pure function of (seed, k, element index), so runs
/// are reproducible whatever the thread count.
public final class Dropout {
    public let rate: Float
    public let seed: UInt64
    /// Number of training-mode forwards so far (part of the mask key; saved with checkpoints if needed).
    public var calls: UInt64 = 0
    private let output = Tensor(shape: [0]), mask = Tensor(shape: [0]), dInput = Tensor(shape: [0])
    private var active = false

    public init(rate: Float, seed: UInt64) { self.rate = rate; self.seed = seed }

    public func forward(_ x: Tensor, training: Bool) throws(NNError) -> Tensor {
        guard rate > 0 && training else { active = false; return x }
        guard rate < 1 else { throw .invalidArgument(where: "Dropout", message: "rate \(rate) must be < 1") }
        active = true
        output.resize(x.shape); mask.resize(x.shape)
        let rng = SplitMix64(seed: seed).derived(calls)
        calls += 1
        let keep = 1 - rate, scale = 1 / keep
        let threshold = UInt64(Double(keep) * 16_777_216.0)
        for i in 0..<x.count {
            let m: Float = (rng.value(at: UInt64(i)) >> 40) < threshold ? scale : 0
            mask.data[i] = m
            output.data[i] = x.data[i] * m
        }
        return output
    }

    public func backward(_ dOut: Tensor) throws(NNError) -> Tensor {
        guard active else { return dOut }
        guard dOut.shape == mask.shape else { throw .shapeMismatch(where: "Dropout.backward", expected: mask.shape, got: dOut.shape) }
        dInput.resize(dOut.shape)
        for i in 0..<dOut.count { dInput.data[i] = dOut.data[i] * mask.data[i] }
        return dInput
    }
}

// MARK: - Feed-forward stack

/// Dense layers with an activation (and optional dropout) between them: the task-specific heads of the
/// seed model (`Dense(32, relu) → Dense(classes)`). Names: `dense{k}.weight`, `dense{k}.bias`.
public final class FeedForward: ParameterContainer {
    public let linears: [Linear]
    public let activations: [Activation]
    public let dropouts: [Dropout]
    public var parameters: [Parameter] { linears.flatMap { $0.parameters } }
    public var outputSize: Int { linears.last!.outputSize }

    /// `sizes = [in, hidden..., out]`; the activation follows every layer but the last.
    public init(sizes: [Int], activation: Activation.Kind = .relu, dropout: Float = 0, rng: inout SplitMix64) {
        precondition(sizes.count >= 2, "FeedForward needs at least [in, out]")
        var ls: [Linear] = []
        for k in 0..<(sizes.count - 1) {
            let l = Linear(inputSize: sizes[k], outputSize: sizes[k + 1], rng: &rng)
            l.rename(prefix: "dense\(k)")
            ls.append(l)
        }
        linears = ls
        activations = (0..<(sizes.count - 2)).map { _ in Activation(activation) }
        dropouts = (0..<(sizes.count - 2)).map { _ in Dropout(rate: dropout, seed: rng.next()) }
    }

    public func forward(_ x: Tensor, training: Bool = true) throws(NNError) -> Tensor {
        var h = x
        for k in linears.indices {
            h = try linears[k].forward(h)
            if k < activations.count { h = try dropouts[k].forward(activations[k].forward(h), training: training) }
        }
        return h
    }

    public func backward(_ dOut: Tensor) throws(NNError) -> Tensor {
        var d = dOut
        for k in linears.indices.reversed() {
            if k < activations.count { d = try activations[k].backward(dropouts[k].backward(d)) }
            d = try linears[k].backward(d)
        }
        return d
    }
}
