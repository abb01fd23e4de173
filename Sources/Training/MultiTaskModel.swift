import NN
import Store

/// The shared-encoder multi-task model: embedding → (Bi)LSTM → one head per task.
///
/// Sequence-level tasks (classification, multilabel) read a pooled vector per example;
/// token-level tasks (tagging, spans) read every token's encoder state, through a per-token
/// softmax or a CRF. Parameter names follow the README's safetensors table:
/// `embedding.weight`, `encoder.lstm.l0.fwd.weight_ih`, `pooling.attention.weight`,
/// `heads.<task>.dense0.weight`, `heads.<task>.crf.transitions`.
public final class MultiTaskModel {
    public let config: ModelConfig
    let embedding: Embedding
    let embeddingDropout: Dropout
    let encoder: LSTMEncoder
    let encoderDropout: Dropout
    let pooling: Pooling
    let heads: [TaskHead]

    /// Every trainable parameter, in a fixed order (the checkpoint's and the gradient buffer's).
    public let parameters: [Parameter]
    /// The parameters every task shares (embedding, encoder, pooling): what PCGrad projects.
    public let sharedParameters: [Parameter]
    /// Every dropout layer: their call counters are part of a checkpoint (the masks are keyed by them).
    let dropouts: [Dropout]

    private let pooled = Tensor(shape: [0])
    private let dPooled = Tensor(shape: [0]), dPooledEncoded = Tensor(shape: [0]), dStates = Tensor(shape: [0])
    /// The encoder's last-layer cell states of the last forward (seq2seq decoders start from the
    /// final ones) and their gradient.
    private let cells = Tensor(shape: [0]), dCells = Tensor(shape: [0])
    private var cellsValid = false
    private var input: ModelInput?
    private var states: Tensor?

    /// Builds the model with initial weights drawn from `config.seed`.
    public init(config: ModelConfig) throws(TrainingError) {
        try config.validate()
        self.config = config
        var rng = SplitMix64(seed: config.seed)
        embedding = Embedding(vocabularySize: config.vocabularySize, dimension: config.embeddingSize, paddingID: config.padID, rng: &rng)
        embedding.rename(prefix: "embedding")
        embedding.weight.frozen = config.freezeEmbeddings
        embeddingDropout = Dropout(rate: config.dropout, seed: rng.next())
        encoder = LSTMEncoder(inputSize: config.embeddingSize, hiddenSize: config.hiddenSize, layers: config.layers,
                              bidirectional: config.bidirectional, dropout: config.dropout, rng: &rng)
        encoder.rename(prefix: "encoder.lstm")
        encoderDropout = Dropout(rate: config.dropout, seed: rng.next())
        let D = config.encodedSize
        let kind: Pooling.Kind
        switch config.pooling {
        case .last: kind = .last(directions: config.bidirectional ? 2 : 1)
        case .mean: kind = .mean
        case .max: kind = .max
        case .attention: kind = .attention(size: config.attentionSize)
        }
        pooling = Pooling(kind, inputSize: D, rng: &rng)
        pooling.rename(prefix: "pooling")
        var hs: [TaskHead] = []
        for spec in config.tasks {
            // Each head draws from its own stream so that adding a task leaves the others' initial weights alone.
            var headRNG = rng.derived("heads." + spec.name)
            hs.append(try TaskHead(spec: spec, config: config, inputSize: D, rng: &headRNG))
        }
        heads = hs
        sharedParameters = embedding.parameters + encoder.parameters + pooling.parameters
        parameters = sharedParameters + hs.flatMap(\.parameters)
        dropouts = [embeddingDropout] + encoder.interLayerDropout + [encoderDropout] + hs.flatMap { $0.net?.dropouts ?? [] }
    }

    /// Copies pretrained vectors `[vocabularySize × embeddingSize]` into the embedding table.
    public func loadEmbeddings(_ matrix: [Float]) throws(TrainingError) {
        do {
            try embedding.load(pretrained: Tensor(shape: [config.vocabularySize, config.embeddingSize], values: matrix))
        } catch {
            throw TrainingError(.configuration, "the pretrained vectors do not fit the embedding table (\(error)): give --emb the vectors' dimension")
        }
        embedding.weight.frozen = config.freezeEmbeddings
    }

