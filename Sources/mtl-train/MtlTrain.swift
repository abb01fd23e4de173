import ArgumentParser
import Foundation
import Training

/// `mtl-train`: trains a multi-task model from a store prepared by `mtl-prep`, and evaluates
/// saved checkpoints. Argument parsing and printing only; the run lives in `Training`.
@main
struct MtlTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mtl-train",
        abstract: "Train a shared-encoder multi-task model from an mtl-prep store.",
        discussion: """
            Prepare the store first: mtl-prep import …, mtl-prep split --name main …, mtl-prep vocab --name main --split main.
            Then: mtl-train --store mtl.sqlite --run first --epochs 5
            A run writes runs/NAME/: log.jsonl, metrics-STEP.json, checkpoint-STEP/ folders and checkpoints.json.
            Continue a stopped or killed run exactly with: mtl-train --run first --resume
            """,
        version: "0.2.0",
        subcommands: [Train.self, Eval.self],
        defaultSubcommand: Train.self
    )
}

/// Messages to standard error; data to standard output.
enum Console {
    static let isTTY = isatty(2) == 1
    static func error(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
    static func out(_ s: String) { FileHandle.standardOutput.write(Data(s.utf8)) }
}

/// Turns library errors into one-line messages without stack traces.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as TrainingError {
        throw ValidationFailure(e.description)
    }
}

struct ValidationFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

extension ValidationFailure: LocalizedError {
    var errorDescription: String? { description }
}
