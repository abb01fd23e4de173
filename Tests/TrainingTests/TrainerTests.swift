import Batching
import Foundation
import NN
import Splits
import Vocab
import Store
import Testing
import TestSupport
@testable import Training

@Suite("Trainer on synthetic stores")
struct TrainerTests {
    @Test func learnsTwoTasksAndBeatsTheMajorityBaseline() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try preparedStore(dir, keywordExamples(400))
        let (m, t) = try smallRun(store: store, epochs: 4)
        let trainer = try Trainer(model: m, training: t, folder: RunFolder(path: dir.path("runs/a")), resume: false)
        let summary = try trainer.run()
        let last = try #require(summary.last)
        for task in ["sentiment", "topic"] {
            let accuracy = try #require(last.task(task)?.metrics["accuracy"])
            #expect(accuracy > majorityShare(last, task: task) + 0.2, "\(task): \(accuracy)")
        }
        #expect(summary.epochs == 4 && summary.stopReason == "epochs")
        #expect(summary.bestStep != nil)
    }

    @Test func emptyTextsAreEncodedAsNothingAndStillPredicted() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("t.sqlite")
        let db = try ExampleStore(path: path)
        try addSource(db, path: "train.csv", keywordExamples(200))
        // Identical (empty) texts stay in one part: put them in dev explicitly, beside training examples that are empty too.
        try addSource(db, path: "empty-dev.csv", part: "dev", keywordExamples(10, emptyEvery: 1))
        try addSource(db, path: "empty-train.csv", part: "train", keywordExamples(10, seed: 9, emptyEvery: 1))
        try finishStore(db)
        let store = path
        let (m, t) = try smallRun(store: store, epochs: 2)
        let trainer = try Trainer(model: m, training: t, folder: RunFolder(path: dir.path("runs/e")), resume: false)
        let summary = try trainer.run()
        let last = try #require(summary.last)
        #expect(last.emptyExamples > 0)
        // Every dev example is scored, the empty ones included.
        let sentiment = try #require(last.task("sentiment"))
        guard case .classification(let r) = sentiment.report else { Issue.record("not a classification report"); return }
        #expect(r.support == sentiment.examples)
    }

    @Test func emptyRowsAreLeftOutOfTheEncoderAndPoolToZeros() throws {
        let tags = TaskTargets(task: "ner", kind: .tagging, mask: [true, true, false], labelCount: 3, tags: [1, 2, -1, -1, -1, -1, 0, -1, -1])
        let cls = TaskTargets(task: "c", kind: .classification, mask: [true, true, true], classes: [0, 1, 1], labelCount: 2)
        let batch = Batch(size: 3, paddedLength: 3, tokenIDs: [5, 6, 0, 0, 0, 0, 7, 0, 0], lengths: [2, 0, 1],
                          exampleIDs: [1, 2, 3], drawnFor: [-1, -1, -1], targets: [tags, cls])
        let input = try ModelInput(batch: batch)
        #expect(input.encodedRows == [0, 2])
        #expect(input.emptyRows == 1)
        #expect(input.tokenIDs == [5, 6, 0, 7, 0, 0])
        guard case let .tags(packed, sequenceMask, tokenMask) = input.targets[0] else { Issue.record("no tags"); return }
        // Packed by time: t0 → rows (0, 2), t1 → row 0. Row 2 has no label for the task.
        #expect(sequenceMask == [true, false])
        #expect(tokenMask == [true, false, true])
        #expect(packed == [1, 0, 2])
        let specs = [TaskSpec(name: "ner", kind: .tagging, labels: ["O", "B-X", "I-X"], tagScheme: .bio, head: .crf),
                     TaskSpec(name: "c", kind: .classification, labels: ["a", "b"], tagScheme: nil, head: .softmax)]
        var config = ModelConfig(vocabularySize: 10, padID: 0, tasks: specs)
        config.embeddingSize = 4; config.hiddenSize = 3; config.dropout = 0
        let model = try MultiTaskModel(config: config)
        let outputs = try model.forward(input, training: false)
        guard case let .rows(logits)? = outputs[1] else { Issue.record("no logits"); return }
        // Row 1 pooled nothing: its logits are the head's response to a zero vector.
        let zero = try MultiTaskModel(config: config)
        let onlyEmpty = try ModelInput(batch: Batch(size: 1, paddedLength: 0, tokenIDs: [], lengths: [0], exampleIDs: [9], drawnFor: [-1],
                                                    targets: [TaskTargets(task: "ner", kind: .tagging, mask: [false], labelCount: 3, tags: []),
                                                              TaskTargets(task: "c", kind: .classification, mask: [true], classes: [0], labelCount: 2)]))
        guard case let .rows(zeroLogits)? = try zero.forward(onlyEmpty, training: false)[1] else { Issue.record("no logits"); return }
        #expect(Array(logits.toArray()[2..<4]) == zeroLogits.toArray())
    }

    /// The assembled model's gradients (shared encoder, pooling scatter, a softmax tagging head, a
    /// CRF head, classification and multilabel heads, task weights) against central differences.
    @Test(arguments: [PoolingKind.last, .attention])
    func assembledModelGradientsMatchFiniteDifferences(_ pooling: PoolingKind) throws {
        let specs = [TaskSpec(name: "pos", kind: .tagging, labels: ["N", "V", "D"], tagScheme: nil, head: .softmax),
                     TaskSpec(name: "ner", kind: .spans, labels: ["O", "B-P", "I-P"], tagScheme: .bio, head: .crf),
                     TaskSpec(name: "cls", kind: .classification, labels: ["a", "b", "c"], tagScheme: nil, head: .softmax),
                     TaskSpec(name: "ml", kind: .multilabel, labels: ["x", "y"], tagScheme: nil, head: .sigmoid)]
        var config = ModelConfig(vocabularySize: 12, padID: 0, tasks: specs)
        config.embeddingSize = 5; config.hiddenSize = 4; config.dropout = 0; config.headHidden = 3; config.pooling = pooling; config.attentionSize = 3
        config.seed = 11
        let model = try MultiTaskModel(config: config)
        let T = 4
        let batch = Batch(size: 3, paddedLength: T, tokenIDs: [3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0], lengths: [4, 2, 0], exampleIDs: [1, 2, 3],
                          drawnFor: [-1, -1, -1], targets: [
                            TaskTargets(task: "pos", kind: .tagging, mask: [true, true, false], labelCount: 3, tags: [0, 1, 2, 0, 2, 1, -1, -1, -1, -1, -1, -1]),
                            TaskTargets(task: "ner", kind: .spans, mask: [true, false, false], labelCount: 3, tags: [1, 2, 0, 1, -1, -1, -1, -1, -1, -1, -1, -1]),
                            TaskTargets(task: "cls", kind: .classification, mask: [true, true, true], classes: [2, 0, 1], labelCount: 3),
                            TaskTargets(task: "ml", kind: .multilabel, mask: [true, false, true], multiHot: [1, 0, 0, 0, 1, 1], labelCount: 2),
                          ])
        let input = try ModelInput(batch: batch)
        let weights: [Float] = [0.7, 1.3, 1, 0.5]
        func total() throws -> Double {
            let outputs = try model.forward(input, training: true)
            var sum = 0.0
            for t in outputs.indices {
                if let l = try model.loss(task: t, output: outputs[t], loss: TaskLoss(), classWeights: nil, scale: weights[t]) { sum += Double(weights[t] * l) }
            }
            return sum
        }
        for p in model.parameters { p.zeroGrad() }
        _ = try total()
        try model.backward(tasks: [0, 1, 2, 3])
        let analytic = model.parameters.map { $0.grad.toArray() }
        var checked = 0
        for (k, p) in model.parameters.enumerated() {
            var maxError: Double = 0, scale: Double = 1e-3
            for i in stride(from: 0, to: p.value.count, by: max(1, p.value.count / 7)) {
                let original = p.value.data[i]
                let h: Float = 1e-2
                p.value.data[i] = original + h
                let up = try total()
                p.value.data[i] = original - h
                let down = try total()
                p.value.data[i] = original
                let numeric = (up - down) / Double(2 * h)
                maxError = max(maxError, abs(numeric - Double(analytic[k][i])))
                scale = max(scale, abs(numeric))
                checked += 1
            }
            // Float32 forward passes: a relative tolerance, with an absolute floor for tiny gradients.
            #expect(maxError < 2e-2 * scale + 5e-5, "\(p.name): max error \(maxError) against gradients of size \(scale)")
        }
        #expect(checked > 50)
        for p in model.parameters { p.zeroGrad() }
    }

    @Test func sameSeedSameWeightsAndOtherSeedOtherWeights() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try preparedStore(dir, keywordExamples(120))
        func digest(_ name: String, seed: UInt64) throws -> String {
            let (m, t) = try smallRun(store: store, epochs: nil, steps: 25, seed: seed) { m, _ in m.dropout = 0.2 }
            let trainer = try Trainer(model: m, training: t, folder: RunFolder(path: dir.path("runs/" + name)), resume: false)
            _ = try trainer.run()
            return trainer.weightsDigest
        }
        let a = try digest("a", seed: 1), b = try digest("b", seed: 1), c = try digest("c", seed: 2)
        #expect(a == b)
        #expect(a != c)
    }

    /// Stopping after k steps (as a kill would, but between steps) and resuming gives the weights of
    /// an uninterrupted run, with dropout, PCGrad's shuffles and learned task weights in play.
    @Test(arguments: [TaskWeightingSpec.equal, .pcgrad, .uncertainty])
    func resumeAfterAStopIsBitExact(_ weighting: TaskWeightingSpec) throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try preparedStore(dir, keywordExamples(160))
        let setup = try smallRun(store: store, epochs: nil, steps: 40, seed: 3) { m, t in
            m.dropout = 0.3; t.evalEvery = 7; t.taskWeights = weighting; t.schedule = .cosine; t.warmup = 5
        }
        let whole = try Trainer(model: setup.0, training: setup.1, folder: RunFolder(path: dir.path("runs/whole")), resume: false)
        _ = try whole.run()
        let first = try Trainer(model: setup.0, training: setup.1, folder: RunFolder(path: dir.path("runs/split")), resume: false)
        first.stopAfterSteps = 23
        let stopped = try first.run()
        #expect(stopped.steps == 23 && stopped.stopReason == "interrupted")
        // The newest checkpoint is step 21: steps 22 and 23 are redone after the resume.
        let second = try Trainer(model: setup.0, training: setup.1, folder: RunFolder(path: dir.path("runs/split")), resume: true)
        let resumed = try second.run()
        #expect(resumed.steps == 40)
        #expect(second.weightsDigest == whole.weightsDigest)
        if weighting == .uncertainty {
            let saved = try SafeTensors.read(dir.path("runs/split/checkpoint-40/model.safetensors")).tensors
            let s = try #require(saved["task_weighting.log_variance"])
            #expect(s.toArray().contains { $0 != 0 })
        }
    }

    @Test func aChangedModelIsRefusedWithTheDifferenceAndForceIsLogged() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try preparedStore(dir, keywordExamples(80))
        let (m, t) = try smallRun(store: store, epochs: nil, steps: 6)
        _ = try Trainer(model: m, training: t, folder: RunFolder(path: dir.path("runs/r")), resume: false).run()
        var wider = m; wider.hiddenSize = 32
        do {
            _ = try Trainer(model: wider, training: t, folder: RunFolder(path: dir.path("runs/r")), resume: true)
            Issue.record("a resume with another hidden size was accepted")
        } catch let e as TrainingError {
            #expect(e.kind == .resume)
            #expect(e.message.contains("model.hiddenSize (--hidden): 16 → 32"))
            #expect(e.message.contains("--force"))
        }
        var longer = t; longer.steps = 9; longer.patience = 3
        let resumed = try Trainer(model: m, training: longer, folder: RunFolder(path: dir.path("runs/r")), resume: true)
        #expect(try resumed.run().steps == 9)
        let log = try String(contentsOfFile: dir.path("runs/r/log.jsonl"), encoding: .utf8)
        #expect(log.contains("training.steps (--steps): 6 → 9"))
    }

    @Test func aCheckpointThatFailsToWriteLeavesTheEarlierOnesLoadable() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try preparedStore(dir, keywordExamples(80))
        let (m, t) = try smallRun(store: store, epochs: nil, steps: 12) { _, t in t.evalEvery = 4; t.keepLast = 5 }
        var folder = RunFolder(path: dir.path("runs/full"))
        let writes = Counter()
        folder.beforeWrite = { name in
            // The second checkpoint fails at its third file, as a full disk would.
            if writes.increment() == 9 { throw POSIXError(.ENOSPC) }
        }
        let trainer = try Trainer(model: m, training: t, folder: folder, resume: false)
        do {
            _ = try trainer.run()
            Issue.record("the write failure was not reported")
        } catch let e as TrainingError {
            #expect(e.kind == .io)
            #expect(e.message.contains("checkpoint-8") && e.message.contains("No space left on device"))
            #expect(e.message.contains("earlier checkpoints are intact"))
        }
        let plain = RunFolder(path: dir.path("runs/full"))
        #expect(plain.checkpointSteps() == [4])
        #expect(try FileManager.default.contentsOfDirectory(atPath: plain.path).allSatisfy { !$0.contains("partial") })
        let (model, _) = try SavedRun.loadModel(folder: plain, step: 4)
        #expect(model.parameters.count > 0)
        // And the run resumes from it.
        let resumed = try Trainer(model: m, training: t, folder: plain, resume: true)
        #expect(try resumed.run().steps == 12)
    }

    @Test func retentionKeepsTheLastAndTheBestByTheAggregate() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try preparedStore(dir, keywordExamples(200))
        let (m, t) = try smallRun(store: store, epochs: nil, steps: 60) { _, t in t.evalEvery = 5; t.keepLast = 2; t.keepBest = 1; t.learningRate = 0.03 }
        let folder = RunFolder(path: dir.path("runs/k"))
        let summary = try Trainer(model: m, training: t, folder: folder, resume: false).run()
        var scores: [Int: Double] = [:]
        for step in stride(from: 5, through: 60, by: 5) {
            let e = try JSONDecoder().decode(Evaluation.self, from: Data(contentsOf: URL(fileURLWithPath: folder.metricsPath(step: step))))
            scores[step] = e.aggregate
        }
        let best = scores.max { ($0.value, -$0.key) < ($1.value, -$1.key) }!.key
        #expect(summary.bestStep == best)
        #expect(Set(folder.checkpointSteps()) == Set([55, 60, best]))
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.path + "/checkpoints.json"))) as! [String: Any]
        #expect(index["best"] as? String == "checkpoint-\(best)")
        #expect(index["latest"] as? String == "checkpoint-60")
        for step in folder.checkpointSteps() { _ = try folder.verify(step: step) }
    }

    @Test func earlyStoppingEndsTheRunAfterPatienceEvaluations() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try preparedStore(dir, keywordExamples(200))
        // lr 0: nothing changes, so nothing improves after the first evaluation.
        let (m, t) = try smallRun(store: store, epochs: nil, steps: 100) { _, t in t.evalEvery = 2; t.patience = 3; t.optimizer = .sgd; t.learningRate = 1e-30 }
        let summary = try Trainer(model: m, training: t, folder: RunFolder(path: dir.path("runs/p")), resume: false).run()
        #expect(summary.stopReason == "early-stopping")
        #expect(summary.steps == 8)
        #expect(summary.bestStep == 2)
    }

    @Test func aNonFiniteLossStopsTheRunNamingStepAndTask() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try preparedStore(dir, keywordExamples(100))
        let (m, t) = try smallRun(store: store, epochs: nil, steps: 50) { _, t in
            t.optimizer = .sgd; t.momentum = 0; t.learningRate = 1e18; t.clip = 0; t.evalEvery = 1
        }
        let folder = RunFolder(path: dir.path("runs/nan"))
        do {
            _ = try Trainer(model: m, training: t, folder: folder, resume: false).run()
            Issue.record("a diverging run finished")
        } catch let e as TrainingError {
            #expect(e.kind == .nonFinite)
            #expect(e.message.contains("step "))
            #expect(e.message.contains("sentiment") || e.message.contains("topic") || e.message.contains("gradient norm"))
        }
        for step in folder.checkpointSteps() { _ = try folder.verify(step: step) }
    }

    @Test func pcgradWithOneTaskIsThePlainGradient() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (config, input, _) = try tinyModelAndBatch(store: try preparedStore(dir, keywordExamples(60)), allTaskTargets: false)
        #expect(input.targets.filter(\.isPresent).count == 1)
        func step(_ w: TaskWeightingSpec) throws -> [Float] {
            let model = try MultiTaskModel(config: config)
            let s = TrainingStep(model: model, optimizer: SGD(learningRate: 0.1), weighting: w, losses: [TaskLoss(), TaskLoss()],
                                 classWeights: [nil, nil], clip: 0, seed: 0)
            try s(input, learningRate: 0.1, step: 1)
            return model.parameters.flatMap { $0.value.toArray() }
        }
        #expect(try step(.pcgrad) == step(.equal))
    }

    @Test func staticTaskWeightsScaleEachTasksGradient() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (config, input, names) = try tinyModelAndBatch(store: try preparedStore(dir, keywordExamples(60)), allTaskTargets: true)
        func gradients(_ w: TaskWeightingSpec) throws -> [Float] {
            let model = try MultiTaskModel(config: config)
            let s = TrainingStep(model: model, optimizer: SGD(learningRate: 0), weighting: w, losses: [TaskLoss(), TaskLoss()],
                                 classWeights: [nil, nil], clip: 0, seed: 0)
            try s(input, learningRate: 0, step: 1)
            return model.sharedParameters.flattenedGradients()
        }
        let both = try gradients(.weights([names[0]: 1, names[1]: 1]))
        let onlyFirst = try gradients(.weights([names[0]: 1, names[1]: 0]))
        let onlySecond = try gradients(.weights([names[0]: 0, names[1]: 2]))
        for i in both.indices where i % 13 == 0 {
            #expect(abs(both[i] - (onlyFirst[i] + onlySecond[i] / 2)) <= 1e-5 * max(1, abs(both[i])))
        }
    }

    @Test func badSetupsNameTheFix() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("bare.sqlite")
        let store = try ExampleStore(path: path)
        try addSource(store, path: "a.csv", keywordExamples(30))
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch let e as TrainingError { return e.description } catch { return "\(error)" }
        }
        #expect(message { _ = try RunPlan(store: path, vocabulary: nil, split: nil, fold: nil, tasks: nil) }.contains("mtl-prep"))
        try finishStore(store)
        #expect(message { _ = try RunPlan(store: path, vocabulary: nil, split: nil, fold: 3, tasks: nil) }.contains("ratio split"))
        #expect(message { _ = try RunPlan(store: path, vocabulary: nil, split: nil, fold: nil, tasks: ["nope"]) }.contains("no task named 'nope'"))
        #expect(message { _ = try RunPlan(store: path, vocabulary: nil, split: nil, fold: nil, tasks: nil, heads: ["topic": .crf]) }
            .contains("'topic' is a classification task"))
        #expect(message { _ = try RunPlan(store: dir.path("none.sqlite"), vocabulary: nil, split: nil, fold: nil, tasks: nil) }.contains("mtl-prep import"))
        // A task the split has no training examples of.
        try addSource(store, path: "b.csv", [SyntheticExample("late words", ["late": "x"]), SyntheticExample("more late", ["late": "y"])])
        #expect(message { _ = try RunPlan(store: path, vocabulary: nil, split: nil, fold: nil, tasks: ["late"]) }.contains("mtl-prep split"))
    }

    /// A task imported after the vocabulary was built (an `--all` vocabulary, then a new split):
    /// refused with the command that rebuilds the vocabulary, before anything is written.
    @Test func aTaskMissingFromTheVocabularyNamesTheRebuild() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("late.sqlite")
        let store = try ExampleStore(path: path)
        try addSource(store, path: "a.csv", keywordExamples(30))
        _ = try VocabularyBuilder.build(store: store, spec: VocabularySpec(name: "all", split: nil, all: true))
        try addSource(store, path: "b.csv", (0..<20).map { SyntheticExample("late words \($0)", ["late": $0 % 2 == 0 ? "x" : "y"]) })
        _ = try Splitter.run(store: store, name: "main", spec: SplitSpec(kind: .ratio(train: 0.7, dev: 0.3, test: 0), seed: 1))
        var message = "accepted"
        do { _ = try RunPlan(store: path, vocabulary: "all", split: "main", fold: nil, tasks: ["late"]) } catch { message = error.message }
        #expect(message.contains("task 'late' is not in vocabulary 'all'") && message.contains("mtl-prep vocab --name all"), "\(message)")
    }
}

