import Testing
import Foundation
@testable import Batching
import Store

@Suite struct SamplingTests {
    /// Homogeneous batches: the share of batches per task against the formula, by chi-square.
    @Test(arguments: [
        TaskSampling.proportional, .uniform, .temperature(2), .temperature(0.5),
        .cappedProportional(cap: 300, scale: 1, temperature: 1), .cappedProportional(cap: 500, scale: 2, temperature: 2),
        .weights([1, 2, 3, 4]),
    ])
    func taskSharesConvergeToTheFormula(_ sampling: TaskSampling) throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir)
        let config = smallConfig { $0.taskSampling = sampling; $0.batchSize = 1; $0.epoch = .batches(1_000_000) }
        let loader = try makeLoader(fx, config)
        let p = loader.taskProbabilities(epoch: 0)
        // The counts the formula is fed are the training examples of each task.
        let expectedCounts = ["topic", "sentiment", "ner", "cats"].map { t in Int64(fx.labels[t]!.keys.filter { fx.parts[$0] == .train }.count) }
        #expect(loader.taskCounts == expectedCounts)
        let n = 20_000
        var counts = [Int](repeating: 0, count: 4)
        for _ in 0..<n { counts[try loader.next().task!] += 1 }
        let x = chiSquare(observed: counts, probabilities: p)
        #expect(x < chiSquareCritical(df: 3), "\(sampling.name): observed \(counts), expected \(p.map { $0 * Double(n) }), chi2 \(x)")
    }

    @Test func formulas() {
        let n: [Int64] = [100, 400, 1600]
        let close = { (a: [Double], b: [Double]) -> Bool in zip(a, b).allSatisfy { abs($0 - $1) < 1e-12 } }
        func shares(_ w: [Double]) -> [Double] { let s = w.reduce(0, +); return w.map { $0 / s } }
        #expect(close(TaskSampling.proportional.probabilities(counts: n), shares([100, 400, 1600])))
        #expect(close(TaskSampling.uniform.probabilities(counts: n), shares([1, 1, 1])))
        #expect(close(TaskSampling.temperature(2).probabilities(counts: n), shares([10, 20, 40])))
        #expect(close(TaskSampling.cappedProportional(cap: 400, scale: 1, temperature: 1).probabilities(counts: n), shares([100, 400, 400])))
        // Annealed: α = 1 in epoch 1, 0.2 in epoch E.
        #expect(close(TaskSampling.annealed(epochs: 5).probabilities(counts: n, epoch: 1), TaskSampling.proportional.probabilities(counts: n)))
        let a: [Double] = [100.0, 400, 1600].map { pow($0, 0.2) }
        #expect(close(TaskSampling.annealed(epochs: 5).probabilities(counts: n, epoch: 5), shares(a)))
        #expect(TaskSampling.annealedAlpha(epoch: 3, epochs: 5) == 0.6)
        #expect(close(TaskSampling.weights([1, 1, 2]).probabilities(counts: n), shares([1, 1, 2])))
    }

    /// Annealed sampling changes its target every epoch; the realized shares follow per epoch.
    @Test func annealedFollowsTheEpoch() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir)
        let config = smallConfig { $0.taskSampling = .annealed(epochs: 3); $0.batchSize = 1; $0.epoch = .batches(8000) }
        let loader = try makeLoader(fx, config)
        for e in 0..<3 {
            var counts = [Int](repeating: 0, count: 4)
            for _ in 0..<8000 { let b = try loader.next(); #expect(b.epoch == e); counts[b.task!] += 1 }
            let p = loader.taskProbabilities(epoch: e)
            #expect(chiSquare(observed: counts, probabilities: p) < chiSquareCritical(df: 3), "epoch \(e): \(counts) vs \(p)")
        }
        #expect(loader.taskProbabilities(epoch: 0) != loader.taskProbabilities(epoch: 2))
    }

    @Test func roundRobinCyclesTasks() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir)
        let loader = try makeLoader(fx, smallConfig { $0.taskSampling = .roundRobin; $0.epoch = .batches(100) })
        for s in 0..<40 { #expect(try loader.next().task == s % 4) }
        // Mixed batches: examples in turn.
        let mixed = try makeLoader(fx, smallConfig { $0.taskSampling = .roundRobin; $0.homogeneous = false; $0.batchSize = 6 })
        var k = 0
        for _ in 0..<10 { for d in try mixed.next().drawnFor { #expect(Int(d) == k % 4); k += 1 } }
    }

    /// Mixed batches: each example's task is drawn separately; shares per example.
    @Test func mixedBatchesDrawTasksPerExample() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir)
        let loader = try makeLoader(fx, smallConfig { $0.taskSampling = .temperature(3); $0.homogeneous = false; $0.batchSize = 16 })
        var counts = [Int](repeating: 0, count: 4)
        for _ in 0..<1500 {
            let b = try loader.next()
            #expect(b.task == nil && b.size == 16)
            for d in b.drawnFor { counts[Int(d)] += 1 }
        }
        let p = loader.taskProbabilities(epoch: 0)
        #expect(chiSquare(observed: counts, probabilities: p) < chiSquareCritical(df: 3), "\(counts) vs \(p)")
    }

    /// sentiment is neg : pos = 1 : 10 in training; class-balanced sampling makes it 1 : 1.
    @Test func classBalancedSamplingEqualizesATenToOneTask() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir, ratio: 10)
        for balancing in [ClassBalancing.none, .inverseFrequency, .effectiveNumber(beta: 0.999), .effectiveNumber(beta: 0.99)] {
            let loader = try makeLoader(fx, smallConfig { $0.classBalancing = balancing; $0.batchSize = 16 }, tasks: ["sentiment"])
            let natural = loader.source.index.classTotals[0]
            #expect(Double(natural[0]) / Double(natural[1]) > 9.5 && Double(natural[0]) / Double(natural[1]) < 10.5)
            var counts = [0, 0]
            for _ in 0..<1000 { for c in try loader.next().targets[0].classes { counts[Int(c)] += 1 } }
            let target = loader.classShares(task: 0)
            #expect(chiSquare(observed: counts, probabilities: target) < chiSquareCritical(df: 1), "\(balancing): \(counts) vs \(target)")
            if balancing == .inverseFrequency {
                #expect(target == [0.5, 0.5])
                #expect(abs(Double(counts[1]) / Double(counts[0] + counts[1]) - 0.5) < 0.02)
            }
            if balancing == .none { #expect(abs(Double(counts[1]) / Double(counts[0] + counts[1]) - 1.0 / 11) < 0.02) }
        }
    }

    @Test func classWeightsFromVocabLabels() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir, ratio: 10)
        let loader = try makeLoader(fx, smallConfig(), tasks: ["sentiment", "ner"])
        let counts = try loader.labelCounts(task: 0)
        #expect(counts == loader.source.index.classTotals[0])
        let inv = try loader.classWeights(task: 0, balancing: .inverseFrequency)
        #expect(abs(inv.reduce(0, +) - 2) < 1e-9 && abs(inv[1] / inv[0] - Double(counts[0]) / Double(counts[1])) < 1e-9)
        // Effective number: (1 − β) / (1 − β^n), normalised to sum to #classes.
        let beta = 0.99
        let raw = counts.map { (1 - beta) / (1 - pow(beta, Double($0))) }
        let eff = try loader.classWeights(task: 0, balancing: .effectiveNumber(beta: beta))
        #expect(zip(eff, raw.map { $0 * 2 / raw.reduce(0, +) }).allSatisfy { abs($0 - $1) < 1e-9 })
        // Tagging tasks get per-tag weights from the per-token counts.
        #expect(try loader.labelCounts(task: 1).count == 3)
        #expect(ClassWeights.weights(counts: [10, 0, 30], balancing: .inverseFrequency) == [1.5, 0, 0.5])
    }
}

