import ArgumentParser
import Foundation
import Training

/// `mtl-train cv`: k-fold cross-validation, optionally over a grid of static task weights.
struct CrossValidate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cv",
        abstract: "Cross-validate: train one model per fold of a k-fold split, report every task's metrics as mean ± std over folds.",
        discussion: """
            Every option of mtl-train applies to every fold (they may follow 'cv'). Each fold trains on the other folds' \
            examples and is evaluated on its own (the dev part of that fold), with its best checkpoint by --select. Each fold \
            needs a vocabulary built on its training part (mtl-prep vocab --name main-f0 --split main --fold 0, and so on), \
            found by split and fold, or named by --vocab with {fold} in it (--vocab main-f{fold}).

            --task-weights-grid A=0.5,1,2 B=1 repeats the cross-validation for every combination of static task weights \
            (tasks not named weigh 1) and reports the setting with the best mean aggregate: the procedure for choosing αᵢ \
            in Σ αᵢ Lᵢ.

            The CV folder RUNS-DIR/NAME holds cv.json (per fold and setting: the metrics, their mean and std, the winner), \
            report.html, and one run folder per fold (fold-K, or setting-I/fold-K with a grid). A stopped or killed CV \
            continues with --resume.

            Example: mtl-train cv --store demo.sqlite --split main --run cv1 --epochs 5 --task-weights-grid topic=0.5,1,2
            """)

    @ParentCommand var root: MtlTrain
    @Option(help: "Only these folds (comma-separated; default: every fold of the split).") var folds: String?
    @Option(name: .customLong("task-weights-grid"), parsing: .upToNextOption,
            help: "TASK=W1,W2,… (one or more): cross-validate every combination of static task weights.")
    var grid: [String] = []
    @Flag(name: .customLong("parallel-folds"), help: "Train --threads folds at once, each on one thread (default: one after another with --threads).")
    var parallelFolds = false

    func run() throws {
        try reportingErrors {
            guard let name = root.runName else { throw TrainingError(.configuration, "name the CV run: mtl-train cv --run NAME --split SPLIT …") }
            if root.fold != nil { throw TrainingError(.configuration, "--fold does not apply to cv: every fold trains (choose some with --folds 0,2)") }
            let folder = RunFolder(path: root.runsDir + "/" + name)
            var record: CrossValidationRecord
            if root.resume {
                guard let saved = try CrossValidation.read(folder) else {
                    throw TrainingError(.configuration, "no cross-validation to resume here (no \(CrossValidation.recordName))", path: folder.path)
                }
                if !grid.isEmpty || folds != nil || root.split != nil {
                    throw TrainingError(.configuration, "--resume continues the recorded folds, splits and grid; leave out --split, --folds and --task-weights-grid")
                }
                record = saved
            } else {
                if folder.exists, (try? FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty) == false {
                    throw TrainingError(.configuration, "the folder already exists: continue it with --resume, or choose another --run", path: folder.path)
                }
                guard let split = root.split else { throw TrainingError(.configuration, "name the k-fold split: mtl-train cv --split NAME") }
                let storePath = root.store ?? "mtl.sqlite"
                var chosen: [Int]? = nil
                if let folds {
                    chosen = try folds.split(separator: ",").map {
                        guard let k = Int($0.trimmingCharacters(in: .whitespaces)) else { throw TrainingError(.configuration, "--folds must be fold numbers separated by commas (got '\(folds)')") }
                        return k
                    }
                }
                let (foldList, vocabularies) = try CrossValidation.vocabularies(store: storePath, split: split, folds: chosen, pattern: root.vocab)
                // The tasks of the run, for checking the grid's names: resolve the first fold as it will train.
                var first = root
                first.fold = foldList[0]; first.vocab = vocabularies[foldList[0]]
                let (_, t, _) = try first.resolve(saved: nil)
                let settings = try CrossValidation.grid(grid, tasks: t.tasks)
                if !grid.isEmpty, root.taskWeights != nil {
                    throw TrainingError(.configuration, "--task-weights and --task-weights-grid both set the task weights: give one")
                }
                record = CrossValidationRecord(split: split, folds: foldList, vocabularies: vocabularies, select: t.select, settings: settings)
            }
            let cv = CrossValidationRun(folder: folder, record: record)
            let parallel = parallelFolds ? max(1, root.threads ?? 2) : 1
            let settingsCount = record.settings.count
            let result = try cv.run(force: root.force, parallel: parallel, configure: { setting, fold, vocabulary, base, resuming in
                var r = root
                r.fold = fold; r.vocab = vocabulary; r.split = record.split
                if let spec = setting.weightingSpec { r.taskWeights = spec.name }
                return try r.resolve(saved: base, fresh: !resuming)
            }, observer: { job in
                let label = settingsCount > 1 ? "setting \(job.setting + 1) fold \(job.fold)" : "fold \(job.fold)"
                return FoldObserver(label: label, showProgress: parallel == 1)
            })
            if root.json {
                let e = JSONEncoder()
                e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                var summary = result
                summary.template = nil
                Console.out(String(decoding: try e.encode(summary), as: UTF8.self) + "\n")
            } else {
                Console.out(result.table())
            }
            Console.error("\(folder.path): \(CrossValidation.recordName) and one run folder per fold")
        }
    }
}

/// Console output of one fold, each line prefixed with the fold.
final class FoldObserver: TrainingObserver {
    let label: String
    let console = ConsoleObserver()
    let showProgress: Bool
    init(label: String, showProgress: Bool) { self.label = label; self.showProgress = showProgress }
    func message(_ text: String) { console.message("\(label): \(text)") }
    func progress(step: Int, totalSteps: Int?, epoch: Int, examplesPerSecond: Double, losses: [String: Float]) {
        if showProgress { console.progress(step: step, totalSteps: totalSteps, epoch: epoch, examplesPerSecond: examplesPerSecond, losses: losses) }
    }
    func evaluated(_ evaluation: Evaluation, isBest: Bool) {
        console.finish()
        let main = evaluation.tasks.map { String(format: "%@ %@ %.4f", $0.task, $0.mainMetric, $0.main) }.joined(separator: ", ")
        Console.error("\(label) step \(evaluation.step): \(evaluation.part) \(main); \(evaluation.select) \(String(format: "%.4f", evaluation.aggregate))\(isBest ? " (best)" : "")")
    }
}
