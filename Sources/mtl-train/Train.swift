import ArgumentParser
import Batching
import CLIOptions
import Foundation
import Training

/// `mtl-train`: trains a multi-task model from a store prepared by `mtl-prep` (the root command),
/// and `mtl-train eval` scores saved checkpoints. Argument parsing and printing only; the run
/// lives in `Training`.
///
/// Model and training options are optional here on purpose: on `--resume` the run's recorded
/// configuration is the base and only the options given change it (and a change that would
/// make the resumed run a different run is refused unless `--force`). Defaults are in `--help`.
@main
struct MtlTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mtl-train",
        abstract: "Train a shared-encoder multi-task model from an mtl-prep store.",
        discussion: """
            Prepare the store first: mtl-prep import …, mtl-prep split --name main …, mtl-prep vocab --name main --split main.
            Then: mtl-train --store mtl.sqlite --run first --epochs 5
            A run writes RUNS-DIR/NAME/: log.jsonl, metrics-STEP.json, checkpoint-STEP/ folders and checkpoints.json.
            Continue a stopped or killed run exactly: mtl-train --run first --resume
            Evaluate a saved checkpoint: mtl-train eval --run first --checkpoint best --part test
            Cross-validate (one run per fold of a k-fold split, mean ± std): mtl-train cv --split main --run cv1 --epochs 5

            Task weights (--task-weights): equal | static:A=1,B=0.5 | uncertainty (Kendall et al. 2018) | pcgrad (Yu et al. 2020, on the shared layers).
            Selection (--select): mean (of each task's main metric: accuracy, micro-F1, span F1 or token accuracy) | TASK:METRIC | weighted:A=2,B=1.
            Metrics per task: classification accuracy, macro_f1, weighted_f1; multilabel micro_f1, macro_f1, samples_f1, subset_accuracy;
            spans f1, precision, recall, token_accuracy, macro_f1; tagging accuracy, macro_f1; seq2seq sequence_accuracy, sequence_error_rate,
            token_error_rate, bleu, chrf (sacrebleu's defaults); every task: loss.
            On --resume the checkpoint's configuration is the base and only the options given change it.
            """,
        version: "0.2.0",
        subcommands: [CrossValidate.self, Eval.self, Predict.self, Export.self, Report.self])

    // Data
    @Option(help: "A pipeline file (mtl-prep run FILE made its data): its store and train: section are the defaults, the options given here override them; the file is copied into the run folder.") var pipeline: String?
    @Option(help: "The store.") var store: String?
    @Option(help: "The vocabulary (default: the store's only one).") var vocab: String?
    @Option(help: "The split (default: the vocabulary's).") var split: String?
    @Option(help: "The fold of a k-fold split (default: the vocabulary's, else 0).") var fold: Int?
    @Option(name: .customLong("task"), help: "A task to train (repeat; default: every task of the store).") var tasks: [String] = []

    // Run
    @Option(name: .customLong("run"), help: "The run's name: its folder is RUNS-DIR/NAME (default: run-<date>-<time>).") var runName: String?
    @Option(name: .customLong("runs-dir"), help: "Where run folders live.") var runsDir = "runs"
    @Flag(help: "Continue the run from its newest checkpoint that verifies.") var resume = false
    @Flag(help: "With --resume: continue even though the store, vocabulary, split or settings changed (logged).") var force = false

    // Model
    @Option(help: "Embedding size (default 128, or the pretrained vectors' dimension).") var emb: Int?
    @Option(help: "LSTM hidden size per direction (default 128).") var hidden: Int?
    @Option(help: "LSTM layers (default 1).") var layers: Int?
    @Option(help: "Bidirectional encoder: true or false (default true).") var bidirectional: Bool?
    @Option(help: "Dropout on embeddings, between layers, on encoder outputs and in heads (default 0.1).") var dropout: Float?
    @Option(help: "Pooling for sequence-level tasks: last, mean, max or attention (default last).") var pooling: PoolingKind?
    @Option(name: .customLong("attention-size"), help: "Size of the attention pooling's projection (default 64).") var attentionSize: Int?
    @Option(name: .customLong("head-hidden"), help: "Hidden width of each task head, 0 for a linear head (default 32).") var headHidden: Int?
    @Option(name: .customLong("head"), help: "TASK=softmax|crf: a tagging or spans task's output layer (default: crf for spans, softmax for tagging).") var heads: [String] = []
    @Option(help: "Initialise the embeddings with these pretrained vectors (a name given to mtl-prep vocab embed).") var embeddings: String?
    @Flag(name: .customLong("freeze-embeddings"), help: "Do not train the embedding table.") var freezeEmbeddings = false

    @OptionGroup(title: "Decoder (seq2seq tasks)") var decoderOptions: DecoderOptions

    // Data sampling
    @OptionGroup(title: "Batches") var sampling: SamplingOptions

    // Loss
    @Option(name: .customLong("task-weights"), help: "equal, static:A=1,B=0.5, uncertainty or pcgrad (default equal).") var taskWeights: String?
    @Option(name: .customLong("loss"), help: "TASK=focal(γ) | smoothing(ε) | focal(γ)+smoothing(ε) | ce (repeat).") var losses: [String] = []
    @Option(name: .customLong("class-weights"), help: "Loss weights from training label counts: none, inverse, effective or effective(β) (default none).") var classWeights: String?

    // Optimisation
    @Option(help: "adam, adamw or sgd (default adam).") var optimizer: OptimizerKind?
    @Option(help: "Learning rate (default 0.001).") var lr: Float?
    @Option(name: .customLong("weight-decay"), help: "Weight decay (default 0; with adamw 0.01).") var weightDecay: Float?
    @Option(help: "SGD momentum (default 0.9).") var momentum: Float?
    @Option(help: "Learning-rate schedule: constant, linear or cosine (default constant).") var schedule: ScheduleKind?
    @Option(help: "Warm-up steps of linear and cosine schedules (default 0).") var warmup: Int?
    @Option(help: "Clip the global gradient norm to this (0: off; default 5).") var clip: Float?
    @Option(help: "Epochs to train (loader epochs).") var epochs: Int?
    @Option(help: "Steps to train (with --epochs too, the run stops at whichever comes first).") var steps: Int?
    @Option(help: "Seed of weights, dropout and batches (default 0).") var seed: UInt64?
    @Option(help: "Threads (default 2).") var threads: Int?

    // Evaluation and checkpoints
    @Option(name: .customLong("eval-every"), help: "Evaluate and checkpoint every N steps, besides each epoch's end (default 0: epoch ends only).") var evalEvery: Int?
    @Option(name: .customLong("eval-part"), help: "dev or test (default dev).") var evalPart: String?
    @Option(name: .customLong("eval-max-length"), help: "Tokens kept per example in evaluations (default: all).") var evalMaxLength: Int?
    @Option(help: "The aggregate that picks the best checkpoint (default mean).") var select: String?
    @Option(help: "Stop after N evaluations without improvement (default 0: never).") var patience: Int?
    @Option(name: .customLong("keep-last"), help: "Checkpoints kept by recency (default 2).") var keepLast: Int?
    @Option(name: .customLong("keep-best"), help: "Checkpoints kept by the --select aggregate; the best always survives (default 1).") var keepBest: Int?

    @Flag(help: "Print the final summary as JSON on standard output.") var json = false

    func run() throws {
        if let pipeline {
            try reportingErrors { try Self.runPipeline(pipeline) }
            return
        }
        try reportingErrors {
            if resume && runName == nil { throw TrainingError(.configuration, "--resume needs the run's name: mtl-train --run NAME --resume") }
            let name = runName ?? Self.defaultRunName()
            let folder = RunFolder(path: runsDir + "/" + name)
            var saved: RunConfiguration? = nil
            if resume {
                // The base is the configuration of the checkpoint the run continues from, not the
                // folder's config.json (a forced resume killed before its first checkpoint rewrote that).
                guard folder.exists else { throw TrainingError(.configuration, "no such run folder to resume (see --runs-dir)", path: folder.path) }
                guard let step = folder.newestVerifiedCheckpoint().step,
                      let d = FileManager.default.contents(atPath: folder.checkpointPath(step: step) + "/config.json"),
                      let c = try? JSONDecoder().decode(RunConfiguration.self, from: d) else {
                    throw TrainingError(.checkpoint, "no checkpoint that verifies to resume from: start the run without --resume (move the checkpoint-* folders aside first)", path: folder.path)
                }
                saved = c
            }
            let (modelConfig, trainingConfig, pretrained) = try resolve(saved: saved)
            let observer = ConsoleObserver()
            let trainer = try Trainer(model: modelConfig, training: trainingConfig, folder: folder, resume: resume, force: force,
                                      observer: observer, pretrained: pretrained)
            let summary = try trainer.run()
            observer.finish()
            if json {
                let e = JSONEncoder()
                e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                Console.out(String(decoding: try e.encode(summary), as: UTF8.self) + "\n")
            } else {
                var s = "\(summary.run): \(summary.steps) steps, \(summary.epochs) epochs, \(summary.examples) examples, "
                s += String(format: "%.1f s (%.0f examples/s), stopped by %@\n", summary.seconds, summary.examplesPerSecond, summary.stopReason)
                if let best = summary.best {
                    s += "best: checkpoint-\(best.step)\n" + best.table()
                }
                Console.out(s)
            }
        }
    }

    static func defaultRunName() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        return "run-" + f.string(from: Date())
    }

    /// The run's configuration: the saved one (on resume) or the defaults, with the options given applied.
    /// `fresh`: a new run from `saved` as a template (a cross-validation fold), which loads pretrained vectors.
    /// `--pipeline FILE`: the file's store and `train:` section as arguments, then the command line
    /// (whose options come later and so win), parsed by this command's own parser.
    static func runPipeline(_ path: String) throws {
        let file: PipelineFile
        do { file = try PipelineFile(path: path) } catch let p as PipelineFile.Problem { throw TrainingError(.configuration, p.description) }
        let options = PipelineFile.options(help: MtlTrain.helpMessage())
        var args: [String] = []
        if let store = file.store { args += ["--store", store] }
        do {
            args += try file.arguments(file.train, name: "train", options: options, reserved: ["pipeline", "store"])
        } catch let p as PipelineFile.Problem {
            throw TrainingError(.configuration, p.description)
        }
        // The command line without the --pipeline option itself.
        var given = Array(CommandLine.arguments.dropFirst())
        if let i = given.firstIndex(where: { $0 == "--pipeline" }) { given.removeSubrange(i...min(i + 1, given.count - 1)) }
        given.removeAll { $0.hasPrefix("--pipeline=") }
        let command: MtlTrain
        do { command = try MtlTrain.parse(args + given) } catch {
            let message = MtlTrain.message(for: error)
            throw TrainingError(.configuration, "\(file.location(of: message, in: file.train, name: "train")): \(message)")
        }
        try command.run()
        // The pipeline is part of the run's record.
        let folder = command.runsDir + "/" + (command.runName ?? "")
        if command.runName != nil, FileManager.default.fileExists(atPath: folder) {
            try? FileManager.default.removeItem(atPath: folder + "/pipeline.yaml")
            try file.contents.write(toFile: folder + "/pipeline.yaml", atomically: true, encoding: .utf8)
        }
    }

    func resolve(saved: RunConfiguration?, fresh: Bool = false) throws -> (ModelConfig, TrainingConfig, [Float]?) {
        let storePath = store ?? saved?.training.store ?? "mtl.sqlite"
        var headChoices: [String: HeadKind] = [:]
        for h in heads {
            let kv = h.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, let k = HeadKind(rawValue: kv[1]) else { throw TrainingError(.configuration, "--head must be TASK=softmax or TASK=crf (got '\(h)')") }
            headChoices[kv[0]] = k
        }
        if let saved {
            let kept = tasks.isEmpty ? saved.training.tasks : tasks
            for t in saved.model.tasks where headChoices[t.name] == nil && kept.contains(t.name) { headChoices[t.name] = t.head }
        }
        let plan = try RunPlan(store: storePath, vocabulary: vocab ?? saved?.training.vocabulary, split: split ?? saved?.training.split,
                               fold: fold ?? saved?.training.fold, tasks: tasks.isEmpty ? saved?.training.tasks : tasks, heads: headChoices)
        let taskNames = plan.tasks.map(\.name)

        var m = saved?.model ?? ModelConfig(vocabularySize: plan.vocabularySize, padID: plan.padID, tasks: plan.tasks)
        m.vocabularySize = plan.vocabularySize; m.padID = plan.padID; m.tasks = plan.tasks
        var pretrained: [Float]? = nil
        if let name = embeddings ?? saved?.model.embeddings {
            let e = try plan.embeddings(named: name)
            if let emb, emb != e.dim { throw TrainingError(.configuration, "--emb \(emb) differs from the dimension \(e.dim) of --embeddings \(name)") }
            m.embeddingSize = e.dim
            m.embeddings = name
            pretrained = saved == nil || fresh ? e.matrix : nil   // a resume restores the trained table
        }
        if let emb { m.embeddingSize = emb }
        if let hidden { m.hiddenSize = hidden }
        if let layers { m.layers = layers }
        if let bidirectional { m.bidirectional = bidirectional }
        if let dropout { m.dropout = dropout }
        if let pooling { m.pooling = pooling }
        if let attentionSize { m.attentionSize = attentionSize }
        if let headHidden { m.headHidden = headHidden }
        if freezeEmbeddings { m.freezeEmbeddings = true }
        if let seed { m.seed = seed }
        try decoderOptions.apply(to: &m)

        let loader = try sampling.loaderConfig(taskNames: taskNames, seed: seed ?? saved?.training.seed ?? 0,
                                               base: saved?.training.loader ?? LoaderConfig())
        var t = saved?.training ?? TrainingConfig(store: storePath, vocabulary: plan.vocabulary, split: plan.split, fold: plan.fold, tasks: taskNames, loader: loader)
        t.store = storePath; t.vocabulary = plan.vocabulary; t.split = plan.split; t.fold = plan.fold; t.tasks = taskNames
        t.loader = loader
        if let s = taskWeights { t.taskWeights = try TaskWeightingSpec(parsing: s, tasks: taskNames) }
        for l in losses {
            let kv = l.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { throw TrainingError(.configuration, "--loss must be TASK=SPEC (got '\(l)')") }
            t.losses[kv[0]] = try TrainingConfig.parseLoss(kv[1])
        }
        if let s = classWeights { t.classWeights = try ClassWeighting(parsing: s) }
        if let optimizer { t.optimizer = optimizer }
        if let lr { t.learningRate = lr }
        if let weightDecay { t.weightDecay = weightDecay } else if saved == nil && t.optimizer == .adamw { t.weightDecay = 0.01 }
        if let momentum { t.momentum = momentum }
        if let schedule { t.schedule = schedule }
        if let warmup { t.warmup = warmup }
        if let clip { t.clip = clip }
        if saved == nil {
            t.epochs = epochs; t.steps = steps
        } else {
            // On resume a bound not given keeps its recorded value.
            if let epochs { t.epochs = epochs }
            if let steps { t.steps = steps }
        }
        if saved == nil && t.epochs == nil && t.steps == nil { t.epochs = 1 }
        if let seed { t.seed = seed }
        if let threads { t.threads = threads }
        if let evalEvery { t.evalEvery = evalEvery }
        if let evalPart { t.evalPart = evalPart }
        if let evalMaxLength { t.evalMaxLength = evalMaxLength }
        if let select { t.select = select }
        if let patience { t.patience = patience }
        if let keepLast { t.keepLast = keepLast }
        if let keepBest { t.keepBest = keepBest }
        t.loader.seed = t.seed
        m.seed = t.seed
        return (m, t, pretrained)
    }

}