@Suite struct BatchContentTests {
    /// Every row's tokens and targets are the store's, truncated as configured; padding is the
    /// vocabulary's <pad>.
    @Test(arguments: [Truncation.head, .tail])
    func batchesAreAlignedWithTheStore(_ truncation: Truncation) throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir)
        let loader = try makeLoader(fx, smallConfig { $0.maxLength = 12; $0.truncation = truncation; $0.homogeneous = false })
        var sawTruncated = false
        for _ in 0..<200 {
            let b = try loader.next()
            #expect(b.tokenIDs.count == b.size * b.paddedLength && b.paddedLength <= 12)
            for r in 0..<b.size {
                let id = b.exampleIDs[r]
                let full = fx.tokens[id]!
                let kept = truncation == .head ? Array(full.prefix(12)) : Array(full.suffix(12))
                sawTruncated = sawTruncated || full.count > 12
                #expect(Int(b.lengths[r]) == kept.count)
                #expect(Array(b.tokenIDs[(r * b.paddedLength)..<(r * b.paddedLength + kept.count)]) == kept)
                #expect(b.tokenIDs[(r * b.paddedLength + kept.count)..<((r + 1) * b.paddedLength)].allSatisfy { $0 == 0 })
                for t in b.targets {
                    let v = fx.labels[t.task]![id]
                    #expect(t.mask[r] == (v != nil))
                    switch (t.kind, v) {
                    case (.classification, .label(let c)?): #expect(t.classes[r] == c)
                    case (.classification, nil): #expect(t.classes[r] == -1)
                    case (.multilabel, let v):
                        let hot = (0..<t.labelCount).filter { t.multiHot[r * t.labelCount + $0] == 1 }.map(Int32.init)
                        #expect(hot == (v?.ids ?? []))
                    case (.tagging, let v):
                        let row = Array(t.tags[(r * b.paddedLength)..<((r + 1) * b.paddedLength)])
                        if let tags = v?.ids {
                            let keptTags = truncation == .head ? Array(tags.prefix(12)) : Array(tags.suffix(12))
                            #expect(Array(row.prefix(keptTags.count)) == keptTags && row.dropFirst(keptTags.count).allSatisfy { $0 == -1 })
                        } else {
                            #expect(row.allSatisfy { $0 == -1 })
                        }
                    default: Issue.record("unexpected \(t.kind) \(String(describing: v))")
                    }
                }
            }
            // Homogeneous or not, the row was drawn for a task it carries.
            for r in 0..<b.size { #expect(b.targets[Int(b.drawnFor[r])].mask[r]) }
        }
        #expect(sawTruncated)
    }

    @Test func onlyTheSampledTasksTargetsWhenAsked() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir)
        let loader = try makeLoader(fx, smallConfig { $0.allTaskTargets = false })
        for _ in 0..<50 {
            let b = try loader.next()
            for (t, tt) in b.targets.enumerated() { #expect(tt.present == (t == b.task! ? b.size : 0)) }
        }
    }

    /// Token budget: B × T ≤ max tokens; bucketing makes batches of similar length.
    @Test func tokenBudgetAndBucketing() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir)
        let budget = try makeLoader(fx, smallConfig { $0.maxTokens = 120; $0.batchSize = 64 })
        var sizes = Set<Int>()
        for _ in 0..<300 {
            let b = try budget.next()
            #expect(b.size == 1 || b.size * b.paddedLength <= 120)
            sizes.insert(b.size)
        }
        #expect(sizes.count > 3)
        func padding(_ loader: Loader) throws -> Double {
            var pad = 0, total = 0
            for _ in 0..<300 {
                let b = try loader.next()
                pad += b.size * b.paddedLength - Int(b.lengths.reduce(0, +)); total += b.size * b.paddedLength
            }
            return Double(pad) / Double(total)
        }
        let plain = try padding(makeLoader(fx, smallConfig { $0.blockSize = 256; $0.shuffleBlocks = 8 }))
        let bucketed = try padding(makeLoader(fx, smallConfig { $0.blockSize = 256; $0.shuffleBlocks = 8; $0.bucketBatches = 20 }))
        #expect(bucketed < plain / 3, "padding share \(bucketed) bucketed vs \(plain)")
    }
}