final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func increment() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}

/// A real full disk: the run folder on a small tmpfs (needs root and mount; skipped otherwise).
@Suite("Trainer on a full disk")
struct FullDiskTests {
    @Test func aFullDiskStopsTheRunAndKeepsTheCheckpointsWritten() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let mountPoint = dir.path("small")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        guard getuid() == 0, shell("mount", ["-t", "tmpfs", "-o", "size=400k", "tmpfs", mountPoint]) == 0 else {
            print("skipped: mounting a small tmpfs needs root (the injected write failure in TrainerTests covers the logic)")
            return
        }
        defer { _ = shell("umount", [mountPoint]) }
        let store = try preparedStore(dir, keywordExamples(120))
        let (m, t) = try smallRun(store: store, epochs: nil, steps: 400) { _, t in t.evalEvery = 1; t.keepLast = 1000; t.keepBest = 1000 }
        let folder = RunFolder(path: mountPoint + "/run")
        do {
            _ = try Trainer(model: m, training: t, folder: folder, resume: false).run()
            Issue.record("the run filled 400 KB without an error")
        } catch let e as TrainingError {
            #expect(e.kind == .io)
            #expect(e.description.lowercased().contains("space"), "\(e.description)")
            print("full disk: \(e.description)")
        }
        let steps = folder.checkpointSteps()
        print("full disk: \(steps.count) checkpoints kept, newest \(steps.first ?? -1)")
        #expect(!steps.isEmpty)
        for step in steps { _ = try folder.verify(step: step) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).allSatisfy { !$0.contains("partial") })
        _ = try SavedRun.loadModel(folder: folder, step: steps[0])
    }

    func shell(_ tool: String, _ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/" + tool)
        p.arguments = args
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}

