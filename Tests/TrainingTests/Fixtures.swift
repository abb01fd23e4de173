import Batching
import CorpusImport
import Foundation
import NN
import Splits
import Store
import TestSupport
import Text
@testable import Training
import Vocab

/// A store with a ratio split and a vocabulary, built from synthetic examples.
func preparedStore(_ dir: TempDir, _ examples: [SyntheticExample], ratios: (Double, Double, Double) = (0.7, 0.3, 0)) throws -> String {
    let path = dir.path("t.sqlite")
    let store = try ExampleStore(path: path)
    try addSource(store, path: "synthetic.csv", examples)
    try finishStore(store, ratios: ratios)
    return path
}

/// Split `main` and vocabulary `main` on its training part.
func finishStore(_ store: ExampleStore, ratios: (Double, Double, Double) = (0.7, 0.3, 0), stratify: [String] = []) throws {
    _ = try Splitter.run(store: store, name: "main", spec: SplitSpec(kind: .ratio(train: ratios.0, dev: ratios.1, test: ratios.2), seed: 1, stratify: stratify))
    _ = try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "main", split: "main"))
}

/// Two tasks a small model learns in a few epochs: the sentiment is the first word, the topic the last.
func keywordExamples(_ n: Int, seed: UInt64 = 5, emptyEvery: Int = 0) -> [SyntheticExample] {
    var rng = SplitMix64(seed: seed)
    let filler = ["the", "a", "very", "quite", "some", "thing", "stuff", "it", "was", "is", "and", "then", "so", "really"]
    let topics = ["phone", "hotel", "book"]
    return (0..<n).map { i in
        if emptyEvery > 0 && i % emptyEvery == emptyEvery - 1 { return SyntheticExample("", ["sentiment": "pos", "topic": "book"]) }
        let positive = rng.next() % 2 == 0
        let topic = topics[Int(rng.next() % 3)]
        var words = [positive ? "great" : "awful"]
        for _ in 0..<(2 + Int(rng.next() % 6)) { words.append(filler[Int(rng.next() % UInt64(filler.count))]) }
        words.append(topic)
        return SyntheticExample(words.joined(separator: " "), ["sentiment": positive ? "pos" : "neg", "topic": topic])
    }
}

/// A small model and run configuration over `store` (every task, defaults for the rest).
func smallRun(store: String, epochs: Int? = 3, steps: Int? = nil, seed: UInt64 = 0, heads: [String: HeadKind] = [:],
              configure: (inout ModelConfig, inout TrainingConfig) -> Void = { _, _ in }) throws -> (ModelConfig, TrainingConfig) {
    let plan = try RunPlan(store: store, vocabulary: nil, split: nil, fold: nil, tasks: nil, heads: heads)
    var m = ModelConfig(vocabularySize: plan.vocabularySize, padID: plan.padID, tasks: plan.tasks)
    m.embeddingSize = 16; m.hiddenSize = 16; m.dropout = 0; m.seed = seed
    var loader = LoaderConfig()
    loader.batchSize = 8; loader.seed = seed
    var t = TrainingConfig(store: store, vocabulary: plan.vocabulary, split: plan.split, fold: plan.fold, tasks: plan.tasks.map(\.name), loader: loader)
    t.epochs = epochs; t.steps = steps; t.seed = seed; t.learningRate = 0.01; t.threads = 1
    configure(&m, &t)
    return (m, t)
}

/// A two-task model of the store's tasks (tiny sizes, no dropout) and one training batch of 6.
func tinyModelAndBatch(store: String, allTaskTargets: Bool) throws -> (ModelConfig, ModelInput, [String]) {
    let plan = try RunPlan(store: store, vocabulary: nil, split: nil, fold: nil, tasks: nil)
    var config = ModelConfig(vocabularySize: plan.vocabularySize, padID: plan.padID, tasks: plan.tasks)
    config.embeddingSize = 6; config.hiddenSize = 5; config.dropout = 0
    var loader = LoaderConfig()
    loader.batchSize = 6; loader.allTaskTargets = allTaskTargets
    let batch = try Loader(source: StoreSource(path: store, config: loader), config: loader).next()
    return (config, try ModelInput(batch: batch), plan.tasks.map(\.name))
}

/// Writes `lines` (already CSV-quoted rows) to a file in `dir` and imports it with `mapping`.
@discardableResult
func importText(_ content: String, name: String, into store: ExampleStore, dir: TempDir, mapping: Mapping, part: String? = nil,
                pipeline: TextPipeline? = nil) throws -> ImportSummary {
    let path = dir.path(name)
    try content.write(toFile: path, atomically: true, encoding: .utf8)
    var options = ImportOptions(mapping: mapping, pipeline: try pipeline ?? TextPipeline())
    options.part = part
    return try Importer(store: store, options: options).importFile(path)
}

func csvField(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

/// The share of the most frequent label among a task's examples of a part (the majority-class baseline).
func majorityShare(_ evaluation: Evaluation, task: String) -> Double {
    guard let t = evaluation.task(task) else { return 1 }
    switch t.report {
    case .classification(let r), .tokens(let r):
        let supports = r.perClass.map(\.support)
        return Double(supports.max() ?? 0) / Double(max(1, supports.reduce(0, +)))
    default: return 1
    }
}
