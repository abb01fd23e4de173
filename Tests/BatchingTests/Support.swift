import Foundation
@testable import Batching
import Store

/// A fresh directory for one test's store, removed by `cleanup()`.
struct TempDir {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-batching-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// A token blob for space-separated tokens.
func whitespaceTokens(_ words: [String]) -> [UInt8] {
    var b = TokenBlob.Builder()
    var pos: Int32 = 0
    for w in words {
        let n = Int32(w.utf8.count)
        b.append(TokenSpan(scalarStart: pos, scalarEnd: pos + n, utf8Start: pos, utf8End: pos + n), normalized: w)
        pos += n + 1
    }
    return b.finish()
}

/// What the fixture store holds, for the tests' expectations.
struct Fixture {
    var path: String
    /// Every example's tokens (vocabulary ids) and annotations by task name.
    var tokens: [Int64: [Int32]] = [:]
    var labels: [String: [Int64: AnnotationValue]] = [:]
    /// Part of each example in the split (fold 0 for a k-fold split).
    var parts: [Int64: SplitPart] = [:]
    var ids: [Int64] = []
}

/// Builds a store with four tasks of different sizes and kinds:
/// - `topic` (classification, 3 classes) on 2 of 3 examples,
/// - `sentiment` (classification, `neg` : `pos` = 1 : `ratio`) on every example,
/// - `ner` (tagging, BIO) on every 4th example,
/// - `cats` (multilabel, 4 labels) on every 5th example;
/// a split `main` (ratio 80/10/10 by id, or 4 folds + 10% test with `kfold`) and a
/// vocabulary `words` built on its training part (fold 0).
func makeFixture(_ dir: TempDir, name: String = "mtl.sqlite", examples n: Int = 3000, ratio: Int = 10, kfold: Bool = false,
                 maxTokens: Int = 40, sources: Int = 1, withVocabulary: Bool = true, withSplit: Bool = true) throws -> Fixture {
    var fx = Fixture(path: dir.path(name))
    let store = try ExampleStore(path: fx.path)
    var i = 0
    for src in 0..<sources {
        let info = SourceInfo(path: "fixture\(src).csv", format: "csv", contentSHA256: String(repeating: "\(src % 10)", count: 64))
        guard case .started(let s) = try store.beginImport(info) else { fatalError("already imported") }
        let topic = try s.task("topic", kind: .classification)
        let sentiment = try s.task("sentiment", kind: .classification)
        let ner = try s.task("ner", kind: .tagging, tagScheme: .bio)
        let cats = try s.task("cats", kind: .multilabel)
        let topicIDs = try ["book", "hotel", "phone"].map { try s.labelID($0, task: topic.id) }
        let sentIDs = try ["pos", "neg"].map { try s.labelID($0, task: sentiment.id) }
        let tagIDs = try ["O", "B-X", "I-X"].map { try s.labelID($0, task: ner.id) }
        let catIDs = try ["a", "b", "c", "d"].map { try s.labelID($0, task: cats.id) }
        for _ in 0..<(n / sources) {
            let len = 1 + (i * 7) % maxTokens
            let words = (0..<len).map { k in "w\((i * 31 + k * 17) % 500)" }
            var ann: [(taskID: Int64, value: AnnotationValue)] = []
            var named: [(String, AnnotationValue)] = []
            if i % 3 != 2 { named.append(("topic", .label(topicIDs[i % 3 == 0 ? 0 : (i / 3) % 2 + 1]))); ann.append((topic.id, named.last!.1)) }
            named.append(("sentiment", .label(sentIDs[i % (ratio + 1) == 0 ? 1 : 0]))); ann.append((sentiment.id, named.last!.1))
            if i % 4 == 0 {
                named.append(("ner", .tags((0..<len).map { tagIDs[$0 % 3] }))); ann.append((ner.id, named.last!.1))
            }
            if i % 5 == 0 {
                named.append(("cats", .labels([catIDs[i % 4], catIDs[(i / 5) % 4]].sorted()))); ann.append((cats.id, named.last!.1))
            }
            let id = try s.add(NewExample(locator: "fixture:\(i)", text: words.joined(separator: " "), tokens: whitespaceTokens(words),
                                          normHash: Int64(i), annotations: ann))
            fx.ids.append(id)
            fx.tokens[id] = words.map { Int32($0.dropFirst())! + 2 }
            for (task, v) in named {
                if case .labels(let l) = v { fx.labels[task, default: [:]][id] = .labels(Array(Set(l)).sorted()) } else { fx.labels[task, default: [:]][id] = v }
            }
            i += 1
        }
        _ = try s.commit()
    }
    var splitID: Int64? = nil
    if withSplit {
    var a = SplitAssignments()
    for id in fx.ids {
        if kfold {
            if id % 10 == 9 { a.append(id, .test); fx.parts[id] = .test } else {
                let fold = Int32(id % 4)
                a.append(id, .train, fold: fold)
                fx.parts[id] = fold == 0 ? .dev : .train
            }
        } else {
            let part: SplitPart = id % 10 == 8 ? .dev : id % 10 == 9 ? .test : .train
            a.append(id, part)
            fx.parts[id] = part
        }
    }
    splitID = try store.saveSplit(name: "main", kind: kfold ? .kfold : .ratio, folds: kfold ? 4 : 0, seed: 1, paramsJSON: "{}", assignments: a).split.id
    }
    guard withVocabulary else { return fx }
    // Training label counts for vocab_labels.
    var labelCounts: [Int64: [Int64]] = [:]
    for t in try store.tasks() {
        var c = [Int64](repeating: 0, count: try store.labels(taskID: t.id).count)
        for (id, v) in fx.labels[t.name] ?? [:] where fx.parts[id] == .train { for l in v.ids { c[Int(l)] += 1 } }
        labelCounts[t.id] = c
    }
    var entries = [VocabEntry(token: "<pad>", count: 0), VocabEntry(token: "<unk>", count: 0)]
    entries += (0..<500).map { VocabEntry(token: "w\($0)", count: 1) }
    let w = try store.beginVocabulary(NewVocabulary(name: "words", splitID: splitID, fold: splitID == nil ? nil : 0, paramsJSON: "{}", tokens: entries, labelCounts: labelCounts))
    for id in fx.ids { try w.addEncoded(exampleID: id, ids: fx.tokens[id]!) }
    _ = try w.commit()
    return fx
}

/// A config for quick tests: small batches and blocks.
func smallConfig(_ edit: (inout LoaderConfig) -> Void = { _ in }) -> LoaderConfig {
    var c = LoaderConfig()
    c.batchSize = 8
    c.blockSize = 64
    c.shuffleBlocks = 4
    c.seed = 42
    edit(&c)
    return c
}

func makeLoader(_ fx: Fixture, _ config: LoaderConfig, tasks: [String]? = nil, fold: Int? = nil, state: LoaderState? = nil) throws -> Loader {
    let source = try StoreSource(path: fx.path, tasks: tasks, config: config)
    _ = fold
    return try Loader(source: source, config: config, state: state)
}

/// Pearson's chi-square statistic of observed counts against expected probabilities.
func chiSquare(observed: [Int], probabilities: [Double]) -> Double {
    let n = Double(observed.reduce(0, +))
    var x = 0.0
    for (o, p) in zip(observed, probabilities) where p > 0 {
        let e = n * p
        x += (Double(o) - e) * (Double(o) - e) / e
    }
    return x
}

/// The chi-square critical value at p = 0.001 for `df` degrees of freedom (df 1…6).
func chiSquareCritical(df: Int) -> Double { [0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46][df] }