    /// The parameters a backward pass over `tasks` on `input` gives a gradient: the embedding and
    /// encoder when some row has tokens, the pooling when a sequence-level task is among them,
    /// and the tasks' heads. The optimizer steps only these (PyTorch skips parameters without a
    /// gradient), so stale moments never move a layer the batch did not reach.
    public func parametersReached(_ input: ModelInput, tasks: [Int]) -> [Parameter] {
        var out: [Parameter] = []
        if input.layout != nil {
            out += embedding.parameters + encoder.parameters
            if tasks.contains(where: { heads[$0].spec.readsPooled }) { out += pooling.parameters }
        }
        return out + tasks.flatMap { heads[$0].parameters }
    }

    /// The dropout layers' call counters (part of the training state).
    public var dropoutCalls: [UInt64] {
        get { dropouts.map(\.calls) }
        set { for (d, c) in zip(dropouts, newValue) { d.calls = c } }
    }

    // MARK: - Forward

    /// Runs the encoder and every head with targets (or every head, when `allHeads`) on `input`.
    /// Results stay in the heads until the next call.
    public func forward(_ input: ModelInput, training: Bool, allHeads: Bool = false) throws -> [HeadOutput?] {
        self.input = input
        let B = input.size, D = config.encodedSize
        var h: Tensor? = nil
        if let layout = input.layout {
            var x = try embedding.forward(ids: input.tokenIDs, layout: layout)
            x = try embeddingDropout.forward(x, training: training)
            let e = try encoder.forward(x, layout: layout, training: training)
            h = try encoderDropout.forward(e, training: training)
            cellsValid = heads.contains { $0.seq2seq?.cellBridge != nil }
            if cellsValid { try encoder.topCells(into: cells) }
        } else {
            cellsValid = false
        }
        states = h
        let needsPooling = heads.indices.contains { heads[$0].spec.readsPooled && (allHeads || input.targets[$0].isPresent) }
        if needsPooling {
            pooled.resize([B, D], zero: true)
            if let h, let layout = input.layout {
                let z = try pooling.forward(h, layout: layout)
                for (i, r) in input.encodedRows.enumerated() { (pooled.data + r * D).update(from: z.data + i * D, count: D) }
            }
        }
        var out: [HeadOutput?] = []
        for (t, head) in heads.enumerated() {
            guard allHeads || input.targets[t].isPresent else { out.append(nil); continue }
            if let s2s = head.seq2seq {
                guard let h, let layout = input.layout else { out.append(nil); continue }
                var targets: [[Int32]?] = Array(repeating: nil, count: input.encodedRows.count)
                if case let .sequences(q, mask) = input.targets[t] {
                    for (i, r) in input.encodedRows.enumerated() where mask[r] { targets[i] = q[r] }
                }
                out.append(.sequence(try s2s.forward(states: h, cells: cellsValid ? cells : nil, sourceLayout: layout, targets: targets),
                                     states: h, layout: layout))
            } else if head.spec.isTokenLevel {
                guard let h, let layout = input.layout else { out.append(nil); continue }
                out.append(.tokens(try head.net!.forward(h, training: training), layout: layout))
            } else {
                out.append(.rows(try head.net!.forward(pooled, training: training)))
            }
        }
        return out
    }

    /// What one head produced: logits per batch row, or per packed token of the non-empty rows.
    public enum HeadOutput {
        case rows(Tensor)
        case tokens(Tensor, layout: PackedLayout)
        /// A seq2seq head's teacher-forced logits (packed by its target layout), and the
        /// encoder states and layout it attended over (what decoding starts from).
        case sequence(Tensor, states: Tensor, layout: PackedLayout)
    }

    // MARK: - Losses and backward

