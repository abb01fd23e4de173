import ArgumentParser
import Foundation
import Store
import Training

/// `mtl-train eval`: scores a saved checkpoint on a part of its split. The run, its folder, the
/// thread count and `--json` are the root command's options (one declaration for both).
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a saved checkpoint: mtl-train eval --run NAME [--checkpoint best|latest|STEP] [--part dev|test] [--json].",
        discussion: "--run, --runs-dir, --threads and --json are mtl-train's own options (see mtl-train --help); they may follow 'eval'.")

    @ParentCommand var root: MtlTrain
    @Option(help: "best, latest or a step number.") var checkpoint = "best"
    @Option(help: "dev or test.") var part = "dev"

    func run() throws {
        try reportingErrors {
            guard let p = SplitPart(name: part), p != .train else { throw TrainingError(.configuration, "--part must be dev or test (got '\(part)')") }
            guard let name = root.runName else { throw TrainingError(.configuration, "name the run to evaluate: mtl-train eval --run NAME") }
            let folder = RunFolder(path: root.runsDir + "/" + name)
            guard folder.exists else { throw TrainingError(.configuration, "no such run folder (see --runs-dir)", path: folder.path) }
            let e = try SavedRun.evaluate(folder: folder, checkpoint: checkpoint, part: p, threads: root.threads ?? 2)
            if root.json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                Console.out(String(decoding: try enc.encode(e), as: UTF8.self) + "\n")
            } else {
                Console.out(e.table())
            }
        }
    }
}
