import Batching
import Foundation
import NN
import Store
#if canImport(Glibc)
import Glibc
#endif

/// Where a run stands: everything besides the weights and the optimizer's moments that an
/// exact resume needs. Saved as `state.json` in every checkpoint.
public struct TrainerState: Sendable, Codable, Equatable {
    /// Optimizer steps taken.
    public var step = 0
    /// The loader epoch the next batch belongs to.
    public var epoch = 0
    public var examples: Int64 = 0
    public var loader: LoaderState
    /// Call counters of every dropout layer (their masks are keyed by them).
    public var dropoutCalls: [UInt64]
    /// The PCGrad shuffle generator's counter.
    public var pcgradCounter: UInt64 = 0
    public var evaluations = 0
    public var bestAggregate: Double?
    public var bestStep: Int?
    public var evaluationsWithoutImprovement = 0
    /// Every checkpoint written so far that is still kept, with its aggregate (the top-k bookkeeping).
    public var checkpoints: [CheckpointRecord] = []
    /// Length of `log.jsonl` when this state was saved: a resume cuts what came after.
    public var logBytes = 0
    public var stopReason: String?
    /// What the loader has drawn since the start of the run (the `sampling` log line's counts);
    /// nil in checkpoints written before it was kept.
    public var sampling: SamplingTally?
}

/// Counts of what the loader drew, for the realized task and class shares each `eval` log line's
/// `sampling` field reports (as `mtl-prep sample --report` counts them): per task the batches drawn for it
/// (mixed batches: the examples), the sum of its target probability over all those draws, the
/// examples drawn for it, and per class of a classification task the examples drawn for it.
public struct SamplingTally: Sendable, Codable, Equatable {
    public var drawn: [Int64]
    public var targetSums: [Double]
    public var examples: [Int64]
    public var classes: [[Int64]]

    public init(tasks: [TaskInfo]) {
        drawn = tasks.map { _ in 0 }; targetSums = tasks.map { _ in 0 }; examples = tasks.map { _ in 0 }
        classes = tasks.map { $0.kind == .classification ? [Int64](repeating: 0, count: $0.labelCount) : [] }
    }

    /// Counts `batch`, drawn with task probabilities `p`.
    public mutating func add(_ batch: Batch, probabilities p: [Double], tasks: [TaskInfo]) {
        guard drawn.count == tasks.count, p.count == tasks.count else { return }
        if let t = batch.task {
            drawn[t] += 1
            for k in p.indices { targetSums[k] += p[k] }
        } else {
            for d in batch.drawnFor {
                drawn[Int(d)] += 1
                for k in p.indices { targetSums[k] += p[k] }
            }
        }
        for r in 0..<batch.size {
            let t = Int(batch.drawnFor[r])
            examples[t] += 1
            if tasks[t].kind == .classification {
                let c = Int(batch.targets[t].classes[r])
                if c >= 0 && c < classes[t].count { classes[t][c] += 1 }
            }
        }
    }

    /// The shares since the start, against the targets, for the log and the report.
    func report(step: Int, source: StoreSource, loader: LoaderConfig) -> SamplingReport {
        let tasks = source.tasks, index = source.index
        let total = Double(drawn.reduce(0, +))
        var out: [SamplingReport.TaskShare] = []
        for (t, info) in tasks.enumerated() {
            var classShares: [SamplingReport.ClassShare]? = nil
            if info.kind == .classification, t < index.classTotals.count, index.classTotals[t].count == info.labelCount {
                let target = loader.classBalancing.classShares(counts: index.classTotals[t])
                let n = Double(classes[t].reduce(0, +))
                classShares = info.labels.enumerated().map { c, label in
                    SamplingReport.ClassShare(label: label, trainingExamples: index.classTotals[t][c], targetShare: target[c],
                                              realizedShare: n > 0 ? Double(classes[t][c]) / n : 0, drawn: classes[t][c])
                }
            }
            out.append(SamplingReport.TaskShare(task: info.name, kind: info.kind.rawValue, trainingExamples: index.taskTotals[t],
                                                targetShare: total > 0 ? targetSums[t] / total : 0, realizedShare: total > 0 ? Double(drawn[t]) / total : 0,
                                                drawn: drawn[t], examples: examples[t], classes: classShares))
        }
        return SamplingReport(step: step, shareOf: loader.homogeneous ? "batches" : "examples", strategy: loader.taskSampling.name,
                              classBalancing: ReportPage.balancingName(loader.classBalancing), tasks: out)
    }
}

