import ArgumentParser
import Foundation
import Store
import Training

/// `mtl-train eval`: scores a saved checkpoint on a part of its split.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a saved checkpoint (per-task tables; --json for the full reports).")

    @Option(name: .customLong("run"), help: "The run's name.") var runName: String
    @Option(name: .customLong("runs-dir"), help: "Where run folders live.") var runsDir = "runs"
    @Option(help: "best, latest or a step number.") var checkpoint = "best"
    @Option(help: "dev or test.") var part = "dev"
    @Option(help: "Threads.") var threads = 2
    @Flag(help: "Print the evaluation as JSON on standard output.") var json = false

    func run() throws {
        try reportingErrors {
            guard let p = SplitPart(name: part), p != .train else { throw TrainingError(.configuration, "--part must be dev or test (got '\(part)')") }
            let folder = RunFolder(path: runsDir + "/" + runName)
            guard folder.exists else { throw TrainingError(.configuration, "no such run folder (see --runs-dir)", path: folder.path) }
            let e = try SavedRun.evaluate(folder: folder, checkpoint: checkpoint, part: p, threads: threads)
            if json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                Console.out(String(decoding: try enc.encode(e), as: UTF8.self) + "\n")
            } else {
                Console.out(e.table())
            }
        }
    }
}