@Suite struct PartsAndEpochTests {
    /// No dev or test example is ever in a training batch; every training example of every
    /// task is drawn in an all-exhausted epoch.
    @Test(arguments: [false, true])
    func trainingBatchesHoldOnlyTheTrainingPart(_ kfold: Bool) throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir, kfold: kfold)
        let loader = try makeLoader(fx, smallConfig { $0.epoch = .allExhausted; $0.taskSampling = .uniform })
        var seen: [Int: Set<Int64>] = [:]
        while true {
            let b = try loader.next()
            guard b.epoch < 3 else { break }
            for r in 0..<b.size {
                #expect(fx.parts[b.exampleIDs[r]] == .train, "example \(b.exampleIDs[r]) of part \(String(describing: fx.parts[b.exampleIDs[r]]))")
                if b.epoch == 0 { seen[Int(b.drawnFor[r]), default: []].insert(b.exampleIDs[r]) }
            }
        }
        for (t, name) in ["topic", "sentiment", "ner", "cats"].enumerated() {
            let train = Set(fx.labels[name]!.keys.filter { fx.parts[$0] == .train })
            #expect(seen[t] == train, "task \(name)")
        }
    }

    @Test(arguments: [SplitPart.dev, .test])
    func evaluationPartsIterateInIDOrder(_ part: SplitPart) throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir, kfold: true)
        let config = smallConfig()
        let source = try StoreSource(path: fx.path, config: config)
        let eval = EvalBatches(source: source, part: part, config: config)
        var ids: [Int64] = []
        while let b = try eval.next() { ids += b.exampleIDs; #expect(b.size <= 8) }
        #expect(ids == fx.ids.filter { fx.parts[$0] == part })
        // With one task, only the examples that carry it.
        let ner = EvalBatches(source: try StoreSource(path: fx.path, tasks: ["ner"], config: config), part: part, config: config)
        var nerIDs: [Int64] = []
        while let b = try ner.next() { nerIDs += b.exampleIDs; #expect(b.targets[0].present == b.size) }
        #expect(nerIDs == fx.ids.filter { fx.parts[$0] == part && fx.labels["ner"]![$0] != nil })
    }

    @Test func firstExhaustedEndsWithTheSmallestTask() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir)
        let loader = try makeLoader(fx, smallConfig { $0.epoch = .firstExhausted; $0.taskSampling = .uniform })
        var drawn = [Int64](repeating: 0, count: 4)
        var b = try loader.next()
        while !b.endsEpoch { for d in b.drawnFor { drawn[Int(d)] += 1 }; b = try loader.next() }
        for d in b.drawnFor { drawn[Int(d)] += 1 }
        #expect(zip(drawn, loader.taskCounts).contains { $0 >= $1 })
        #expect(try loader.next().epoch == 1)
        // The smallest task (cats) is the first exhausted under uniform sampling.
        #expect(drawn[3] >= loader.taskCounts[3] && drawn[1] < loader.taskCounts[1])
    }
}

