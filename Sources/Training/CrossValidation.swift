import Foundation
import Store

/// K-fold cross-validation (`mtl-train cv`): one run per fold and setting with the same settings,
/// each evaluated on its fold's dev part, summarised as mean ± standard deviation over folds; with
/// a grid of static task weights, the seed documents' procedure for choosing αᵢ in Σ αᵢ Lᵢ.
///
/// The CV folder `runs/NAME/` holds `cv.json` (this record, replaced whole after every fold) and one
/// ordinary run folder per fold: `fold-K`, or `setting-I/fold-K` with a grid. A killed CV resumes
/// with the fold it was on (that fold's own checkpoints), skipping folds whose results are recorded.
public struct CrossValidationRecord: Sendable, Codable, Equatable {
    public var kind = "cv"
    public var split: String
    public var folds: [Int]
    /// The vocabulary of each fold (built on that fold's training part), as `fold → name`.
    public var vocabularies: [String: String]
    public var select: String
    public var complete: Bool
    public var settings: [SettingResult]
    /// Index into `settings` of the best `aggregateMean` (the first of equals); nil until complete.
    public var winner: Int?
    /// The configuration folds start from (fold, vocabulary and task weights set per run), so that
    /// `--resume` starts the folds not yet begun exactly as the first ones were.
    public var template: RunConfiguration?

    public init(split: String, folds: [Int], vocabularies: [Int: String], select: String, settings: [CVSetting]) {
        self.split = split
        self.folds = folds
        self.vocabularies = Dictionary(uniqueKeysWithValues: vocabularies.map { (String($0.key), $0.value) })
        self.select = select
        complete = false
        self.settings = settings.map { SettingResult(name: $0.name, taskWeights: $0.taskWeights) }
    }

    public func vocabulary(fold: Int) -> String? { vocabularies[String(fold)] }

    /// One grid setting's folds and their summary.
    public struct SettingResult: Sendable, Codable, Equatable {
        public var name: String
        public var taskWeights: [String: Double]?
        public var folds: [FoldResult] = []
        /// Per task, per metric: the mean and the standard deviation (n − 1) over the folds done.
        public var mean: [String: [String: Double]] = [:]
        public var std: [String: [String: Double]] = [:]
        public var aggregateMean: Double?
        public var aggregateStd: Double?

        public var setting: CVSetting { CVSetting(name: name, taskWeights: taskWeights) }

        mutating func summarize() {
            mean = [:]; std = [:]
            let tasks = Set(folds.flatMap { $0.metrics.keys })
            for task in tasks {
                let names = Set(folds.flatMap { $0.metrics[task]?.keys.map { $0 } ?? [] })
                for m in names {
                    let xs = folds.compactMap { $0.metrics[task]?[m] }
                    mean[task, default: [:]][m] = CrossValidation.mean(xs)
                    std[task, default: [:]][m] = CrossValidation.standardDeviation(xs)
                }
            }
            let a = folds.map(\.aggregate)
            aggregateMean = a.isEmpty ? nil : CrossValidation.mean(a)
            aggregateStd = a.isEmpty ? nil : CrossValidation.standardDeviation(a)
        }
    }

    /// A fold's result: its best checkpoint (by `--select`) evaluated on the fold's dev part.
    public struct FoldResult: Sendable, Codable, Equatable {
        public var fold: Int
        /// The fold's run folder, relative to the CV folder.
        public var run: String
        public var step: Int
        public var aggregate: Double
        public var metrics: [String: [String: Double]]
    }

    mutating func record(_ result: FoldResult, setting: Int) {
        settings[setting].folds.removeAll { $0.fold == result.fold }
        settings[setting].folds.append(result)
        settings[setting].folds.sort { $0.fold < $1.fold }
        settings[setting].summarize()
        complete = settings.allSatisfy { $0.folds.count == folds.count }
        winner = complete ? CrossValidation.winner(settings.map { $0.aggregateMean ?? -.infinity }) : nil
    }
}

/// A grid point: static task weights (nil: the run's own `--task-weights`).
public struct CVSetting: Sendable, Codable, Equatable {
    public var name: String
    public var taskWeights: [String: Double]?

    public var weightingSpec: TaskWeightingSpec? {
        taskWeights.map { .weights($0.mapValues(Float.init)) }
    }
}

public enum CrossValidation {
    public static let recordName = "cv.json"