public struct CheckpointRecord: Sendable, Codable, Equatable {
    public var step: Int
    public var aggregate: Double?
}

/// The result of a run, as `--json` prints it.
public struct RunSummary: Sendable, Codable {
    public var run: String
    public var steps: Int
    public var epochs: Int
    public var examples: Int64
    /// Wall time of the whole run in this process (training, evaluations, checkpoints).
    public var seconds: Double
    /// Of which evaluations and checkpoint writing.
    public var evaluationSeconds: Double
    /// Training examples per second of training time (the wall time less evaluations and checkpoints).
    public var examplesPerSecond: Double
    /// Share of the training time spent waiting for the loader.
    public var dataWaitShare: Double
    public var stopReason: String
    public var bestStep: Int?
    public var bestAggregate: Double?
    public var best: Evaluation?
    public var last: Evaluation?
    public var checkpoints: [Int]
}

/// Receives what a run reports as it goes (the command prints it).
public protocol TrainingObserver: AnyObject {
    func message(_ text: String)
    func progress(step: Int, totalSteps: Int?, epoch: Int, examplesPerSecond: Double, losses: [String: Float])
    func evaluated(_ evaluation: Evaluation, isBest: Bool)
}

/// Averages gradients across data-parallel processes. One process: nothing to do. The trainer hands
/// every step's gradients over as one flat buffer, in `MultiTaskModel.parameters` order.
public protocol GradientReducer: AnyObject {
    var processCount: Int { get }
    func averageGradients(_ flat: inout [Float]) throws
}

/// Trains a `MultiTaskModel` from a store: the loop, evaluations, checkpoints, early stopping.
///
/// ```swift
/// let trainer = try Trainer(model: modelConfig, training: trainingConfig, folder: RunFolder(path: "runs/a"), resume: false)
/// let summary = try trainer.run()
/// ```
public final class Trainer {
    public let configuration: RunConfiguration
    public let folder: RunFolder
    public weak var observer: TrainingObserver?
    /// Averages gradients across data-parallel processes (none: one process).
    public var reducer: GradientReducer? {
        get { trainStep.reducer }
        set { trainStep.reducer = newValue }
    }
    /// Stop after this many steps of this process (tests: simulate a kill at a known step).
    public var stopAfterSteps: Int?

    let model: MultiTaskModel
    let trainStep: TrainingStep
    let trainSource: StoreSource
    let evalSource: StoreSource
    let fingerprints: RunFingerprints
    /// The pipeline and vocabulary, saved with every checkpoint so that it predicts without the store.
    let textSide: Data
    let selection: Selection
    var state: TrainerState
    var parameters: [Parameter] { trainStep.parameters }
    var optimizer: any Optimizer { trainStep.optimizer }
    let evalConfig: LoaderConfig
    var log: RunLog
    /// Set once writing report.html has failed (warned once; training goes on).
    var reportFailed = false

