import ArgumentParser

/// `mtl-prep`: turns raw corpora into a store of tokenized, labelled examples.
@main
struct MtlPrep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mtl-prep",
        abstract: "Prepare corpora for multi-task training: tokenize, import, build vocabularies and splits.",
        version: ToolVersion.string,
        subcommands: [Tokenize.self, Import.self, Split.self, VocabCommand.self, Sample.self, Stats.self, Show.self, RunPipeline.self]
    )
}

enum ToolVersion {
    static let string = "0.1.0"
}
