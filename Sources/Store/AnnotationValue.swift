/// The kind of a task, stored in `tasks.kind`.
public enum TaskKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// One label per example.
    case classification
    /// A set of labels per example.
    case multilabel
    /// One tag per token, from pre-tokenized input.
    case tagging
    /// Typed character spans, stored as one tag per token (BIO/BIOES) after alignment.
    case spans
    /// A target text with its own tokens (translation, transliteration, grapheme-to-phoneme):
    /// the target's token types are the task's labels, the annotation their ids in order, and
    /// `targets` holds the target text with its token offsets.
    case seq2seq
    /// A number per example (a score, an intensity): the annotation is one float32.
    case regression
}

/// The tag scheme of a tagging or spans task, stored in `tasks.tag_scheme`.
public enum TagScheme: String, Sendable, Hashable, Codable, CaseIterable {
    case bio = "BIO"
    case bioes = "BIOES"
}

/// The labels of one example for one task: the `annotations.value` blob.
///
/// The blob is a plain little-endian int32 array, read as the task's kind says
/// (`np.frombuffer(value, '<i4')` in Python):
/// - `classification`: exactly one label id;
/// - `multilabel`: the label ids of the set, ascending, no duplicates (may be empty);
/// - `tagging` / `spans`: one tag id per token of the example's `tokens` blob;
/// - `seq2seq`: one id per token of the target (`targets.tokens`), in order;
/// - `regression`: one little-endian float32, the value (no labels).
///
/// Ids index `labels(task_id, id)`.
public enum AnnotationValue: Sendable, Hashable {
    case label(Int32)
    case labels([Int32])
    case tags([Int32])
    /// A seq2seq target's token ids.
    case sequence([Int32])
    /// A regression task's value.
    case number(Float)

    /// The ids in blob order.
    public var ids: [Int32] {
        switch self {
        case .label(let id): return [id]
        case .labels(let ids), .tags(let ids), .sequence(let ids): return ids
        case .number: return []
        }
    }

    /// The blob; `.labels` is sorted and deduplicated first.
    public func encoded() -> [UInt8] {
        let ids: [Int32]
        if case .number(let v) = self { ids = [Int32(bitPattern: v.bitPattern)] }
        else if case .labels(let set) = self { ids = Array(Set(set)).sorted() } else { ids = self.ids }
        return [UInt8](unsafeUninitializedCapacity: ids.count * 4) { buf, n in
            let raw = UnsafeMutableRawBufferPointer(buf)
            for (i, v) in ids.enumerated() { raw.storeBytes(of: v.littleEndian, toByteOffset: 4 * i, as: Int32.self) }
            n = ids.count * 4
        }
    }

    /// Calls `body` with the blob's bytes without building an array when the ids are
    /// already in blob order (little-endian hosts).
    func withEncodedBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        #if _endian(little)
        switch self {
        case .label(var id):
            return try withUnsafeBytes(of: &id) { try body($0) }
        case .tags(let ids), .sequence(let ids):
            return try ids.withUnsafeBytes { try body($0) }
        case .number:
            break
        case .labels(let ids):
            var sortedUnique = true
            for i in ids.indices.dropFirst() where ids[i - 1] >= ids[i] { sortedUnique = false; break }
            if sortedUnique { return try ids.withUnsafeBytes { try body($0) } }
        }
        #endif
        return try encoded().withUnsafeBytes { try body($0) }
    }

    /// Decodes a blob for a task of `kind`.
    public static func decode(_ blob: [UInt8], kind: TaskKind) throws(StoreError) -> AnnotationValue {
        guard blob.count % 4 == 0 else {
            throw StoreError(kind: .malformedBlob, message: "annotation blob of \(blob.count) bytes is not a whole number of int32")
        }
        let ids = blob.withUnsafeBytes { raw in
            (0..<(blob.count / 4)).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
        }
        switch kind {
        case .classification:
            guard ids.count == 1 else {
                throw StoreError(kind: .malformedBlob, message: "classification annotation holds \(ids.count) ids, not 1")
            }
            return .label(ids[0])
        case .multilabel: return .labels(ids)
        case .tagging, .spans: return .tags(ids)
        case .seq2seq: return .sequence(ids)
        case .regression:
            guard ids.count == 1 else {
                throw StoreError(kind: .malformedBlob, message: "regression annotation holds \(ids.count) values, not 1")
            }
            return .number(Float(bitPattern: UInt32(bitPattern: ids[0])))
        }
    }
}