@Suite struct ResumeTests {
    static let configs: [LoaderConfig] = [
        smallConfig(),
        smallConfig { $0.homogeneous = false; $0.taskSampling = .temperature(2); $0.epoch = .firstExhausted },
        smallConfig { $0.classBalancing = .inverseFrequency; $0.bucketBatches = 10; $0.maxTokens = 150; $0.batchSize = 32 },
        smallConfig { $0.taskSampling = .annealed(epochs: 4); $0.epoch = .batches(97); $0.truncation = .tail; $0.maxLength = 9 },
        smallConfig { $0.taskSampling = .roundRobin; $0.homogeneous = false; $0.classBalancing = .effectiveNumber(beta: 0.99) },
    ]

    /// Interrupt at random steps, serialize the state to JSON, restore into a fresh loader:
    /// the next 1000 batches hash identically to the uninterrupted run.
    @Test(arguments: configs.indices)
    func resumeAtRandomStepsGivesTheSameBatches(_ which: Int) throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir)
        let config = Self.configs[which]
        let reference = try makeLoader(fx, config)
        let steps = 1800
        let uninterrupted = try (0..<steps).map { _ in try reference.next().fingerprint }
        var g = SystemRandomNumberGenerator()
        for k in [0, 1] + (0..<3).map({ _ in Int.random(in: 2..<(steps - 1000), using: &g) }) {
            let first = try makeLoader(fx, config)
            for s in 0..<k { #expect(try first.next().fingerprint == uninterrupted[s]) }
            let json = try first.state.json()
            #expect(json.count < 2000, "state is \(json.count) bytes")
            let resumed = try makeLoader(fx, config, state: LoaderState.decode(json: json))
            let next = try (0..<1000).map { _ in try resumed.next().fingerprint }
            #expect(next == Array(uninterrupted[k..<(k + 1000)]), "config \(which), resumed at step \(k)")
        }
    }

    @Test func deterministicForASeed() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir)
        let a = try makeLoader(fx, smallConfig()), b = try makeLoader(fx, smallConfig())
        let c = try makeLoader(fx, smallConfig { $0.seed = 43 })
        var same = true, differs = false
        for _ in 0..<300 {
            let x = try a.next().fingerprint, y = try b.next().fingerprint, z = try c.next().fingerprint
            same = same && x == y
            differs = differs || x != z
        }
        #expect(same && differs)
    }

    @Test func aStateFromAnotherConfigurationIsRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir)
        let state = try makeLoader(fx, smallConfig()).state
        #expect(throws: BatchingError.self) { try makeLoader(fx, smallConfig { $0.batchSize = 9 }, state: state) }
    }

    /// The background thread gives the same batches in the same order; its state counts only
    /// the batches handed out.
    @Test func backgroundLoaderMatchesTheLoader() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir)
        let config = smallConfig { $0.homogeneous = false }
        let direct = try makeLoader(fx, config)
        let expected = try (0..<600).map { _ in try direct.next().fingerprint }
        let bg = BackgroundLoader(try makeLoader(fx, config), capacity: 4)
        var got: [UInt64] = []
        for _ in 0..<250 { got.append(try bg.next().fingerprint) }
        let state = bg.state
        bg.stop()
        #expect(state.step == 250)
        let resumed = try makeLoader(fx, config, state: state)
        for _ in 250..<600 { got.append(try resumed.next().fingerprint) }
        #expect(got == expected)
    }
}