@Suite("CRF gold tags")
struct CRFRepairTests {
    /// A window that starts inside a span (tail truncation) or IOB1 data would be an impossible
    /// path under the BIO constraints; the head reads it as seqeval does and the loss is finite.
    @Test func spansOpenedByAnInsideTagAreReadAsOpened() throws {
        let labels = ["O", "B-X", "I-X", "B-Y", "I-Y"]
        let spec = TaskSpec(name: "ner", kind: .spans, labels: labels, tagScheme: .bio, head: .crf)
        var rng = SplitMix64(seed: 1)
        var config = ModelConfig(vocabularySize: 10, padID: 0, tasks: [spec])
        config.headHidden = 0; config.dropout = 0
        let head = try TaskHead(spec: spec, config: config, inputSize: 4, rng: &rng)
        let layout = try PackedLayout(lengths: [5], paddedLength: 5)
        let gold: [Int32] = [2, 2, 0, 4, 2]                 // I-X I-X O I-Y I-X
        let repaired = head.repairedForCRF(try layout.pack(gold), layout: layout)
        #expect(repaired.map { labels[Int($0)] } == ["B-X", "I-X", "O", "B-Y", "B-X"])
        let emissions = Tensor(shape: [5, 5])
        let loss = try head.crf!.loss(emissions: emissions, tags: repaired, layout: layout, gradient: Tensor(shape: [0]))
        #expect(loss.isFinite)
        #expect(throws: NNError.self) { try head.crf!.loss(emissions: emissions, tags: gold, layout: layout, gradient: Tensor(shape: [0])) }
    }
}

@Suite("Trainer on a store of an older schema")
struct OlderStoreTests {
    /// A store an older program wrote is refused with the command that migrates it, and left as it was.
    @Test func anOlderStoreIsRefusedWithTheMigrationAndLeftAlone() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = try preparedStore(dir, keywordExamples(40))
        do {
            let db = try Connection(path: path)
            try db.execute("PRAGMA user_version = 4")
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        var message = "opened"
        do { _ = try RunPlan(store: path, vocabulary: nil, split: nil, fold: nil, tasks: nil) } catch { message = error.description }
        #expect(message.contains("schema version 4") && message.contains("mtl-prep import, split or vocab"), "\(message)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }
}