    /// Opens the store, builds (or, with `resume`, restores) the model and the run folder.
    /// `force` accepts a resume whose store, vocabulary, split or settings changed (and logs it).
    public init(model modelConfig: ModelConfig, training: TrainingConfig, folder: RunFolder, resume: Bool, force: Bool = false,
                observer: TrainingObserver? = nil, pretrained: [Float]? = nil) throws {
        try training.validate()
        var training = training
        training.loader.seed = training.seed
        training.loader.tasks = training.tasks
        configuration = RunConfiguration(model: modelConfig, training: training)
        self.folder = folder
        self.observer = observer
        BLAS.setThreads(training.threads)
        do {
            trainSource = try StoreSource(path: training.store, vocabulary: training.vocabulary, split: training.split, fold: training.fold,
                                          tasks: training.tasks, config: training.loader)
            evalSource = try StoreSource(path: training.store, vocabulary: training.vocabulary, split: training.split, fold: training.fold,
                                         tasks: training.tasks, config: Self.evaluationConfig(training))
        } catch let e as BatchingError {
            throw TrainingError(.data, e.message)
        }
        fingerprints = try RunFingerprints(source: trainSource)
        textSide = try RunFolder.json(TextSide(store: trainSource.store, vocabulary: trainSource.vocabulary, padID: trainSource.padID))
        model = try MultiTaskModel(config: modelConfig)
        if let pretrained { try model.loadEmbeddings(pretrained) }
        selection = try Selection(parsing: training.select, tasks: training.tasks)
        if case let .metric(task, metric) = selection.rule, let spec = modelConfig.tasks.first(where: { $0.name == task }), !spec.metricNames.contains(metric) {
            throw TrainingError(.configuration, "--select \(task):\(metric): task '\(task)' has no metric '\(metric)' (it has: \(spec.metricNames.joined(separator: ", ")))")
        }
        var weights: [[Float]?] = []
        for (t, info) in trainSource.tasks.enumerated() {
            if let b = training.classWeights.balancing, info.kind == .classification || (modelConfig.tasks[t].isTokenLevel && modelConfig.tasks[t].head == .softmax) {
                weights.append(ClassWeights.weights(counts: try trainSource.labelCounts(task: t), balancing: b).map(Float.init))
            } else {
                weights.append(nil)
            }
        }
        trainStep = TrainingStep(model: model, optimizer: TrainingStep.optimizer(for: training), weighting: training.taskWeights,
                                 losses: training.tasks.map { training.losses[$0] ?? TaskLoss() }, classWeights: weights,
                                 clip: training.clip, seed: training.seed)
        evalConfig = Self.evaluationConfig(training)
        let initialLoader = try Loader(source: trainSource, config: training.loader).state
        state = TrainerState(loader: initialLoader, dropoutCalls: model.dropoutCalls, sampling: SamplingTally(tasks: trainSource.tasks))
        try folder.create()
        log = try RunLog(path: folder.logPath)
        if resume {
            try restore(force: force)
        } else {
            guard folder.newestVerifiedCheckpoint().step == nil else {
                throw TrainingError(.configuration, "the run folder already holds checkpoints: continue it with --resume, or choose another --run", path: folder.path)
            }
            try log.truncate(to: 0)
            try RunFolder.writeDurably(RunFolder.json(configuration), to: folder.path + "/config.json")
            try log.write(["type": "start", "run": folder.path, "tasks": training.tasks, "parameters": parameters.reduce(0) { $0 + $1.value.count },
                           "config": jsonObject(configuration)])
        }
    }

    /// Evaluation batches: every example once, whole unless `--eval-max-length` says otherwise.
    static func evaluationConfig(_ training: TrainingConfig) -> LoaderConfig {
        var c = training.loader
        c.batchSize = max(c.batchSize, 64)
        c.maxTokens = nil
        c.maxLength = training.evalMaxLength ?? Int(Int32.max)
        return c
    }

    // MARK: - Resume

