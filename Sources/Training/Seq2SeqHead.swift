import NN
import Store

/// A seq2seq task's layers: an attention decoder over the shared encoder's states, started
/// from the encoder's final hidden and cell states of each direction (PyTorch's `h_n`, `c_n`;
/// or zeros).
///
/// Every encoded row of a batch goes through the decoder so that the memory's and the
/// target's layouts describe the same rows; rows without a target for this task decode one
/// masked step (`<bos>` → nothing), which costs a row of work and adds no loss or gradient.
final class Seq2SeqHead {
    let spec: TaskSpec
    let decoder: AttentionDecoder
    /// Picks the final state of each direction from the encoder's packed states (`h_n`).
    let bridge: Pooling?
    /// The same for the cell states (`c_n`).
    let cellBridge: Pooling?
    /// ∂/∂cells `backward` returns (reused from step to step).
    private let dCells = Tensor(shape: [0])
    /// ∂loss/∂logits of the last `loss` call, `[N_target, V]`.
    let dLogits = Tensor(shape: [0])
    /// ∂/∂states `backward` returns (reused from step to step).
    private let dStates = Tensor(shape: [0])

    /// What the last forward decoded: the target layout, the gold next ids per packed target
    /// row, and which packed rows count in the loss.
    private(set) var targetOut: [Int32] = []
    private(set) var rowMask: [Bool] = []
    private(set) var layout: PackedLayout?
    /// Whether the last teacher-forced forward started from the encoder's cells.
    private var usedCells = false

    var parameters: [Parameter] { decoder.parameters }

    init(spec: TaskSpec, config: ModelConfig, rng: inout SplitMix64) throws(TrainingError) {
        self.spec = spec
        let d = config.decoderSettings
        let attention = AttentionDecoder.Attention(rawValue: d.attention) ?? .general
        do {
            decoder = try AttentionDecoder(vocabularySize: spec.labels.count, embeddingSize: config.decoderEmbeddingSize,
                                           hiddenSize: config.decoderHiddenSize, memorySize: config.encodedSize,
                                           attention: attention, attentionSize: d.attentionSize, inputFeeding: d.inputFeeding,
                                           tieEmbeddings: d.tieEmbeddings, paddingID: TaskSpec.targetPad, rng: &rng)
        } catch {
            throw TrainingError(.configuration, "task '\(spec.name)': \(error)")
        }
        decoder.rename(prefix: "decoder.\(spec.name)")
        bridge = d.initFromEncoder ? Pooling(.last(directions: config.bidirectional ? 2 : 1), inputSize: config.encodedSize, rng: &rng) : nil
        cellBridge = d.initFromEncoder ? Pooling(.last(directions: config.bidirectional ? 2 : 1), inputSize: config.encodedSize, rng: &rng) : nil
    }

    /// The initial hidden and cell states `[B, H]` from the encoder's states and cells (the
    /// encoder's last layer, packed like the states), or nil (zeros).
    func initialState(states: Tensor, cells: Tensor?, layout: PackedLayout) throws -> (hidden: Tensor?, cell: Tensor?) {
        guard let bridge else { return (nil, nil) }
        let h = try bridge.forward(states, layout: layout)
        guard let cells, let cellBridge else { return (h, nil) }
        return (h, try cellBridge.forward(cells, layout: layout))
    }

