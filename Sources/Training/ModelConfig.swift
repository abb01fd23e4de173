import Store

/// How a task's outputs are scored: a softmax over classes or tags, independent sigmoids
/// (multilabel), or a linear-chain CRF over per-token scores.
public enum HeadKind: String, Sendable, Codable, CaseIterable {
    case softmax, sigmoid, crf
    /// An LSTM decoder with attention over the encoder's states (seq2seq tasks).
    case decoder
    /// One linear output, trained with the mean squared error (regression tasks).
    case linear
}

/// Pooling of the encoder's token states into one vector per example (sequence-level tasks).
public enum PoolingKind: String, Sendable, Codable, CaseIterable {
    /// The final state of each direction (PyTorch's `h_n`), as `train_torch.py` does.
    case last
    case mean, max
    /// Additive attention over the tokens.
    case attention
}

/// A task as the model sees it: what it predicts and over which labels.
public struct TaskSpec: Sendable, Codable, Equatable {
    public var name: String
    public var kind: TaskKind
    /// Label (or tag) names; ids are positions.
    public var labels: [String]
    /// BIO or BIOES for tagging and spans tasks whose tags carry prefixes.
    public var tagScheme: TagScheme?
    public var head: HeadKind
    /// seq2seq: per store label id (a target token type), its id in the decoder's vocabulary
    /// `labels` (`<unk>` for types unseen in the training part). Nil for other kinds.
    public var targetIDs: [Int32]?

    public init(name: String, kind: TaskKind, labels: [String], tagScheme: TagScheme?, head: HeadKind, targetIDs: [Int32]? = nil) {
        self.name = name; self.kind = kind; self.labels = labels; self.tagScheme = tagScheme; self.head = head
        self.targetIDs = targetIDs
    }

    /// The decoder vocabulary's special tokens, first in `labels` of a seq2seq task.
    public static let targetSpecials = ["<pad>", "<unk>", "<bos>", "<eos>"]
    public static let targetPad: Int32 = 0, targetUnknown: Int32 = 1, targetBOS: Int32 = 2, targetEOS: Int32 = 3

    /// The decoder ids of a target given as store label ids (types unseen in training → `<unk>`).
    public func decoderIDs(_ labelIDs: [Int32]) -> [Int32] {
        guard let map = targetIDs else { return labelIDs }
        return labelIDs.map { $0 >= 0 && Int($0) < map.count ? map[Int($0)] : TaskSpec.targetUnknown }
    }

    /// A seq2seq task's decoder vocabulary: the specials, then the target token types seen in
    /// the training part (`counts[labelID] > 0`) in label-id order; unseen types map to `<unk>`.
    public static func seq2seq(name: String, labels: [String], trainingCounts counts: [Int64]) -> TaskSpec {
        var names = targetSpecials, ids = [Int32](repeating: targetUnknown, count: labels.count)
        for (i, l) in labels.enumerated() where i < counts.count && counts[i] > 0 {
            ids[i] = Int32(names.count); names.append(l)
        }
        return TaskSpec(name: name, kind: .seq2seq, labels: names, tagScheme: nil, head: .decoder, targetIDs: ids)
    }

    /// Checks that the head suits the task's kind; the message names the `--head` flag.
    public func validateHead() throws(TrainingError) {
        func bad(_ m: String) -> TrainingError { TrainingError(.configuration, m) }
        switch (kind, head) {
        case (.classification, .softmax), (.multilabel, .sigmoid), (.tagging, .softmax), (.tagging, .crf), (.spans, .softmax), (.spans, .crf),
             (.seq2seq, .decoder), (.regression, .linear):
            return
        case (.regression, _):
            throw bad("--head \(name)=\(head.rawValue): '\(name)' is a regression task; its head is linear")
        case (_, .linear):
            throw bad("--head \(name)=linear: '\(name)' is a \(kind.rawValue) task; a linear head is for regression tasks")
        case (.seq2seq, _):
            throw bad("--head \(name)=\(head.rawValue): '\(name)' is a seq2seq task; its head is the attention decoder (set it up with --decoder-*)")
        case (_, .decoder):
            throw bad("--head \(name)=decoder: '\(name)' is a \(kind.rawValue) task; the decoder is for seq2seq tasks")
        case (.classification, _):
            throw bad("--head \(name)=\(head.rawValue): '\(name)' is a classification task; its head is softmax (crf is for tagging and spans tasks)")
        case (.multilabel, _):
            throw bad("--head \(name)=\(head.rawValue): '\(name)' is a multilabel task; its head is sigmoid")
        case (_, .sigmoid):
            throw bad("--head \(name)=sigmoid: '\(name)' is a \(kind.rawValue) task; use softmax or crf")
        }
    }