    func restore(force: Bool) throws {
        let (found, skipped) = folder.newestVerifiedCheckpoint()
        for s in skipped { observer?.message("skipping \(s)") }
        guard let step = found else {
            throw TrainingError(.checkpoint, skipped.isEmpty ? "no checkpoint to resume from (start the run without --resume)" : "no checkpoint verifies (\(skipped.count) skipped)", path: folder.path)
        }
        let dir = folder.checkpointPath(step: step)
        func read<T: Decodable>(_ name: String, _ type: T.Type) throws -> T {
            guard let d = FileManager.default.contents(atPath: dir + "/" + name) else {
                throw TrainingError(.checkpoint, "\(RunFolder.checkpointName(step: step)): cannot read \(name)", path: folder.path)
            }
            do { return try JSONDecoder().decode(T.self, from: d) } catch {
                throw TrainingError(.checkpoint, "\(RunFolder.checkpointName(step: step)): \(name) is not what this program writes: \(error)", path: folder.path)
            }
        }
        let saved = try read("config.json", RunConfiguration.self)
        let savedPrints = try read("fingerprints.json", RunFingerprints.self)
        let changedData = fingerprints.differences(from: savedPrints)
        let (accepted, refused) = configuration.differences(from: saved)
        if !(changedData.isEmpty && refused.isEmpty) && !force {
            throw TrainingError(.resume, "cannot resume \(RunFolder.checkpointName(step: step)): it was trained with other data or settings:\n  " +
                                (changedData + refused).joined(separator: "\n  ") + "\nrun with the checkpoint's settings, start a new --run, or pass --force to continue anyway", path: folder.path)
        }
        state = try read("state.json", TrainerState.self)
        do {
            _ = try Checkpoint.load(parameters: parameters, optimizer: optimizer, from: dir + "/model.safetensors")
        } catch {
            throw TrainingError(.checkpoint, "\(RunFolder.checkpointName(step: step)): \(error)", path: folder.path)
        }
        model.dropoutCalls = state.dropoutCalls
        trainStep.pcgrad = SplitMix64(seed: trainStep.pcgrad.seed, counter: state.pcgradCounter)
        // Checkpoints newer than the one resumed (unverified) or deleted since are no longer kept.
        state.checkpoints = state.checkpoints.filter { FileManager.default.fileExists(atPath: folder.checkpointPath(step: $0.step)) }
        // A kill between a checkpoint's rename and the pruning leaves folders the retention no longer lists.
        let kept = Set(state.checkpoints.map(\.step))
        for old in folder.checkpointSteps() where old < step && !kept.contains(old) { folder.delete(step: old) }
        try log.truncate(to: state.logBytes)
        try log.write(["type": "resume", "step": step, "skipped": skipped, "accepted_changes": accepted,
                       "forced_changes": force ? changedData + refused : []])
        if force && !(changedData.isEmpty && refused.isEmpty) {
            observer?.message("--force: resuming despite changes:\n  " + (changedData + refused).joined(separator: "\n  "))
        }
        if !accepted.isEmpty { observer?.message("resuming with changed settings:\n  " + accepted.joined(separator: "\n  ")) }
        try RunFolder.writeDurably(RunFolder.json(configuration), to: folder.path + "/config.json")
        state.stopReason = nil
        observer?.message("resuming \(folder.path) from \(RunFolder.checkpointName(step: step)) (epoch \(state.epoch))")
    }

    // MARK: - The loop