    /// Teacher-forced forward over every encoded row: `targets[i]` (store label ids, nil
    /// without a target) for sequence i of `sourceLayout`. Returns the logits.
    func forward(states: Tensor, cells: Tensor?, sourceLayout: PackedLayout, targets: [[Int32]?]) throws -> Tensor {
        let B = sourceLayout.batch
        var lengths = [Int32](repeating: 1, count: B)
        var sequences: [[Int32]] = Array(repeating: [], count: B)
        for (i, t) in targets.enumerated() {
            guard let t, !t.isEmpty else { continue }
            sequences[i] = spec.decoderIDs(t)
            lengths[i] = Int32(t.count + 1)
        }
        let T = Int(lengths.max() ?? 1)
        var targetIn = [Int32](repeating: TaskSpec.targetPad, count: B * T)
        var out = [Int32](repeating: TaskSpec.targetPad, count: B * T)
        var present = [Bool](repeating: false, count: B)
        for b in 0..<B {
            targetIn[b * T] = TaskSpec.targetBOS
            let q = sequences[b]
            guard !q.isEmpty else { continue }
            present[b] = true
            for (k, id) in q.enumerated() { targetIn[b * T + k + 1] = id; out[b * T + k] = id }
            out[b * T + q.count] = TaskSpec.targetEOS
        }
        let L = try PackedLayout(lengths: lengths, paddedLength: T)
        layout = L
        targetOut = try L.pack(out)
        rowMask = L.perRow(present)
        let start = try initialState(states: states, cells: cells, layout: sourceLayout)
        usedCells = start.cell != nil
        return try decoder.forward(memory: states, sourceLayout: sourceLayout, targetIn: targetIn, targetLayout: L,
                                   initialHidden: start.hidden, initialCell: start.cell)
    }

    /// The masked mean cross-entropy of the last forward (per target token, `<eos>` included),
    /// its logit gradient (× `scale`) kept for `backward`.
    func loss(logits: Tensor, spec loss: TaskLoss, scale: Float) throws -> Float? {
        guard rowMask.contains(true) else { return nil }
        let ce = SoftmaxCrossEntropy(labelSmoothing: loss.labelSmoothing, focalGamma: loss.focalGamma)
        return try ce(logits: logits, targets: targetOut, mask: rowMask, gradient: dLogits, scale: scale)
    }

    /// Decodes every sequence of `layout` from the encoder's states: greedy for beam 1, else
    /// beam search; `nBest` hypotheses each (decoder ids, without `<bos>`/`<eos>`). Decoding
    /// never emits `<pad>`, `<bos>` or `<unk>` and stops at the configured maximum length.
    func decode(states: Tensor, cells: Tensor?, layout: PackedLayout, settings d: DecoderConfig, beam: Int, nBest: Int = 1) throws -> [[Hypothesis]] {
        let penalty: LengthPenalty = switch d.lengthPenalty {
        case "average": .average(d.lengthPenaltyAlpha)
        case "gnmt": .gnmt(d.lengthPenaltyAlpha)
        default: LengthPenalty.none
        }
        let options = DecodingOptions(beamSize: max(beam, 1), nBest: min(max(nBest, 1), max(beam, 1)), lengthPenalty: penalty,
                                      maxLengthRatio: d.maxLengthRatio, maxLengthOffset: d.maxLengthOffset,
                                      forbiddenTokens: [TaskSpec.targetUnknown])
        let start = try initialState(states: states, cells: cells, layout: layout)
        if beam <= 1 {
            return try decoder.greedy(memory: states, sourceLayout: layout, initialHidden: start.hidden, initialCell: start.cell,
                                      bos: TaskSpec.targetBOS, eos: TaskSpec.targetEOS, options: options).map { [$0] }
        }
        return try decoder.beamSearch(memory: states, sourceLayout: layout, initialHidden: start.hidden, initialCell: start.cell,
                                      bos: TaskSpec.targetBOS, eos: TaskSpec.targetEOS, options: options)
    }

    /// Back-propagates `dLogits`; returns ∂/∂states (the memory's gradient plus the initial
    /// hidden state's, routed to the final positions) and ∂/∂cells (the initial cell state's, at
    /// the final positions; nil when the decoder did not start from the encoder's cells).
    func backward() throws -> (states: Tensor, cells: Tensor?) {
        let g = try decoder.backward(dLogits)
        guard let bridge else { return (g.memory, nil) }
        let dh = try bridge.backward(g.hidden)
        dStates.resize(g.memory.shape)
        for i in 0..<dStates.count { dStates.data[i] = g.memory.data[i] + dh.data[i] }
        guard let cellBridge, usedCells else { return (dStates, nil) }
        let dc = try cellBridge.backward(g.cell)
        dCells.resize(dc.shape)
        dCells.data.update(from: dc.data, count: dc.count)
        return (dStates, dCells)
    }
}