@Suite struct BadInputTests {
    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    @Test func errorsSayWhichCommandFixesThem() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let nothing = try makeFixture(dir, name: "nothing.sqlite", examples: 50, withVocabulary: false, withSplit: false)
        #expect(message { _ = try StoreSource(path: nothing.path, config: smallConfig()) }.contains("no vocabulary: run mtl-prep vocab"))
        let noSplit = try makeFixture(dir, name: "nosplit.sqlite", examples: 50, withSplit: false)
        #expect(message { _ = try StoreSource(path: noSplit.path, config: smallConfig()) }.contains("no split: run mtl-prep split"))
        let noVocab = try makeFixture(dir, name: "novocab.sqlite", examples: 50, withVocabulary: false)
        #expect(message { _ = try StoreSource(path: noVocab.path, config: smallConfig()) }.contains("run mtl-prep vocab"))
        let fx = try makeFixture(dir, examples: 300)
        #expect(message { _ = try StoreSource(path: fx.path, split: "other", config: smallConfig()) }.contains("no split named 'other'"))
        #expect(message { _ = try StoreSource(path: fx.path, vocabulary: "chars", config: smallConfig()) }.contains("no vocabulary named 'chars'"))
        #expect(message { _ = try makeLoader(fx, smallConfig { $0.taskSampling = .temperature(0) }) }.contains("temperature must be > 0"))
        #expect(message { _ = try makeLoader(fx, smallConfig { $0.taskSampling = .temperature(-1) }) }.contains("temperature must be > 0"))
        #expect(message { _ = try makeLoader(fx, smallConfig { $0.taskSampling = .weights([1, 2]) }) }.contains("2 task weights for 4 tasks (topic, sentiment, ner, cats)"))
        #expect(message { _ = try makeLoader(fx, smallConfig(), tasks: ["nope"]) }.contains("no task named 'nope'"))
        #expect(message { _ = try StoreSource(path: fx.path, fold: 2, config: smallConfig()) }.contains("ratio split"))
    }

    @Test func aTaskWithoutTrainingExamplesIsAnError() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir, examples: 200)
        // Move every `cats` example out of training.
        let store = try ExampleStore(path: fx.path)
        let split = try #require(try store.split(named: "main"))
        var a = SplitAssignments()
        for id in fx.ids { a.append(id, fx.labels["cats"]![id] != nil ? .test : (fx.parts[id] ?? .train)) }
        try store.connection.run("DELETE FROM split_assignments WHERE split_id = ?", [.integer(split.id)])
        let ins = try store.connection.prepare("INSERT INTO split_assignments(split_id, example_id, part, fold) VALUES (?, ?, ?, NULL)")
        for i in 0..<a.count { try ins.bind([.integer(split.id), .integer(a.exampleIDs[i]), .text(a.parts[i].name)]); try ins.run() }
        let m = message { _ = try makeLoader(fx, smallConfig()) }
        #expect(m.contains("task 'cats' has no training examples in split 'main'") && m.contains("mtl-prep split"), "\(m)")
        _ = try makeLoader(fx, smallConfig(), tasks: ["topic", "ner"])
    }

    @Test func missingEncodedIdsAreReported() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir, examples: 200)
        let store = try ExampleStore(path: fx.path)
        try store.connection.run("DELETE FROM encoded WHERE example_id = 17")
        let loader = try makeLoader(fx, smallConfig { $0.blockSize = 1000 })
        #expect(message { for _ in 0..<100 { _ = try loader.next() } }.contains("example 17 has no ids in vocabulary 'words'"))
    }
}

