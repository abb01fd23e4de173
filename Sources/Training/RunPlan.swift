import Batching
import Foundation
import NN
import Store

/// What a run trains on, resolved from the store: the vocabulary, split and fold by name, the
/// tasks with their kinds, labels and tag schemes. Every problem is reported with the command
/// or flag that fixes it, before any training starts.
public struct RunPlan: Sendable {
    public var store: String
    public var vocabulary: String
    public var vocabularySize: Int
    public var padID: Int32
    public var split: String
    public var fold: Int
    public var tasks: [TaskSpec]

    /// - Parameters: names as the user gave them; nil picks the store's only vocabulary, the
    ///   vocabulary's split and fold, and every task. `heads` maps task names to `--head` choices.
    public init(store path: String, vocabulary: String?, split: String?, fold: Int?, tasks: [String]?,
                heads: [String: HeadKind] = [:]) throws(TrainingError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw TrainingError(.data, "no such store: create it with mtl-prep import … --store \(path)", path: path)
        }
        let source: StoreSource
        do {
            source = try StoreSource(path: path, vocabulary: vocabulary, split: split, fold: fold, tasks: tasks.flatMap { $0.isEmpty ? nil : $0 })
        } catch let e as BatchingError {
            throw TrainingError(.data, e.message)
        } catch {
            throw TrainingError(.data, "\(error)", path: path)
        }
        store = path
        self.vocabulary = source.vocabulary.name
        vocabularySize = source.vocabulary.size
        padID = source.padID
        self.split = source.split.name
        self.fold = source.fold
        let records: [TaskRecord]
        let counted: [Int64: [Int64]]
        do {
            records = try source.store.tasks()
            counted = try source.store.vocabLabelCounts(vocabID: source.vocabulary.id)
        } catch {
            throw TrainingError(.data, "\(error)", path: path)
        }
        for name in heads.keys where !source.tasks.contains(where: { $0.name == name }) {
            throw TrainingError(.configuration, "--head \(name)=…: no task '\(name)' in this run (tasks: \(source.tasks.map(\.name).joined(separator: ", ")))")
        }
        var specs: [TaskSpec] = []
        for info in source.tasks {
            // A regression task has no labels, so no label counts either.
            guard counted[info.storeID] != nil || info.kind == .regression else {
                throw TrainingError(.data, "task '\(info.name)' is not in vocabulary '\(source.vocabulary.name)' (imported after it was built): rebuild it with mtl-prep vocab --name \(source.vocabulary.name) --split \(source.split.name) --replace")
            }
            let scheme = records.first { $0.id == info.storeID }?.tagScheme
            var spec = TaskSpec(name: info.name, kind: info.kind, labels: info.labels, tagScheme: scheme, head: heads[info.name] ?? info.kind.defaultHead)
            if info.kind == .seq2seq {
                // The decoder's vocabulary: the target types the training part holds.
                spec = TaskSpec.seq2seq(name: info.name, labels: info.labels, trainingCounts: counted[info.storeID] ?? [])
                if let h = heads[info.name] { spec.head = h }
            }
            try spec.validateHead()
            specs.append(spec)
        }
        self.tasks = specs
    }

    /// The pretrained vectors named `name` of the vocabulary (`mtl-prep vocab embed`), with their dimension.
    public func embeddings(named name: String) throws(TrainingError) -> (dim: Int, matrix: [Float]) {
        do {
            let store = try ExampleStore(path: store, readOnly: true)
            guard let v = try store.vocabulary(named: vocabulary) else { throw TrainingError(.data, "no vocabulary '\(vocabulary)'") }
            guard let e = try store.embeddingMatrix(vocabID: v.id, name: name) else {
                let have = try store.embeddings(vocabID: v.id).map(\.name)
                throw TrainingError(.configuration, "--embeddings \(name): vocabulary '\(vocabulary)' has no vectors of that name (have: \(have.isEmpty ? "none" : have.joined(separator: ", "))); load them with mtl-prep vocab embed FILE --name \(vocabulary)")
            }
            return e
        } catch let e as TrainingError {
            throw e
        } catch {
            throw TrainingError(.data, "\(error)", path: store)
        }
    }
}

/// A saved run, read back: its configuration and a checkpoint's weights.
public enum SavedRun {
    /// Which checkpoint: `best`, `latest` or a step.
    public static func checkpointStep(_ which: String, folder: RunFolder) throws(TrainingError) -> Int {
        let index = folder.path + "/" + RunFolder.indexName
        switch which {
        case "latest":
            guard let s = folder.newestVerifiedCheckpoint().step else { throw TrainingError(.checkpoint, "no checkpoint verifies", path: folder.path) }
            return s
        case "best":
            guard let d = FileManager.default.contents(atPath: index),
                  let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any],
                  let b = o["best"] as? String, let s = Int(b.dropFirst("checkpoint-".count)) else {
                throw TrainingError(.checkpoint, "no best checkpoint recorded in \(RunFolder.indexName) (has the run evaluated yet?)", path: folder.path)
            }
            return s
        default:
            guard let s = Int(which) else { throw TrainingError(.configuration, "--checkpoint must be best, latest or a step number (got '\(which)')") }
            return s
        }
    }

    /// Builds the model of `checkpoint-STEP` with its weights, after verifying the checkpoint.
    public static func loadModel(folder: RunFolder, step: Int) throws(TrainingError) -> (model: MultiTaskModel, configuration: RunConfiguration) {
        _ = try folder.verify(step: step)
        let dir = folder.checkpointPath(step: step)
        guard let d = FileManager.default.contents(atPath: dir + "/config.json"),
              let configuration = try? JSONDecoder().decode(RunConfiguration.self, from: d) else {
            throw TrainingError(.checkpoint, "\(RunFolder.checkpointName(step: step)): unreadable config.json", path: folder.path)
        }
        let model = try MultiTaskModel(config: configuration.model)
        do { try Checkpoint.load(parameters: model.parameters, from: dir + "/model.safetensors") } catch {
            throw TrainingError(.checkpoint, "\(RunFolder.checkpointName(step: step)): \(error)", path: folder.path)
        }
        return (model, configuration)
    }

    /// Evaluates a saved checkpoint on a part of its split.
    public static func evaluate(folder: RunFolder, checkpoint: String, part: SplitPart, threads: Int = 2) throws -> Evaluation {
        let step = try checkpointStep(checkpoint, folder: folder)
        let (model, configuration) = try loadModel(folder: folder, step: step)
        BLAS.setThreads(threads)
        let t = configuration.training
        let config = Trainer.evaluationConfig(t)
        let source: StoreSource
        do {
            source = try StoreSource(path: t.store, vocabulary: t.vocabulary, split: t.split, fold: t.fold, tasks: t.tasks, config: config)
        } catch let e as BatchingError { throw TrainingError(.data, e.message) }
        let current = try RunFingerprints(source: source)
        let dir = folder.checkpointPath(step: step)
        if let d = FileManager.default.contents(atPath: dir + "/fingerprints.json"),
           let saved = try? JSONDecoder().decode(RunFingerprints.self, from: d) {
            let diff = current.differences(from: saved)
            guard diff.isEmpty else {
                throw TrainingError(.data, "the store no longer holds what \(RunFolder.checkpointName(step: step)) was trained on:\n  " + diff.joined(separator: "\n  "), path: folder.path)
            }
        }
        return try Evaluator.evaluate(model: model, source: source, part: part, config: config, step: step,
                                      selection: Selection(parsing: t.select, tasks: t.tasks))
    }
}