    /// The grid of `--task-weights-grid A=0.5,1,2 B=1`: every combination, in the order the values
    /// are given (the first task varying slowest). Tasks left out weigh 1.
    public static func grid(_ items: [String], tasks: [String]) throws(TrainingError) -> [CVSetting] {
        guard !items.isEmpty else { return [CVSetting(name: "default", taskWeights: nil)] }
        var axes: [(String, [Double])] = []
        for item in items {
            let kv = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, !kv[1].isEmpty else {
                throw TrainingError(.configuration, "--task-weights-grid: '\(item)' is not TASK=W1,W2,…")
            }
            guard tasks.contains(kv[0]) else {
                throw TrainingError(.configuration, "--task-weights-grid names '\(kv[0])', which is not a task of this run (\(tasks.joined(separator: ", ")))")
            }
            guard !axes.contains(where: { $0.0 == kv[0] }) else {
                throw TrainingError(.configuration, "--task-weights-grid names '\(kv[0])' twice")
            }
            var values: [Double] = []
            for v in kv[1].split(separator: ",") {
                guard let x = Double(v.trimmingCharacters(in: .whitespaces)), x >= 0, x.isFinite else {
                    throw TrainingError(.configuration, "--task-weights-grid \(kv[0]): '\(v)' is not a finite weight ≥ 0")
                }
                if !values.contains(x) { values.append(x) }
            }
            axes.append((kv[0], values))
        }
        var points: [[String: Double]] = [[:]]
        for (task, values) in axes {
            points = points.flatMap { p in values.map { v in p.merging([task: v]) { $1 } } }
        }
        let settings = points.map { p -> CVSetting in
            var full = p
            for t in tasks where full[t] == nil { full[t] = 1 }
            let name = tasks.map { "\($0)=\(format(full[$0]!))" }.joined(separator: ",")
            return CVSetting(name: name, taskWeights: full)
        }
        if settings.count > 1, settings.allSatisfy({ $0.taskWeights!.values.allSatisfy { $0 == 0 } }) {
            throw TrainingError(.configuration, "--task-weights-grid: every setting weighs every task 0")
        }
        return settings
    }

    /// The vocabulary of every fold: `pattern` with `{fold}` replaced, or else the store's only
    /// vocabulary built on that fold of `split`. Missing ones are named with the command that builds them.
    public static func vocabularies(store path: String, split: String, folds: [Int]?, pattern: String?) throws(TrainingError) -> (folds: [Int], names: [Int: String]) {
        let db: ExampleStore
        do { db = try ExampleStore(path: path, readOnly: true) } catch {
            throw TrainingError(.data, "\(error)", path: path)
        }
        let record: SplitRecord
        let vocabularies: [VocabularyRecord]
        do {
            guard let s = try db.split(named: split) else {
                let have = try db.splits().map(\.name)
                throw TrainingError(.configuration, "no split '\(split)' in the store (have: \(have.isEmpty ? "none" : have.joined(separator: ", "))); make one with mtl-prep split --name \(split) --kfold 5")
            }
            record = s
            vocabularies = try db.vocabularies()
        } catch let e as TrainingError { throw e } catch {
            throw TrainingError(.data, "\(error)", path: path)
        }
        guard record.kind == .kfold else {
            throw TrainingError(.configuration, "split '\(split)' is a ratio split: cross-validation needs a k-fold split (mtl-prep split --name NAME --kfold K)")
        }
        let chosen = folds ?? Array(0..<record.folds)
        for k in chosen where !(0..<record.folds).contains(k) {
            throw TrainingError(.configuration, "--folds: split '\(split)' has folds 0…\(record.folds - 1), not \(k)")
        }
        var names: [Int: String] = [:]
        var missing: [Int] = []
        for k in chosen {
            if let pattern {
                let name = pattern.replacingOccurrences(of: "{fold}", with: String(k))
                guard let v = vocabularies.first(where: { $0.name == name }) else { missing.append(k); continue }
                guard v.splitID == record.id, v.fold == k else {
                    throw TrainingError(.configuration, "--vocab \(pattern): vocabulary '\(name)' was not built on split '\(split)' fold \(k), so its tokens would leak fold \(k)'s held-out text (use a pattern with {fold}, e.g. --vocab \(split)-f{fold})")
                }
                names[k] = name
            } else {
                let found = vocabularies.filter { $0.splitID == record.id && $0.fold == k }
                if found.count > 1 {
                    throw TrainingError(.configuration, "fold \(k) of split '\(split)' has \(found.count) vocabularies (\(found.map(\.name).joined(separator: ", "))): choose with --vocab NAME-{fold}")
                }
                if let v = found.first { names[k] = v.name } else { missing.append(k) }
            }
        }
        if !missing.isEmpty {
            let base = pattern ?? "\(split)-f{fold}"
            let commands = missing.map { "mtl-prep vocab --name \(base.replacingOccurrences(of: "{fold}", with: String($0))) --split \(split) --fold \($0)" }
            throw TrainingError(.configuration, "cross-validation needs a vocabulary built on each fold's training part; missing for fold\(missing.count > 1 ? "s" : "") \(missing.map(String.init).joined(separator: ", ")):\n  " + commands.joined(separator: "\n  "))
        }
        return (chosen, names)
    }