@Suite struct MemoryTests {
    /// What a loader holds does not grow with the store: 10x the examples, the same windows;
    /// only the per-block counts grow (one integer per task per block).
    @Test func residentRowsDoNotGrowWithTheStore() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var resident: [Int] = []
        var indexCounters: [Int] = []
        for (name, n) in [("small.sqlite", 2000), ("large.sqlite", 20000)] {
            let fx = try makeFixture(dir, name: name, examples: n)
            let config = smallConfig { $0.batchSize = 16 }
            let loader = try makeLoader(fx, config)
            var most = 0
            for _ in 0..<3000 { _ = try loader.next(); most = max(most, loader.residentRows) }
            resident.append(most)
            indexCounters.append(loader.source.index.taskBlocks.reduce(0) { $0 + $1.count })
            #expect(most <= config.blockSize * config.shuffleBlocks * 4 + config.batchSize)
        }
        #expect(Double(resident[1]) < Double(resident[0]) * 1.2, "\(resident)")
        #expect(indexCounters[1] <= indexCounters[0] * 10 + 8)
    }
}

@Suite struct ShardTests {
    /// Ranks cut each global batch into disjoint shards whose union is the batch, row for row,
    /// with tokens and every task's targets intact (the loader side of data-parallel training).
    @Test(arguments: [1, 2, 3])
    func shardsPartitionEachGlobalBatch(_ ranks: Int) throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let fx = try makeFixture(dir)
        let loader = try makeLoader(fx, smallConfig { $0.homogeneous = false })
        for _ in 0..<30 {
            let b = try loader.next()
            let shards = (0..<ranks).map { b.shard(rank: $0, of: ranks) }
            #expect(shards.map(\.size).reduce(0, +) == b.size)
            #expect(Set(shards.flatMap(\.exampleIDs)) == Set(b.exampleIDs))
            for (rank, s) in shards.enumerated() {
                #expect(s.step == b.step && s.task == b.task && s.epoch == b.epoch)
                #expect(s.tokenIDs.count == s.size * s.paddedLength)
                for (i, id) in s.exampleIDs.enumerated() {
                    let r = rank + i * ranks
                    #expect(b.exampleIDs[r] == id)
                    let n = Int(b.lengths[r])
                    #expect(s.lengths[i] == b.lengths[r])
                    #expect(Array(s.tokenIDs[(i * s.paddedLength)..<(i * s.paddedLength + n)]) == Array(b.tokenIDs[(r * b.paddedLength)..<(r * b.paddedLength + n)]))
                    for (t, st) in zip(b.targets, s.targets) {
                        #expect(st.mask[i] == t.mask[r])
                        if !t.classes.isEmpty { #expect(st.classes[i] == t.classes[r]) }
                        if !t.multiHot.isEmpty { #expect(Array(st.multiHot[(i * t.labelCount)..<((i + 1) * t.labelCount)]) == Array(t.multiHot[(r * t.labelCount)..<((r + 1) * t.labelCount)])) }
                        if !t.tags.isEmpty { #expect(Array(st.tags[(i * s.paddedLength)..<(i * s.paddedLength + n)]) == Array(t.tags[(r * b.paddedLength)..<(r * b.paddedLength + n)])) }
                    }
                }
            }
        }
    }
}