    /// The metrics an evaluation reports for the task (what `--select TASK:METRIC` may name).
    public var metricNames: [String] {
        switch kind {
        case .classification: return ["accuracy", "macro_f1", "weighted_f1", "loss"]
        case .multilabel: return ["micro_f1", "macro_f1", "weighted_f1", "samples_f1", "subset_accuracy", "loss"]
        case .tagging, .spans:
            return hasSpans ? ["f1", "precision", "recall", "token_accuracy", "macro_f1", "loss"] : ["accuracy", "macro_f1", "loss"]
        case .seq2seq:
            return ["sequence_accuracy", "sequence_error_rate", "token_error_rate", "bleu", "chrf", "loss"]
        case .regression:
            return ["pearson", "spearman", "rmse", "mae", "mse", "loss"]
        }
    }

    /// Whether the task predicts one output per token.
    public var isTokenLevel: Bool { kind == .tagging || kind == .spans }
    /// Whether its head reads one pooled vector per example (classification, multilabel).
    public var readsPooled: Bool { kind == .classification || kind == .multilabel || kind == .regression }

    /// Whether its tags form labelled spans (scored by chunk F1): spans tasks, and tagging
    /// tasks whose tags carry B-/I- prefixes.
    public var hasSpans: Bool {
        kind == .spans || tagScheme != nil || (kind == .tagging && labels.contains { $0.hasPrefix("B-") })
    }
}

/// Everything that decides the model's shape and initial weights. Part of the resolved
/// configuration a checkpoint records: a resume with a different one is refused.
public struct ModelConfig: Sendable, Codable, Equatable {
    public var vocabularySize: Int
    public var padID: Int32
    public var embeddingSize = 128
    public var hiddenSize = 128
    public var layers = 1
    public var bidirectional = true
    /// Dropout on the embeddings, between LSTM layers, on the encoder's outputs and inside the heads.
    public var dropout: Float = 0.1
    public var pooling: PoolingKind = .last
    /// Size of the attention projection (`--pooling attention`).
    public var attentionSize = 64
    /// Width of each head's hidden dense layer (ReLU); 0 = a single linear layer.
    public var headHidden = 32
    public var tasks: [TaskSpec]
    /// Pretrained vectors (a `vocab embed` name) copied into the embedding table at initialisation.
    public var embeddings: String?
    public var freezeEmbeddings = false
    /// Seed of the initial weights and of the dropout masks.
    public var seed: UInt64 = 0
    /// The attention decoder of seq2seq tasks (nil: the defaults). Optional so that the
    /// configurations of runs made before seq2seq existed still decode.
    public var decoder: DecoderConfig?
    /// The decoder settings in force.
    public var decoderSettings: DecoderConfig { decoder ?? DecoderConfig() }

    public init(vocabularySize: Int, padID: Int32, tasks: [TaskSpec]) {
        self.vocabularySize = vocabularySize; self.padID = padID; self.tasks = tasks
    }

    /// The encoder's output width.
    public var encodedSize: Int { hiddenSize * (bidirectional ? 2 : 1) }

    /// Checks sizes and head choices; messages name the flag that fixes them.
    public func validate() throws(TrainingError) {
        func bad(_ m: String) -> TrainingError { TrainingError(.configuration, m) }
        if embeddingSize < 1 { throw bad("--emb must be at least 1 (got \(embeddingSize))") }
        if hiddenSize < 1 { throw bad("--hidden must be at least 1 (got \(hiddenSize))") }
        if layers < 1 { throw bad("--layers must be at least 1 (got \(layers))") }
        if !(dropout >= 0 && dropout < 1) { throw bad("--dropout must be in [0, 1) (got \(dropout))") }
        if headHidden < 0 { throw bad("--head-hidden must not be negative (got \(headHidden))") }
        if attentionSize < 1 { throw bad("--attention-size must be at least 1 (got \(attentionSize))") }
        if vocabularySize < 1 { throw bad("the vocabulary is empty: rebuild it with mtl-prep vocab") }
        for t in tasks {
            try t.validateHead()
            if t.labels.isEmpty && t.kind != .regression { throw bad("task '\(t.name)' has no labels: import labelled examples for it") }
            if t.kind == .seq2seq && t.labels.count <= TaskSpec.targetSpecials.count {
                throw bad("seq2seq task '\(t.name)' has no target token in the training part: import targets for it and rebuild the vocabulary")
            }
        }
        if tasks.contains(where: { $0.kind == .seq2seq }) { try decoderSettings.validate(model: self) }
    }