    /// The run folder of one setting and fold, relative to the CV folder.
    public static func runPath(setting: Int, settings: Int, fold: Int) -> String {
        settings > 1 ? "setting-\(setting + 1)/fold-\(fold)" : "fold-\(fold)"
    }

    /// Reads a finished fold's result from its run folder: the best checkpoint's evaluation.
    public static func foldResult(folder: RunFolder, fold: Int, relativePath: String) throws(TrainingError) -> CrossValidationRecord.FoldResult {
        let step = try SavedRun.checkpointStep("best", folder: folder)
        let path = folder.path + "/metrics-\(step).json"
        guard let d = FileManager.default.contents(atPath: path), let e = try? JSONDecoder().decode(Evaluation.self, from: d) else {
            throw TrainingError(.checkpoint, "cannot read the evaluation of the best checkpoint (metrics-\(step).json)", path: folder.path)
        }
        var metrics: [String: [String: Double]] = [:]
        for t in e.tasks { metrics[t.task] = t.metrics }
        return .init(fold: fold, run: relativePath, step: step, aggregate: e.aggregate, metrics: metrics)
    }

    public static func read(_ folder: RunFolder) throws(TrainingError) -> CrossValidationRecord? {
        let path = folder.path + "/" + recordName
        guard let d = FileManager.default.contents(atPath: path) else { return nil }
        do { return try JSONDecoder().decode(CrossValidationRecord.self, from: d) } catch {
            throw TrainingError(.checkpoint, "\(recordName) is not what this program writes: \(error)", path: folder.path)
        }
    }

    public static func write(_ record: CrossValidationRecord, to folder: RunFolder) throws(TrainingError) {
        do { try RunFolder.writeDurably(RunFolder.json(record), to: folder.path + "/" + recordName) } catch {
            throw TrainingError(.checkpoint, "cannot write \(recordName): \(RunFolder.describe(error))", path: folder.path)
        }
    }

    static func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }

    /// The sample standard deviation (n − 1, as pandas' `std`; numpy's default `std` divides by n). 0 for one value.
    static func standardDeviation(_ xs: [Double]) -> Double {
        guard xs.count > 1 else { return 0 }
        let m = mean(xs)
        return (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count - 1)).squareRoot()
    }

    static func winner(_ means: [Double]) -> Int? {
        guard !means.isEmpty else { return nil }
        var best = 0
        for i in means.indices where means[i] > means[best] { best = i }
        return best
    }

    static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e9 ? String(Int(x)) : String(x)
    }
}

extension CrossValidationRecord {
    /// Per setting: each task's metrics as mean ± std with the per-fold values, the aggregate, and the winner.
    public func table() -> String {
        func f(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "-" }
        var s = "cross-validation on split '\(split)', folds \(folds.map(String.init).joined(separator: ", ")), selected by \(select)\n"
        for (i, setting) in settings.enumerated() {
            s += "\n" + (settings.count > 1 ? "setting \(i + 1): task weights \(setting.name)" : "setting: \(setting.name)")
            s += winner == i && settings.count > 1 ? "  ← best mean\n" : "\n"
            let header = ["task", "metric", "mean", "std"] + setting.folds.map { "fold \($0.fold)" }
            var rows: [[String]] = [header]
            for task in setting.mean.keys.sorted() {
                for metric in setting.mean[task]!.keys.sorted() {
                    rows.append([task, metric, f(setting.mean[task]?[metric]), f(setting.std[task]?[metric])] + setting.folds.map { f($0.metrics[task]?[metric]) })
                }
            }
            rows.append(["aggregate", select, f(setting.aggregateMean), f(setting.aggregateStd)] + setting.folds.map { f($0.aggregate) })
            let widths = header.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
            for r in rows {
                s += "  " + r.enumerated().map { c, v in c < 2 ? v.padding(toLength: widths[c], withPad: " ", startingAt: 0) : String(repeating: " ", count: widths[c] - v.count) + v }.joined(separator: "  ") + "\n"
            }
        }
        if let w = winner, settings.count > 1 {
            s += "\nbest setting: \(settings[w].name) (\(select) \(f(settings[w].aggregateMean)) ± \(f(settings[w].aggregateStd)))\n"
        }
        return s
    }
}

/// Runs the folds of a cross-validation one after another (or `parallel` at a time, each on one
/// thread), recording each fold's result in `cv.json` as soon as it finishes.
public final class CrossValidationRun: @unchecked Sendable {
    /// The configuration of one setting's fold: `base` is the configuration to start from (the
    /// fold's own checkpoint when it resumes, else the CV's template, nil for the very first fold).
    public typealias Configure = (_ setting: CVSetting, _ fold: Int, _ vocabulary: String, _ base: RunConfiguration?, _ resuming: Bool)
        throws -> (model: ModelConfig, training: TrainingConfig, pretrained: [Float]?)

