import ArgumentParser
import Foundation
import Training

/// `mtl-train report`: writes a run folder's `report.html` (training curves, evaluations, sampling
/// shares, the selected checkpoint's tables, cross-validation folds) on demand. The trainer
/// rewrites the same file after every evaluation and at the end of the run.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a run's report.html: mtl-train report --run NAME [-o FILE].",
        discussion: """
            One self-contained HTML file (inline SVG charts, no network): loss per task and total, learning rate, \
            dev metrics per evaluation with the selected checkpoint marked, realized task and class shares against \
            their targets, the selected checkpoint's per-class / per-type tables and confusion matrices, and for a \
            cross-validation run (cv.json) every fold with mean ± std. --run and --runs-dir are mtl-train's own options.
            """)

    @ParentCommand var root: MtlTrain
    @Option(name: [.short, .customLong("output")], help: "Where to write the page (default: RUNS-DIR/NAME/report.html; - for standard output).")
    var output: String?

    func run() throws {
        try reportingErrors {
            guard let name = root.runName else { throw TrainingError(.configuration, "name the run: mtl-train report --run NAME") }
            let folder = RunFolder(path: root.runsDir + "/" + name)
            guard folder.exists else { throw TrainingError(.configuration, "no such run folder (see --runs-dir)", path: folder.path) }
            let fm = FileManager.default
            guard ["log.jsonl", "config.json", "cv.json"].contains(where: { fm.fileExists(atPath: folder.path + "/" + $0) }) else {
                throw TrainingError(.configuration, "not a run folder: no log.jsonl, config.json or cv.json (train it with mtl-train --run \(name))", path: folder.path)
            }
            if output == "-" {
                Console.out(RunReport.html(folder: folder.path))
                return
            }
            do {
                let path = try RunReport.write(folder: folder.path, to: output)
                Console.error("wrote \(path)")
            } catch {
                throw TrainingError(.io, "cannot write \(output ?? folder.path + "/" + RunReport.fileName): \(error.localizedDescription)")
            }
        }
    }
}