    /// The decoder's hidden size: `--decoder-hidden`, else the encoder's output width.
    public var decoderHiddenSize: Int { decoderSettings.hiddenSize ?? encodedSize }
    /// The decoder's target embedding size: `--decoder-emb`, else `--emb`.
    public var decoderEmbeddingSize: Int { decoderSettings.tieEmbeddings ? decoderHiddenSize : (decoderSettings.embeddingSize ?? embeddingSize) }
}

/// The attention decoder of seq2seq tasks (one per task, each over the shared encoder).
public struct DecoderConfig: Sendable, Codable, Equatable {
    /// Luong `dot` or `general`, or Bahdanau's additive `bahdanau`.
    public var attention = "general"
    /// nil: the encoder's output width (needed when the decoder starts from the encoder's state).
    public var hiddenSize: Int?
    /// nil: `--emb`.
    public var embeddingSize: Int?
    /// `bahdanau`: the width of the score layer.
    public var attentionSize = 64
    /// The previous attentional vector joins each step's input (OpenNMT-py, fairseq).
    public var inputFeeding = true
    /// The output projection is the target embedding table (embedding size = hidden size).
    public var tieEmbeddings = false
    /// The decoder's initial hidden and cell states are the encoder's final ones of each
    /// direction (PyTorch's `h_n`, `c_n`, as `seq2seq_torch.py` starts its decoder); otherwise zeros.
    public var initFromEncoder = true
    /// Decoding stops after `ratio × source length + offset` tokens (OpenNMT's and fairseq's
    /// max_len_a·len + max_len_b; `seq2seq_torch.py` uses 2·len + 10).
    public var maxLengthRatio: Float = 2
    public var maxLengthOffset = 10
    /// Evaluation decodes with this beam (1 = greedy).
    public var beamSize = 1
    /// Length normalisation of beam scores: `none`, `average` (score / len^α) or `gnmt`
    /// (score / ((5+len)/6)^α), with `lengthPenaltyAlpha`.
    public var lengthPenalty = "average"
    public var lengthPenaltyAlpha: Float = 1

    public init() {}

    public static let attentions = ["dot", "general", "bahdanau"]
    public static let lengthPenalties = ["none", "average", "gnmt"]

    func validate(model: ModelConfig) throws(TrainingError) {
        func bad(_ m: String) -> TrainingError { TrainingError(.configuration, m) }
        guard Self.attentions.contains(attention) else {
            throw bad("--decoder-attention must be one of \(Self.attentions.joined(separator: ", ")) (got '\(attention)')")
        }
        let H = model.decoderHiddenSize
        if H < 1 { throw bad("--decoder-hidden must be at least 1 (got \(H))") }
        if let e = embeddingSize, e < 1 { throw bad("--decoder-emb must be at least 1 (got \(e))") }
        if attentionSize < 1 { throw bad("--decoder-attention-size must be at least 1 (got \(attentionSize))") }
        if attention == "dot" && H != model.encodedSize {
            throw bad("--decoder-attention dot needs the decoder's hidden size (\(H)) to equal the encoder's output width (\(model.encodedSize)): drop --decoder-hidden or use general")
        }
        if initFromEncoder && H != model.encodedSize {
            throw bad("the decoder starts from the encoder's final state, so its hidden size (\(H)) must equal the encoder's output width (\(model.encodedSize)); drop --decoder-hidden or give --decoder-init zero")
        }
        if !(maxLengthRatio >= 0) || maxLengthOffset < 0 || (maxLengthRatio == 0 && maxLengthOffset == 0) {
            throw bad("--max-decode-length: the ratio and offset must not be negative, nor both 0")
        }
        if beamSize < 1 { throw bad("--eval-beam must be at least 1 (got \(beamSize))") }
        guard Self.lengthPenalties.contains(lengthPenalty) else {
            throw bad("--length-penalty must be one of \(Self.lengthPenalties.joined(separator: ", ")) (got '\(lengthPenalty)')")
        }
    }
}

extension TaskKind {
    /// The head a task of this kind gets unless `--head` says otherwise.
    public var defaultHead: HeadKind {
        switch self {
        case .classification, .tagging: return .softmax
        case .multilabel: return .sigmoid
        case .spans: return .crf
        case .seq2seq: return .decoder
        case .regression: return .linear
        }
    }
}
