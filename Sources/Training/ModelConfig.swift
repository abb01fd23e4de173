import Store

/// How a task's outputs are scored: a softmax over classes or tags, independent sigmoids
/// (multilabel), or a linear-chain CRF over per-token scores.
public enum HeadKind: String, Sendable, Codable, CaseIterable {
    case softmax, sigmoid, crf
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

    public init(name: String, kind: TaskKind, labels: [String], tagScheme: TagScheme?, head: HeadKind) {
        self.name = name; self.kind = kind; self.labels = labels; self.tagScheme = tagScheme; self.head = head
    }

    /// Checks that the head suits the task's kind; the message names the `--head` flag.
    public func validateHead() throws(TrainingError) {
        func bad(_ m: String) -> TrainingError { TrainingError(.configuration, m) }
        switch (kind, head) {
        case (.classification, .softmax), (.multilabel, .sigmoid), (.tagging, .softmax), (.tagging, .crf), (.spans, .softmax), (.spans, .crf):
            return
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
        }
    }

    /// Whether the task predicts one output per token.
    public var isTokenLevel: Bool { kind == .tagging || kind == .spans }

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
            if t.labels.isEmpty { throw bad("task '\(t.name)' has no labels: import labelled examples for it") }
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
        }
    }
}