    public let folder: RunFolder
    /// Guarded by `lock` while folds run in parallel.
    public private(set) var record: CrossValidationRecord
    private let lock = NSLock()
    private var reportWarned = false

    public init(folder: RunFolder, record: CrossValidationRecord) {
        self.folder = folder
        self.record = record
    }

    /// One fold run still to do.
    public struct Job: Sendable {
        public var setting: Int
        public var fold: Int
        public var path: String
    }

    public var pendingJobs: [Job] {
        var jobs: [Job] = []
        for (i, s) in record.settings.enumerated() {
            for k in record.folds where !s.folds.contains(where: { $0.fold == k }) {
                jobs.append(Job(setting: i, fold: k, path: CrossValidation.runPath(setting: i, settings: record.settings.count, fold: k)))
            }
        }
        return jobs
    }

    /// Trains every pending fold. Configurations are resolved first, in order, on the calling
    /// thread (the first fixes the template the others start from); `observer` gives each job's
    /// observer. With `parallel` > 1, that many folds train at once, each on one thread.
    public func run(force: Bool, parallel: Int = 1, configure: Configure, observer: (Job) -> TrainingObserver?) throws -> CrossValidationRecord {
        try folder.create()
        var prepared: [Prepared] = []
        for job in pendingJobs {
            guard let vocabulary = record.vocabulary(fold: job.fold) else {
                throw TrainingError(.configuration, "\(CrossValidation.recordName) names no vocabulary for fold \(job.fold)", path: folder.path)
            }
            let sub = RunFolder(path: folder.path + "/" + job.path)
            var base = record.template
            var resuming = false
            if let step = sub.newestVerifiedCheckpoint().step,
               let d = FileManager.default.contents(atPath: sub.checkpointPath(step: step) + "/config.json"),
               let saved = try? JSONDecoder().decode(RunConfiguration.self, from: d) {
                base = saved
                resuming = true
            }
            var (model, training, pretrained) = try configure(record.settings[job.setting].setting, job.fold, vocabulary, base, resuming)
            if parallel > 1 { training.threads = 1 }
            if record.template == nil { record.template = RunConfiguration(model: model, training: training) }
            prepared.append(Prepared(job: job, folder: sub, model: model, training: training, pretrained: pretrained, resuming: resuming,
                                     observer: Unchecked(observer(job))))
        }
        try CrossValidation.write(record, to: folder)
        if parallel <= 1 || prepared.count <= 1 {
            for p in prepared { try train(p, force: force) }
            return record
        }
        let jobs = prepared
        let failures = FirstError()
        let next = Counter()
        let done = DispatchGroup()
        for _ in 0..<min(parallel, prepared.count) {
            done.enter()
            let worker = Thread { [self] in
                while failures.error == nil, let i = next.take(below: jobs.count) {
                    do { try train(jobs[i], force: force) } catch { failures.set(error) }
                }
                done.leave()
            }
            worker.stackSize = 8 << 20
            worker.start()
        }
        done.wait()
        if let e = failures.error { throw e }
        return lock.withLock { record }
    }

    private struct Prepared: Sendable {
        var job: Job
        var folder: RunFolder
        var model: ModelConfig
        var training: TrainingConfig
        var pretrained: [Float]?
        var resuming: Bool
        var observer: Unchecked<TrainingObserver?>
    }

    private func train(_ p: Prepared, force: Bool) throws {
        let trainer = try Trainer(model: p.model, training: p.training, folder: p.folder, resume: p.resuming, force: force,
                                  observer: p.observer.value, pretrained: p.pretrained)
        _ = try trainer.run()
        let result = try CrossValidation.foldResult(folder: p.folder, fold: p.job.fold, relativePath: p.job.path)
        try lock.withLock {
            record.record(result, setting: p.job.setting)
            try CrossValidation.write(record, to: folder)
            // The CV folder's own report (folds, mean ± std, the winner); like a run's, it never stops the work.
            if (try? RunReport.write(folder: folder.path, to: nil)) == nil, !reportWarned {
                reportWarned = true
                p.observer.value?.message("could not write \(folder.path)/\(RunReport.fileName)")
            }
        }
    }
}

/// Observers are used by one fold's thread only.
private struct Unchecked<T>: @unchecked Sendable { let value: T; init(_ v: T) { value = v } }

private final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var first: Error?
    var error: Error? { lock.withLock { first } }
    func set(_ e: Error) { lock.withLock { if first == nil { first = e } } }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func take(below n: Int) -> Int? { lock.withLock { defer { value += 1 }; return value < n ? value : nil } }
}