    /// The loss of task t on the last forward (its masked mean) with its logit gradient,
    /// multiplied by `scale`, kept in the head for `backward`. CRF parameters receive their
    /// gradient here. Nil when the task has no labelled row in the batch.
    public func loss(task t: Int, output: HeadOutput?, loss spec: TaskLoss, classWeights: [Float]?, scale: Float) throws -> Float? {
        guard let output, let input else { return nil }
        let head = heads[t]
        switch (input.targets[t], output) {
        case let (.values(y, mask), .rows(predictions)):
            return MeanSquaredError()(predictions: predictions, targets: y, mask: mask, gradient: head.dLogits, scale: scale)
        case let (.sequences, .sequence(logits, _, _)):
            return try head.seq2seq?.loss(logits: logits, spec: spec, scale: scale)
        case let (.classes(y, mask), .rows(logits)):
            let ce = SoftmaxCrossEntropy(classWeights: classWeights, labelSmoothing: spec.labelSmoothing, focalGamma: spec.focalGamma)
            return try ce(logits: logits, targets: y.map { max($0, 0) }, mask: mask, gradient: head.dLogits, scale: scale)
        case let (.multiHot(y, mask), .rows(logits)):
            let bce = SigmoidBinaryCrossEntropy(focalGamma: spec.focalGamma)
            return try bce(logits: logits, targets: y, mask: mask, gradient: head.dLogits, scale: scale)
        case let (.tags(tags, sequenceMask, tokenMask), .tokens(emissions, layout)):
            if let crf = head.crf {
                return try crf.loss(emissions: emissions, tags: head.repairedForCRF(tags, layout: layout), layout: layout, mask: sequenceMask,
                                    gradient: head.dLogits, scale: scale)
            }
            let ce = SoftmaxCrossEntropy(classWeights: classWeights, labelSmoothing: spec.labelSmoothing, focalGamma: spec.focalGamma)
            return try ce(logits: emissions, targets: tags, mask: tokenMask, gradient: head.dLogits, scale: scale)
        default:
            return nil
        }
    }

    /// Back-propagates the logit gradients that `loss` left in the heads of `tasks` through the
    /// heads, pooling, encoder and embedding, accumulating parameter gradients.
    public func backward(tasks: [Int]) throws {
        guard let input else { return }
        let B = input.size, D = config.encodedSize
        var pooledUsed = false, statesUsed = false, cellsUsed = false
        for t in tasks {
            let head = heads[t]
            let d: Tensor
            if let s2s = head.seq2seq {
                let g = try s2s.backward()
                d = g.states
                if let dc = g.cells {
                    if !cellsUsed { dCells.resize(dc.shape, zero: true); cellsUsed = true }
                    for i in 0..<dc.count { dCells.data[i] += dc.data[i] }
                }
            } else {
                d = try head.net!.backward(head.dLogits)
            }
            if !head.spec.readsPooled {
                if !statesUsed { dStates.resize(d.shape, zero: true); statesUsed = true }
                for i in 0..<d.count { dStates.data[i] += d.data[i] }
            } else {
                if !pooledUsed { dPooled.resize([B, D], zero: true); pooledUsed = true }
                for i in 0..<d.count { dPooled.data[i] += d.data[i] }
            }
        }
        guard input.layout != nil, pooledUsed || statesUsed else { return }
        if pooledUsed {
            dPooledEncoded.resize([input.encodedRows.count, D])
            for (i, r) in input.encodedRows.enumerated() { (dPooledEncoded.data + i * D).update(from: dPooled.data + r * D, count: D) }
            let dh = try pooling.backward(dPooledEncoded)
            if statesUsed {
                for i in 0..<dh.count { dStates.data[i] += dh.data[i] }
            } else {
                dStates.resize(dh.shape)
                dStates.data.update(from: dh.data, count: dh.count)
            }
        }
        let dEncoded = try encoderDropout.backward(dStates)
        let dx = try encoder.backward(dEncoded, dTopCells: cellsUsed ? dCells : nil)
        try embedding.backward(embeddingDropout.backward(dx))
    }

    // MARK: - Predictions