/// Prints progress (on a terminal only) and evaluations to standard error.
final class ConsoleObserver: TrainingObserver {
    private var progressShown = false
    private var started: (time: Date, step: Int)?

    func message(_ text: String) {
        clearProgress()
        Console.error(text)
    }

    func progress(step: Int, totalSteps: Int?, epoch: Int, examplesPerSecond: Double, losses: [String: Float]) {
        guard Console.isTTY else { return }
        var s = "\rstep \(step)" + (totalSteps.map { "/\($0)" } ?? "") + " epoch \(epoch) " + String(format: "%.0f ex/s", examplesPerSecond)
        for k in losses.keys.sorted() { s += String(format: "  %@ %.4f", k, losses[k]!) }
        if started == nil { started = (Date(), step) }
        if let total = totalSteps, let (t0, s0) = started, step > s0, total > step {
            let left = Int(Date().timeIntervalSince(t0) / Double(step - s0) * Double(total - step))
            s += String(format: "  ETA %d:%02d", left / 60, left % 60)
        }
        FileHandle.standardError.write(Data((s + "\u{1B}[K").utf8))
        progressShown = true
    }

    func evaluated(_ evaluation: Evaluation, isBest: Bool) {
        clearProgress()
        let main = evaluation.tasks.map { String(format: "%@ %@ %.4f", $0.task, $0.mainMetric, $0.main) }.joined(separator: ", ")
        Console.error("step \(evaluation.step): \(evaluation.part) \(main); \(evaluation.select) \(String(format: "%.4f", evaluation.aggregate))\(isBest ? " (best)" : "")")
    }

    func finish() { clearProgress() }

    private func clearProgress() {
        if progressShown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)); progressShown = false }
    }
}

extension PoolingKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension ScheduleKind: ExpressibleByArgument {}