    /// Trains until `--steps` or `--epochs` is reached or early stopping ends the run.
    public func run() throws -> RunSummary {
        let training = configuration.training
        let loader = try Loader(source: trainSource, config: training.loader, state: state.loader)
        let background = BackgroundLoader(loader, capacity: 8)
        defer { background.stop() }
        let total = training.steps ?? (training.epochs! * estimatedStepsPerEpoch(loader))
        let schedule: LearningRateSchedule
        switch training.schedule {
        case .constant: schedule = .constant
        case .linear: schedule = .linear(warmup: training.warmup, total: total)
        case .cosine: schedule = .cosine(warmup: training.warmup, total: total, minFactor: 0)
        }
        let taskNames = training.tasks
        let started = Clock.now()
        var waited = 0.0, evaluating = 0.0, lastEvaluation: Evaluation? = nil, bestEvaluation: Evaluation? = nil
        var stepsThisProcess = 0, examplesThisProcess: Int64 = 0
        var lastEvaluatedStep = state.checkpoints.map(\.step).max() ?? -1
        var lastProgress = 0.0
        if state.sampling?.drawn.count != trainSource.tasks.count { state.sampling = SamplingTally(tasks: trainSource.tasks) }
        var targetEpoch = -1, targets: [Double] = []
        func done() -> Bool {
            if state.stopReason != nil { return true }
            // Recomputed rather than trusted from a checkpoint: a resume with more --patience goes on.
            if training.patience > 0 && state.evaluationsWithoutImprovement >= training.patience { state.stopReason = "early-stopping"; return true }
            if let s = training.steps, state.step >= s { state.stopReason = "steps"; return true }
            if let e = training.epochs, state.epoch >= e { state.stopReason = "epochs"; return true }
            return false
        }
        while !done() {
            if let limit = stopAfterSteps, stepsThisProcess >= limit { state.stopReason = "interrupted"; break }
            let t0 = Clock.now()
            let batch = try background.next()
            waited += Clock.now() - t0
            let losses = try trainStep(ModelInput(batch: batch), learningRate: training.learningRate * schedule.factor(step: state.step),
                                       step: state.step + 1)
            state.step += 1
            stepsThisProcess += 1
            state.examples += Int64(batch.size)
            examplesThisProcess += Int64(batch.size)
            if batch.endsEpoch { state.epoch = batch.epoch + 1 }
            state.loader = background.state
            if batch.epoch != targetEpoch { targetEpoch = batch.epoch; targets = loader.taskProbabilities(epoch: batch.epoch) }
            state.sampling?.add(batch, probabilities: targets, tasks: trainSource.tasks)
            var lossByTask: [String: Float] = [:]
            for (t, l) in losses.enumerated() { if let l { lossByTask[taskNames[t]] = l } }
            try log.write(["type": "step", "step": state.step, "epoch": batch.epoch, "task": batch.task.map { taskNames[$0] } ?? "mixed",
                           "examples": batch.size, "losses": lossByTask.mapValues(Double.init),
                           "lr": Double(training.learningRate * schedule.factor(step: state.step - 1))])
            let now = Clock.now()
            if now - lastProgress > 0.5 {
                lastProgress = now
                observer?.progress(step: state.step, totalSteps: total, epoch: state.epoch,
                                   examplesPerSecond: Double(examplesThisProcess) / max(now - started, 1e-9), losses: lossByTask)
            }
            let finishing = done()
            if (training.evalEvery > 0 && state.step % training.evalEvery == 0) || batch.endsEpoch || finishing {
                let t1 = Clock.now()
                let e = try evaluateAndCheckpoint()
                evaluating += Clock.now() - t1
                lastEvaluation = e.evaluation
                if e.isBest { bestEvaluation = e.evaluation }
                lastEvaluatedStep = state.step
            }
        }
        if lastEvaluatedStep != state.step && state.step > 0 && state.stopReason != "interrupted" {
            let t1 = Clock.now()
            let e = try evaluateAndCheckpoint()
            evaluating += Clock.now() - t1
            lastEvaluation = e.evaluation
            if e.isBest { bestEvaluation = e.evaluation }
        }
        let seconds = Clock.now() - started
        let trainingSeconds = max(seconds - evaluating, 1e-9)
        let summary = RunSummary(run: folder.path, steps: state.step, epochs: state.epoch, examples: state.examples, seconds: seconds,
                                 evaluationSeconds: evaluating, examplesPerSecond: Double(examplesThisProcess) / trainingSeconds,
                                 dataWaitShare: waited / trainingSeconds, stopReason: state.stopReason ?? "steps",
                                 bestStep: state.bestStep, bestAggregate: state.bestAggregate,
                                 best: bestEvaluation ?? loadMetrics(step: state.bestStep), last: lastEvaluation,
                                 checkpoints: state.checkpoints.map(\.step).sorted())
        try log.write(["type": "end", "step": state.step, "reason": summary.stopReason, "seconds": seconds,
                       "examples_per_s": summary.examplesPerSecond, "data_wait_share": summary.dataWaitShare,
                       "best_step": state.bestStep.map { $0 as Any } ?? NSNull()])
        writeReport()
        return summary
    }

    /// Steps one loader epoch takes on average, for the learning-rate schedule's length.
    /// An epoch ends when every task (first-exhausted: some task) has given all its examples;
    /// task i gives pᵢ·B examples a step on average.
    func estimatedStepsPerEpoch(_ loader: Loader) -> Int {
        let B = Double(configuration.training.loader.batchSize)
        let p = loader.taskProbabilities(epoch: 0)
        let n = loader.taskCounts.map(Double.init)
        let perTask = zip(n, p).map { $1 > 0 ? $0 / ($1 * B) : 0 }
        switch configuration.training.loader.epoch {
        case .batches(let k): return k
        case .firstExhausted: return max(1, Int((perTask.filter { $0 > 0 }.min() ?? 1).rounded(.up)))
        case .allExhausted: return max(1, Int((perTask.max() ?? 1).rounded(.up)))
        }
    }

