import ArgumentParser

/// `mtl-train`: trains a multi-task model from a store prepared by `mtl-prep`.
/// Its subcommands arrive with the Training module; today it answers --help and --version.
@main
struct MtlTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mtl-train",
        abstract: "Train a shared-encoder multi-task model from an mtl-prep store.",
        version: "0.1.0"
    )
}
