import Batching
import Foundation
import Store

/// Fingerprints of what a run trains on: the store's sources and tasks, the vocabulary and the
/// split. A resume compares them with the checkpoint's and refuses to continue on other data.
public struct RunFingerprints: Sendable, Codable, Equatable {
    public var store: String
    public var vocabulary: String
    public var split: String
    /// Readable descriptions, for the refusal message.
    public var storeDescription: String
    public var vocabularyDescription: String
    public var splitDescription: String

    public init(source: StoreSource) throws {
        let store = source.store
        var sources: [String] = []
        for s in try store.sources() {
            sources.append([s.info.path, s.info.contentSHA256, s.info.mappingJSON, s.info.pipelineJSON, s.info.part ?? "", String(s.records)].joined(separator: "\u{1f}"))
        }
        var tasks: [String] = []
        let records = try store.tasks()
        for t in records {
            tasks.append([t.name, t.kind.rawValue, t.tagScheme?.rawValue ?? "", try store.labels(taskID: t.id).map(\.name).joined(separator: "\u{1e}")].joined(separator: "\u{1f}"))
        }
        self.store = Self.digest((sources + ["|"] + tasks).joined(separator: "\n"))
        storeDescription = "\(sources.count) sources, tasks \(records.map(\.name).joined(separator: ", "))"
        let v = source.vocabulary
        vocabulary = Self.digest([v.name, String(v.id), v.createdAt, String(v.size), v.paramsJSON].joined(separator: "\u{1f}"))
        vocabularyDescription = "'\(v.name)' (\(v.size) tokens, built \(v.createdAt))"
        let s = source.split
        split = Self.digest([s.name, String(s.id), s.createdAt, String(s.seed), s.paramsJSON, String(s.examples), String(source.fold)].joined(separator: "\u{1f}"))
        splitDescription = "'\(s.name)' fold \(source.fold) (\(s.examples) examples, made \(s.createdAt))"
    }

    static func digest(_ s: String) -> String {
        var h = SHA256()
        h.update(Array(s.utf8))
        return h.finalizeHex()
    }

    /// What differs from `other` (the checkpoint's), as lines a user can act on.
    public func differences(from saved: RunFingerprints) -> [String] {
        var out: [String] = []
        if store != saved.store { out.append("store contents: \(saved.storeDescription) → \(storeDescription) (sources, tasks or labels changed since the checkpoint)") }
        if vocabulary != saved.vocabulary { out.append("vocabulary: \(saved.vocabularyDescription) → \(vocabularyDescription)") }
        if split != saved.split { out.append("split: \(saved.splitDescription) → \(splitDescription)") }
        return out
    }
}

/// The resolved configuration of a run, as recorded in `config.json` and in every checkpoint.
public struct RunConfiguration: Sendable, Codable, Equatable {
    public var model: ModelConfig
    public var training: TrainingConfig

    /// Differences from the checkpoint's configuration, split into those a resume may accept
    /// (`TrainingConfig.resumableChanges`) and the rest, each as `name: old → new`.
    public func differences(from saved: RunConfiguration) -> (accepted: [String], refused: [String]) {
        let now = Self.flatten(self), before = Self.flatten(saved)
        var accepted: [String] = [], refused: [String] = []
        for key in Set(now.keys).union(before.keys).sorted() where now[key] != before[key] {
            let line = "\(Self.flag(for: key)): \(before[key] ?? "unset") → \(now[key] ?? "unset")"
            let leaf = String(key.split(separator: ".").last ?? "")
            if key.hasPrefix("training.") && TrainingConfig.resumableChanges.contains(leaf) && key.split(separator: ".").count == 2 {
                accepted.append(line)
            } else {
                refused.append(line)
            }
        }
        return (accepted, refused)
    }

    /// Every leaf of the JSON encoding as `path: value`.
    static func flatten(_ c: RunConfiguration) -> [String: String] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        guard let data = try? e.encode(c), let object = try? JSONSerialization.jsonObject(with: data) else { return [:] }
        var out: [String: String] = [:]
        func walk(_ v: Any, _ prefix: String) {
            if let d = v as? [String: Any] {
                if d.isEmpty { out[prefix] = "{}" }
                for (k, x) in d { walk(x, prefix.isEmpty ? k : prefix + "." + k) }
            } else if let a = v as? [Any] {
                if let data = try? JSONSerialization.data(withJSONObject: a, options: [.sortedKeys]) { out[prefix] = String(decoding: data, as: UTF8.self) }
            } else {
                out[prefix] = "\(v)"
            }
        }
        walk(object, "")
        return out
    }

    /// The command-line flag behind a configuration key, where there is one.
    static func flag(for key: String) -> String {
        let flags: [String: String] = [
            "model.embeddingSize": "--emb", "model.hiddenSize": "--hidden", "model.layers": "--layers",
            "model.bidirectional": "--bidirectional", "model.dropout": "--dropout", "model.pooling": "--pooling",
            "model.headHidden": "--head-hidden", "model.embeddings": "--embeddings", "model.freezeEmbeddings": "--freeze-embeddings",
            "training.learningRate": "--lr", "training.optimizer": "--optimizer", "training.schedule": "--schedule",
            "training.warmup": "--warmup", "training.clip": "--clip", "training.epochs": "--epochs", "training.steps": "--steps",
            "training.evalEvery": "--eval-every", "training.patience": "--patience", "training.keepLast": "--keep-last",
            "training.keepBest": "--keep-best", "training.threads": "--threads", "training.seed": "--seed",
            "training.loader.batchSize": "--batch-size", "training.loader.maxLength": "--max-length", "training.select": "--select",
        ]
        if let f = flags[key] { return "\(key) (\(f))" }
        return key
    }
}