    /// Predicted classes per batch row from a classification head's logits.
    public func predictedClasses(_ output: HeadOutput) -> [Int] {
        guard case let .rows(logits) = output else { return [] }
        let C = logits.cols
        return (0..<logits.rows).map { r in
            var best = 0
            for c in 1..<max(C, 1) where logits.data[r * C + c] > logits.data[r * C + best] { best = c }
            return best
        }
    }

    /// Predicted label sets per batch row (sigmoid > 0.5, i.e. logit > 0).
    public func predictedSets(_ output: HeadOutput) -> [[Int]] {
        guard case let .rows(logits) = output else { return [] }
        let L = logits.cols
        return (0..<logits.rows).map { r in (0..<L).filter { logits.data[r * L + $0] > 0 } }
    }

    /// Decoded targets per non-empty row (`input.encodedRows` order) of a seq2seq head's last
    /// forward: the `nBest` best hypotheses of each, as decoder vocabulary ids.
    public func predictedSequences(task t: Int, _ output: HeadOutput, beam: Int? = nil, nBest: Int = 1) throws -> [[Hypothesis]] {
        guard case let .sequence(_, states, layout) = output, let head = heads[t].seq2seq else { return [] }
        let d = config.decoderSettings
        return try head.decode(states: states, cells: cellsValid ? cells : nil, layout: layout, settings: d, beam: beam ?? d.beamSize, nBest: nBest)
    }

    /// Predicted tags per non-empty row (`input.encodedRows` order): Viterbi under the CRF, else
    /// the per-token argmax.
    public func predictedTags(task t: Int, _ output: HeadOutput) throws -> [[Int32]] {
        guard case let .tokens(emissions, layout) = output else { return [] }
        if let crf = heads[t].crf { return try crf.decode(emissions: emissions, layout: layout) }
        let K = emissions.cols
        return (0..<layout.batch).map { b in
            (0..<layout.lengths[b]).map { time in
                let r = layout.row(batch: b, time: time)
                var best = 0
                for k in 1..<max(K, 1) where emissions.data[r * K + k] > emissions.data[r * K + best] { best = k }
                return Int32(best)
            }
        }
    }
}

/// Per-task loss options (`--loss TASK=focal(2)`, `--loss TASK=smoothing(0.1)`).
public struct TaskLoss: Sendable, Codable, Equatable {
    public var focalGamma: Float = 0
    public var labelSmoothing: Float = 0
    public init(focalGamma: Float = 0, labelSmoothing: Float = 0) { self.focalGamma = focalGamma; self.labelSmoothing = labelSmoothing }
}

/// One task's layers: a dense stack to class (or tag) scores, and a CRF for `--head crf`; or,
/// for a seq2seq task, its attention decoder.
final class TaskHead {
    let spec: TaskSpec
    let net: FeedForward?
    let crf: CRF?
    let seq2seq: Seq2SeqHead?
    /// ∂loss/∂logits of the last `loss` call.
    let dLogits = Tensor(shape: [0])
    var parameters: [Parameter] { (net?.parameters ?? []) + (crf?.parameters ?? []) + (seq2seq?.parameters ?? []) }

    /// Per tag id: the tag that opens a span of the same type (`I-X` → `B-X`, BIOES `E-X` → `S-X`), or -1.
    let openingTag: [Int32]

