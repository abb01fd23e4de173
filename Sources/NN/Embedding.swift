// MARK: - Embedding

/// Token embedding producing packed rows `[N, dim]` from padded ids `[B×T]`.
///
/// The padding id's row is zero-initialised and never receives gradient. Set `weight.frozen` to
/// freeze the table (e.g. after `load(pretrained:)`).
public final class Embedding: ParameterContainer {
    /// The table `[vocabularySize, dimension]`, named `weight`.
    public let weight: Parameter
    /// Id whose row stays zero and gets no gradient (PyTorch `padding_idx`).
    public let paddingID: Int32?
    public var vocabularySize: Int { weight.value.shape[0] }
    public var dimension: Int { weight.value.shape[1] }
    public var parameters: [Parameter] { [weight] }

    private let output = Tensor(shape: [0, 0])
    private var packedIDs: [Int32] = []

    /// N(0, 1) initialisation like PyTorch's `nn.Embedding`.
    public init(vocabularySize: Int, dimension: Int, paddingID: Int32? = 0, rng: inout SplitMix64) {
        weight = Parameter(name: "weight", shape: [vocabularySize, dimension], decays: false)
        self.paddingID = paddingID
        weight.value.fillNormal(std: 1, rng: &rng)
        if let p = paddingID, p >= 0, Int(p) < vocabularySize {
            (weight.value.data + Int(p) * dimension).update(repeating: 0, count: dimension)
        }
    }

    /// Copies a pretrained matrix into the table.
    public func load(pretrained: Tensor) throws(NNError) {
        guard pretrained.shape == weight.value.shape else {
            throw .shapeMismatch(where: "Embedding.load(pretrained:)", expected: weight.value.shape, got: pretrained.shape)
        }
        try weight.value.assign(pretrained)
    }

    /// Looks up `ids` (`[B×T]`, row-major, padded) for the real tokens of `layout`. Returns `[N, dim]`
    /// (owned by the layer, valid until the next forward).
    public func forward(ids: [Int32], layout: PackedLayout) throws(NNError) -> Tensor {
        guard ids.count == layout.batch * layout.paddedLength else {
            throw .shapeMismatch(where: "Embedding.forward", expected: [layout.batch, layout.paddedLength], got: [ids.count])
        }
        let d = dimension, v = vocabularySize
        packedIDs = try layout.pack(ids)
        for id in packedIDs where id < 0 || Int(id) >= v {
            throw .invalidArgument(where: "Embedding.forward", message: "token id \(id) outside vocabulary of size \(v)")
        }
        output.resize([packedIDs.count, d])
        let w = weight.value.data, o = output.data
        for (r, id) in packedIDs.enumerated() { (o + r * d).update(from: w + Int(id) * d, count: d) }
        return output
    }

    /// Accumulates the gradient of the last forward's output into `weight.grad` (skipped when frozen).
    public func backward(_ dOut: Tensor) throws(NNError) {
        guard dOut.shape == output.shape else {
            throw .shapeMismatch(where: "Embedding.backward", expected: output.shape, got: dOut.shape)
        }
        if weight.frozen { return }
        let d = dimension, g = weight.grad.data, s = dOut.data
        for (r, id) in packedIDs.enumerated() where id != paddingID {
            let dst = g + Int(id) * d, src = s + r * d
            for j in 0..<d { dst[j] += src[j] }
        }
    }
}
