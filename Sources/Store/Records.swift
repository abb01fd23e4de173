/// What the import driver knows about a source before importing it.
public struct SourceInfo: Sendable, Hashable, Codable {
    /// The path as the user gave it.
    public var path: String
    /// Reader format: `csv`, `tsv`, `jsonl`, `conll`, `conllu`, `xml`.
    public var format: String
    /// SHA-256 of the file's bytes, 64 lowercase hex digits (see `SHA256`).
    public var contentSHA256: String
    /// The mapping (fields → text and tasks) used, as canonical JSON.
    public var mappingJSON: String
    /// The text pipeline (normalizer + tokenizer specs) used, as canonical JSON.
    public var pipelineJSON: String
    /// A predefined split part for every example of this source (`test`, …), or nil.
    public var part: String?

    public init(path: String, format: String, contentSHA256: String, mappingJSON: String = "{}",
                pipelineJSON: String = "{}", part: String? = nil) {
        self.path = path; self.format = format; self.contentSHA256 = contentSHA256
        self.mappingJSON = mappingJSON; self.pipelineJSON = pipelineJSON; self.part = part
    }
}

/// A row of `sources`.
public struct SourceRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var info: SourceInfo
    /// ISO 8601 UTC time of the import.
    public var importedAt: String
    /// Records read from the file (stored examples + rejects).
    public var records: Int64
}

/// A row of `tasks`.
public struct TaskRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var name: String
    public var kind: TaskKind
    public var tagScheme: TagScheme?
}

/// A row of `labels`.
public struct LabelRecord: Sendable, Hashable, Codable {
    public var taskID: Int64
    public var id: Int32
    public var name: String
    /// Annotations using this label (tokens, for tagging and spans tasks).
    public var count: Int64
}

/// A row of `examples`.
public struct ExampleRecord: Sendable, Hashable {
    public var id: Int64
    public var sourceID: Int64
    /// Provenance, e.g. `train.csv:42` or `rest.xml:17 (record 3, /sentences/sentence)`.
    public var locator: String
    /// The original text.
    public var text: String
    /// A `TokenBlob`.
    public var tokens: [UInt8]
    /// `StableHash` of the normalized text.
    public var normHash: Int64
    public var groupKey: String?
    public var part: String?
}

/// One example to store, with its annotations.
public struct NewExample: Sendable {
    public var locator: String
    public var text: String
    /// A `TokenBlob` (see `TokenBlob.Builder`).
    public var tokens: [UInt8]
    public var normHash: Int64
    public var groupKey: String?
    /// Overrides the source's part for this example; nil = the source's part.
    public var part: String?
    /// At most one value per task.
    public var annotations: [(taskID: Int64, value: AnnotationValue)]

    public init(locator: String, text: String, tokens: [UInt8], normHash: Int64, groupKey: String? = nil,
                part: String? = nil, annotations: [(taskID: Int64, value: AnnotationValue)] = []) {
        self.locator = locator; self.text = text; self.tokens = tokens; self.normHash = normHash
        self.groupKey = groupKey; self.part = part; self.annotations = annotations
    }
}

/// What an import added, returned by `ImportSession.commit`.
public struct ImportResult: Sendable, Hashable, Codable {
    public var source: SourceRecord
    public var examples: Int64
    public var rejects: Int64
    /// Sources removed first (`.replace`).
    public var replacedSourceIDs: [Int64]
    /// Per task name, per label name: how many this import added.
    public var labelCounts: [String: [String: Int64]]
}
