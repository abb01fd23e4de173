// MARK: - Stacked (Bi)LSTM encoder

/// A stack of LSTM layers, optionally bidirectional, over packed sequences.
///
/// Parameter names: `l{k}.fwd.weight_ih`, `l{k}.bwd.bias`, ... (prefix with `rename(prefix:)`, e.g.
/// `encoder.lstm`). Output rows are `[N, H·directions]`, forward direction first. With
/// `BLAS.threads ≥ 2` the two directions run concurrently, one per core.
public final class LSTMEncoder: ParameterContainer {
    public let inputSize: Int, hiddenSize: Int, layerCount: Int, bidirectional: Bool
    /// `layers[k][d]`: direction d (0 forward, 1 backward) of layer k.
    public let layers: [[LSTMDirection]]
    /// Dropout applied to the outputs of every layer but the last (PyTorch's `dropout`).
    public let interLayerDropout: [Dropout]
    public var outputSize: Int { hiddenSize * (bidirectional ? 2 : 1) }
    public var parameters: [Parameter] { layers.flatMap { $0.flatMap { $0.parameters } } }

    private var outputs: [Tensor] = []
    private var dSplit: [Tensor] = []
    private let dSum = Tensor(shape: [0])
    private var layout: PackedLayout?

    public init(inputSize: Int, hiddenSize: Int, layers: Int = 1, bidirectional: Bool = false,
                dropout: Float = 0, rng: inout SplitMix64) {
        self.inputSize = inputSize; self.hiddenSize = hiddenSize; self.layerCount = layers
        self.bidirectional = bidirectional
        var ls: [[LSTMDirection]] = []
        var drops: [Dropout] = []
        for k in 0..<layers {
            let inSize = k == 0 ? inputSize : hiddenSize * (bidirectional ? 2 : 1)
            var dirs: [LSTMDirection] = []
            for d in 0..<(bidirectional ? 2 : 1) {
                let dir = LSTMDirection(inputSize: inSize, hiddenSize: hiddenSize, reverse: d == 1, rng: &rng)
                dir.rename(prefix: "l\(k).\(d == 0 ? "fwd" : "bwd")")
                dirs.append(dir)
            }
            ls.append(dirs)
            if k < layers - 1 { drops.append(Dropout(rate: dropout, seed: rng.next())) }
        }
        self.layers = ls
        self.interLayerDropout = drops
        outputs = (0..<layers).map { _ in Tensor(shape: [0]) }
        dSplit = [Tensor(shape: [0]), Tensor(shape: [0])]
    }

    /// Encodes packed input `[N, inputSize]`; returns `[N, outputSize]` (owned by the encoder).
    public func forward(_ x: Tensor, layout L: PackedLayout, training: Bool = true) throws(NNError) -> Tensor {
        layout = L
        var cur = x
        for k in 0..<layerCount {
            let dirs = layers[k]
            if dirs.count == 1 {
                let h = try dirs[0].forward(cur, layout: L)
                outputs[k].resize(h.shape)
                outputs[k].data.update(from: h.data, count: h.count)
            } else {
                let inp = cur
                nonisolated(unsafe) var err: NNError?
                BLAS.parallelPair { d in
                    do throws(NNError) { _ = try dirs[d].forward(inp, layout: L) } catch { err = error }
                }
                if let err { throw err }
                try concat(dirs[0].output, dirs[1].output, into: outputs[k])
            }
            cur = outputs[k]
            if k < layerCount - 1 { cur = try interLayerDropout[k].forward(cur, training: training) }
        }
        return cur
    }

    /// The last layer's cell states `[N, outputSize]` of the last forward, forward direction first
    /// (a decoder starts from the final ones, as `h_n`/`c_n` do in PyTorch).
    public func topCells(into out: Tensor) throws(NNError) {
        let dirs = layers[layerCount - 1]
        if dirs.count == 1 {
            out.resize(dirs[0].cellStates.shape)
            out.data.update(from: dirs[0].cellStates.data, count: out.count)
        } else {
            try concat(dirs[0].cellStates, dirs[1].cellStates, into: out)
        }
    }

    /// Back-propagates `dOut` (`[N, outputSize]`) and, when given, `dTopCells` (`[N, outputSize]`,
    /// the gradient w.r.t. `topCells`); returns the input gradient `[N, inputSize]`.
    public func backward(_ dOut: Tensor, dTopCells: Tensor? = nil) throws(NNError) -> Tensor {
        guard let L = layout else { throw .invalidArgument(where: "LSTMEncoder.backward", message: "backward before forward") }
        let N = L.tokenCount
        guard dOut.shape == [N, outputSize] else {
            throw .shapeMismatch(where: "LSTMEncoder.backward", expected: [N, outputSize], got: dOut.shape)
        }
        var d = dOut
        for k in stride(from: layerCount - 1, through: 0, by: -1) {
            if k < layerCount - 1 { d = try interLayerDropout[k].backward(d) }
            let dirs = layers[k]
            let dCells = k == layerCount - 1 ? dTopCells : nil
            if let dCells, dCells.shape != [N, outputSize] {
                throw .shapeMismatch(where: "LSTMEncoder.backward (cells)", expected: [N, outputSize], got: dCells.shape)
            }
            if dirs.count == 1 {
                d = try dirs[0].backward(d, dCell: dCells)
            } else {
                split(d, H: hiddenSize)
                let parts = dSplit
                var cellParts: [Tensor?] = [nil, nil]
                if let dCells {
                    cellParts = [Tensor(shape: [N, hiddenSize]), Tensor(shape: [N, hiddenSize])]
                    for r in 0..<N {
                        (cellParts[0]!.data + r * hiddenSize).update(from: dCells.data + r * 2 * hiddenSize, count: hiddenSize)
                        (cellParts[1]!.data + r * hiddenSize).update(from: dCells.data + r * 2 * hiddenSize + hiddenSize, count: hiddenSize)
                    }
                }
                let cells = cellParts
                nonisolated(unsafe) var err: NNError?
                BLAS.parallelPair { i in
                    do throws(NNError) { _ = try dirs[i].backward(parts[i], dCell: cells[i]) } catch { err = error }
                }
                if let err { throw err }
                let a = dirs[0].dInput, b = dirs[1].dInput
                dSum.resize(a.shape)
                for i in 0..<a.count { dSum.data[i] = a.data[i] + b.data[i] }
                d = dSum
            }
        }
        return d
    }

    private func concat(_ a: Tensor, _ b: Tensor, into out: Tensor) throws(NNError) {
        let N = a.shape[0], H = a.shape[1]
        out.resize([N, 2 * H])
        for r in 0..<N {
            (out.data + r * 2 * H).update(from: a.data + r * H, count: H)
            (out.data + r * 2 * H + H).update(from: b.data + r * H, count: H)
        }
    }

    private func split(_ d: Tensor, H: Int) {
        let N = d.shape[0]
        dSplit[0].resize([N, H]); dSplit[1].resize([N, H])
        for r in 0..<N {
            (dSplit[0].data + r * H).update(from: d.data + r * 2 * H, count: H)
            (dSplit[1].data + r * H).update(from: d.data + r * 2 * H + H, count: H)
        }
    }
}