    init(spec: TaskSpec, config: ModelConfig, inputSize: Int, rng: inout SplitMix64) throws(TrainingError) {
        self.spec = spec
        let hidden = config.headHidden, dropout = config.dropout
        let ids = Dictionary(spec.labels.enumerated().map { ($1, Int32($0)) }, uniquingKeysWith: { a, _ in a })
        openingTag = spec.labels.map { tag in
            guard tag.count > 2, tag.dropFirst().first == "-" else { return -1 }
            let type = tag.dropFirst(2)
            switch tag.first {
            case "I": return ids["B-" + type] ?? -1
            case "E": return ids[(spec.tagScheme == .bioes ? "S-" : "B-") + type] ?? -1
            default: return -1
            }
        }
        if spec.kind == .seq2seq {
            seq2seq = try Seq2SeqHead(spec: spec, config: config, rng: &rng)
            net = nil; crf = nil
            return
        }
        seq2seq = nil
        let outputs = spec.kind == .regression ? 1 : spec.labels.count
        let sizes = hidden > 0 ? [inputSize, hidden, outputs] : [inputSize, outputs]
        let net = FeedForward(sizes: sizes, activation: .relu, dropout: dropout, rng: &rng)
        net.rename(prefix: "heads.\(spec.name)")
        self.net = net
        if spec.head == .crf {
            let crf = CRF(tagCount: spec.labels.count, rng: &rng)
            crf.rename(prefix: "heads.\(spec.name)")
            let allowed = TagConstraints.allowed(tags: spec.labels, scheme: spec.tagScheme)
            do { try crf.constrain(transitions: allowed.transitions, start: allowed.start) } catch {
                throw TrainingError(.configuration, "task '\(spec.name)': \(error)")
            }
            self.crf = crf
        } else {
            crf = nil
        }
    }
}

extension TaskHead {
    /// Gold tags the CRF's constraints would call impossible, read as seqeval and conlleval read
    /// them: an `I-X` (or `E-X`) that opens a span — first in a sequence, as a tail truncation can
    /// leave it, or after `O` or another type (IOB1 data) — becomes the opening tag `B-X` (`S-X`).
    /// Without it such a sequence would stop the run.
    func repairedForCRF(_ tags: [Int32], layout: PackedLayout) -> [Int32] {
        guard openingTag.contains(where: { $0 >= 0 }) else { return tags }
        var out = tags
        let labels = spec.labels
        func type(_ id: Int32) -> Substring? {
            let t = labels[Int(id)]
            return t.count > 2 && t.dropFirst().first == "-" ? t.dropFirst(2) : nil
        }
        func continues(_ id: Int32) -> Bool { let f = labels[Int(id)].first; return f == "B" || f == "I" }
        for b in 0..<layout.batch {
            var previous: Int32 = -1
            for t in 0..<layout.lengths[b] {
                let row = layout.row(batch: b, time: t)
                let tag = out[row]
                if tag >= 0 && Int(tag) < openingTag.count, openingTag[Int(tag)] >= 0 {
                    let opens = previous < 0 || !continues(previous) || type(previous) != type(tag)
                    if opens { out[row] = openingTag[Int(tag)] }
                }
                previous = out[row]
            }
        }
        return out
    }
}

/// Which tag transitions a scheme allows, for the CRF's constraints.
public enum TagConstraints {
    /// BIO: `I-X` only after `B-X` or `I-X`, never first. BIOES: after `B-X`/`I-X` only
    /// `I-X`/`E-X`; `I-X`/`E-X` only after `B-X`/`I-X`; a sequence starts with `O`, `B-` or `S-`.
    /// Tags without a prefix (`O`, or a scheme-less tag set) constrain nothing.
    public static func allowed(tags: [String], scheme: TagScheme?) -> (transitions: [Bool], start: [Bool]) {
        guard scheme == .bioes else { return CRF.bioConstraints(tags: tags) }
        let K = tags.count
        func split(_ s: String) -> (Character?, Substring) {
            guard s.count >= 2, let f = s.first, "BIES".contains(f), s.dropFirst().first == "-" else { return (nil, Substring(s)) }
            return (f, s.dropFirst(2))
        }
        let parts = tags.map(split)
        var t = [Bool](repeating: true, count: K * K), st = [Bool](repeating: true, count: K)
        for j in 0..<K {
            let (pj, tj) = parts[j]
            let continues = pj == "I" || pj == "E"
            if continues { st[j] = false }
            for i in 0..<K {
                let (pi, ti) = parts[i]
                let open = pi == "B" || pi == "I"
                if open { t[i * K + j] = continues && ti == tj } else if continues { t[i * K + j] = false }
            }
        }
        return (t, st)
    }
}