    // MARK: - Evaluation and checkpoints

    func evaluateAndCheckpoint() throws -> (evaluation: Evaluation, isBest: Bool) {
        let training = configuration.training
        let part: SplitPart = training.evalPart == "test" ? .test : .dev
        let e = try Evaluator.evaluate(model: model, source: evalSource, part: part, config: evalConfig, step: state.step, selection: selection)
        state.evaluations += 1
        let isBest = state.bestAggregate.map { e.aggregate > $0 } ?? true
        if isBest {
            state.bestAggregate = e.aggregate; state.bestStep = state.step; state.evaluationsWithoutImprovement = 0
        } else {
            state.evaluationsWithoutImprovement += 1
            if training.patience > 0 && state.evaluationsWithoutImprovement >= training.patience { state.stopReason = "early-stopping" }
        }
        let metricsJSON = try RunFolder.json(e)
        do { try RunFolder.writeDurably(metricsJSON, to: folder.metricsPath(step: state.step)) } catch {
            throw TrainingError(.io, "cannot write metrics-\(state.step).json: \(RunFolder.describe(error))", path: folder.path)
        }
        var evalLine: [String: Any] = ["type": "eval", "step": state.step, "part": e.part, "aggregate": e.aggregate, "best": isBest,
                                       "metrics": Dictionary(uniqueKeysWithValues: e.tasks.map { ($0.task, $0.metrics) })]
        // The loader's realized task and class shares so far, against their targets (the report's sampling charts).
        if let tally = state.sampling {
            evalLine["sampling"] = jsonObject(tally.report(step: state.step, source: trainSource, loader: training.loader))
        }
        try log.write(evalLine)
        observer?.evaluated(e, isBest: isBest)
        // Before the checkpoint, so that the line is inside the log length the checkpoint records.
        if state.stopReason == "early-stopping" {
            try log.write(["type": "early_stop", "step": state.step, "best_step": state.bestStep ?? -1])
        }
        try checkpoint(metrics: metricsJSON, aggregate: e.aggregate)
        writeReport()
        return (e, isBest)
    }

    /// Rewrites `report.html` (temporary file and rename). A failure is warned about once and
    /// does not stop the run.
    func writeReport() {
        do { try RunReport.write(folder: folder.path, history: log.history) } catch {
            guard !reportFailed else { return }
            reportFailed = true
            let message = "warning: cannot write \(folder.path)/\(RunReport.fileName): \(RunFolder.describe(error)) (training goes on; mtl-train report --run NAME writes it later)"
            if let observer { observer.message(message) } else { FileHandle.standardError.write(Data((message + "\n").utf8)) }
        }
    }

    /// Writes `checkpoint-STEP` whole, then applies `--keep-last` / `--keep-best` (the best survives).
    func checkpoint(metrics: Data, aggregate: Double?) throws {
        let training = configuration.training
        state.dropoutCalls = model.dropoutCalls
        state.pcgradCounter = trainStep.pcgrad.counter
        var kept = state.checkpoints.filter { $0.step != state.step }
        kept.append(CheckpointRecord(step: state.step, aggregate: aggregate))
        let byStep = kept.sorted { $0.step > $1.step }
        let byScore = kept.filter { $0.aggregate != nil }.sorted { ($0.aggregate!, -$0.step) > ($1.aggregate!, -$1.step) }
        let keep = Set(byStep.prefix(training.keepLast).map(\.step)).union(byScore.prefix(training.keepBest).map(\.step))
        state.checkpoints = kept.filter { keep.contains($0.step) }.sorted { $0.step < $1.step }
        // The log as it will stand once this checkpoint's own line is written (a resume keeps that line).
        let checkpointLine = try RunLog.line(["type": "checkpoint", "step": state.step, "kept": state.checkpoints.map(\.step)])
        state.logBytes = log.bytes + checkpointLine.count
        let tensors = parameters.map { ($0.name, $0.value) } + optimizer.stateTensors()
        try folder.writeCheckpoint(step: state.step, files: [
            ("model.safetensors", .tensors(tensors, metadata: ["step": "\(state.step)", "format": "mtl-train checkpoint"])),
            ("state.json", .data(try RunFolder.json(state))),
            ("config.json", .data(try RunFolder.json(configuration))),
            ("fingerprints.json", .data(try RunFolder.json(fingerprints))),
            ("metrics.json", .data(metrics)),
            ("text.json", .data(textSide)),
        ])
        for old in kept where !keep.contains(old.step) { folder.delete(step: old.step) }
        let index: [String: Any] = ["latest": RunFolder.checkpointName(step: state.step),
                                    "best": state.bestStep.map { RunFolder.checkpointName(step: $0) as Any } ?? NSNull(),
                                    "checkpoints": state.checkpoints.map { ["step": $0.step, "aggregate": $0.aggregate as Any? ?? NSNull()] }]
        do {
            try RunFolder.writeDurably(JSONSerialization.data(withJSONObject: index, options: [.sortedKeys, .prettyPrinted]), to: folder.path + "/" + RunFolder.indexName)
        } catch {
            throw TrainingError(.io, "cannot write \(RunFolder.indexName): \(RunFolder.describe(error))", path: folder.path)
        }
        try log.append(checkpointLine)
    }

    func loadMetrics(step: Int?) -> Evaluation? {
        guard let step, let d = FileManager.default.contents(atPath: folder.metricsPath(step: step)) else { return nil }
        return try? JSONDecoder().decode(Evaluation.self, from: d)
    }

    /// The weights as one SHA-256 (tests and logs compare runs with it).
    public var weightsDigest: String {
        var h = SHA256()
        for p in parameters {
            h.update(Array(p.name.utf8))
            h.update(UnsafeRawBufferPointer(start: p.value.data, count: p.value.count * 4))
        }
        return h.finalizeHex()
    }
}

func jsonObject<T: Encodable>(_ value: T) -> Any {
    guard let d = try? JSONEncoder().encode(value), let o = try? JSONSerialization.jsonObject(with: d) else { return NSNull() }
    return o
}

/// `log.jsonl`: one JSON object per line, appended and flushed as the run goes; its length is
/// recorded in each checkpoint so a resume can cut the lines of the steps it repeats.
struct RunLog {
    let path: String
    private(set) var bytes: Int
    private let handle: FileHandle
    /// The log's lines so far, condensed for the report (rebuilt from the file when cut back).
    private(set) var history = RunHistory()

    init(path: String) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let h = FileHandle(forUpdatingAtPath: path) else { throw TrainingError(.io, "cannot open the log", path: path) }
        handle = h
        bytes = Int(try h.seekToEnd())
    }

    mutating func truncate(to n: Int) throws {
        try handle.truncate(atOffset: UInt64(min(n, bytes)))
        bytes = Int(try handle.seekToEnd())
        history = RunHistory()
        if bytes > 0, let data = FileManager.default.contents(atPath: path) { history.add(lines: data.prefix(bytes)) }
    }

    mutating func write(_ object: [String: Any]) throws {
        let o = Self.stamped(object)
        try write(data: try Self.serialize(o))
        if let type = o["type"] as? String { history.add(type: type, o) }
    }

    /// One log line: the object with its time, as sorted-key JSON and a newline.
    static func line(_ object: [String: Any]) throws -> Data {
        try serialize(stamped(object))
    }

    static func stamped(_ object: [String: Any]) -> [String: Any] {
        var o = object
        o["time"] = timestamp.string(from: Date())
        return o
    }

    static func serialize(_ o: [String: Any]) throws -> Data {
        try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes]) + Data([0x0A])
    }

    /// Appends a line made by `line(_:)`.
    mutating func append(_ data: Data) throws {
        try write(data: data)
        history.add(lines: data)
    }

    private mutating func write(data: Data) throws {
        do { try handle.write(contentsOf: data) } catch {
            throw TrainingError(.io, "cannot append to the log: \(RunFolder.describe(error))", path: path)
        }
        bytes += data.count
    }

    nonisolated(unsafe) static let timestamp = ISO8601DateFormatter()
}
