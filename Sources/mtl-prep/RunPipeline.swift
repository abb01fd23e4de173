import ArgumentParser
import CLIOptions
import CorpusImport
import Foundation
import Splits
import Store
import Vocab

/// `mtl-prep run PIPELINE`: the data stages of a pipeline file — every source imported, the split
/// and the vocabulary made — skipping what the store already holds by the same identity rules
/// as the commands themselves (a source with the same content, mapping and pipeline; a split or
/// vocabulary of the same name made with the same settings over the same examples).
///
/// Everything is checked before any work starts: the file's keys (against the commands' own
/// options), every mapping, every source file's presence, the flags' values.
struct RunPipeline: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline file's data stages: import its sources, make its split and vocabulary (what the store holds already is kept).",
        discussion: """
            A pipeline file (YAML) describes a whole job: store, text pipeline, sources with their mappings, split, \
            vocab and train sections; then mtl-train --pipeline FILE trains. The split, vocab and train sections take \
            the long options of mtl-prep split, mtl-prep vocab build and mtl-train as keys. See docs/pipelines.md, \
            or --keys for every key this program knows.
            """)

    @Argument(help: "The pipeline file.") var pipeline: String?
    @Option(help: "The store (default: the file's store:, else mtl.sqlite).") var store: String?
    @Flag(help: "Remake a split or vocabulary whose settings (or examples) changed since it was made (default: an error).") var replace = false
    @Flag(help: "Check the file and say what would run, without running it.") var check = false
    @Flag(help: "Print every key a pipeline file takes, section by section, and exit.") var keys = false

    func validate() throws {
        if pipeline == nil && !keys { throw ValidationError("give the pipeline file (or --keys)") }
    }

    func run() throws {
        if keys { try StandardOutput.write(Array(Self.keyReference().utf8)); return }
        let file: PipelineFile
        do { file = try PipelineFile(path: pipeline!) } catch let p as PipelineFile.Problem { throw CLIError(p.description) }
        let storePath = store ?? file.store ?? "mtl.sqlite"

        // Check everything first.
        var mappings: [Mapping] = []
        for s in file.sources {
            let origin = "\(file.path):\(s.mappingLine)"
            mappings.append(try Self.mapping(s.mappingYAML, origin: origin))
            guard FileManager.default.fileExists(atPath: s.file) else {
                throw CLIError("\(file.path): source file \(s.file) does not exist (paths are relative to the working directory; ${VAR:-default} expands)")
            }
        }
        if file.sources.isEmpty { throw CLIError("\(file.path): no sources: nothing to import") }
        var textArgs: [String] = []
        for (k, v) in file.text.sorted(by: { $0.key < $1.key }) { textArgs += ["--" + (k == "tokenize" ? "tokenizer" : k), v] }
        let split: Split? = file.split.isEmpty ? nil : try parse(Split.self, file, file.split, "split", storePath)
        let vocab: VocabBuild? = file.vocab.isEmpty ? nil : try parse(VocabBuild.self, file, file.vocab, "vocab", storePath)
        let splitSpec = try split?.spec()
        if split != nil && splitSpec == nil { throw CLIError("\(file.path): split: give ratios or kfold") }
        let vocabSpec = try vocab?.spec()
        if check {
            var out = "\(file.path): valid; store \(storePath)\n"
            for s in file.sources { out += "  import \(s.file)\(s.part.map { " as part \($0)" } ?? "")\n" }
            if let split { out += "  split '\(split.name)'\n" }
            if let vocab { out += "  vocabulary '\(vocab.name)'\n" }
            try StandardOutput.write(Array(out.utf8))
            return
        }

        // Imports (each its own transaction; an already imported source adds nothing).
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-pipeline-\(getpid())")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temp) }
        for (i, (s, m)) in zip(file.sources, mappings).enumerated() {
            let mappingFile = temp.appendingPathComponent("mapping-\(i).json").path
            let data = try JSONEncoder().encode(m)
            FileManager.default.createFile(atPath: mappingFile, contents: data)
            var args = [s.file, "--store", storePath, "--mapping", mappingFile] + textArgs
            if let part = s.part { args += ["--part", part] }
            if let e = s.onError { args += ["--on-error", e] }
            for (flag, value) in s.limits { args += [flag, value] }
            let command = try Import.parse(args)
            try command.run()
        }

        let db = try openForWriting(storePath)
        if let split, let spec = splitSpec {
            let examples = try db.stats().examples
            if let existing = try db.split(named: split.name), !replace {
                guard existing.paramsJSON == spec.json, existing.examples == examples else {
                    throw CLIError("\(storePath): split '\(split.name)' exists with other settings or examples (\(existing.examples) examples, store \(examples)); mtl-prep run --replace remakes it (and the vocabularies built on it)")
                }
                Console.note("split '\(split.name)': already made with these settings; kept")
            } else {
                var command = split
                command.replace = replace
                try command.run()
            }
        }
        if let vocab, let spec = vocabSpec {
            if let existing = try db.vocabulary(named: vocab.name), !replace {
                let splitID = try vocab.split.flatMap { try db.split(named: $0)?.id }
                guard existing.paramsJSON == spec.json, existing.splitID == splitID else {
                    throw CLIError("\(storePath): vocabulary '\(vocab.name)' exists with other settings; mtl-prep run --replace remakes it")
                }
                Console.note("vocabulary '\(vocab.name)': already built with these settings; kept")
            } else {
                var command = vocab
                command.replace = replace
                try command.run()
            }
        }
    }

    private static func mapping(_ yaml: String, origin: String) throws -> Mapping {
        do throws(ImportError) { return try Mapping.decode(yaml: yaml, origin: origin) } catch { throw CLIError(error.description) }
    }

    /// Parses a section as the command's own arguments (its validation runs here, before any work).
    private func parse<C: ParsableCommand>(_ type: C.Type, _ file: PipelineFile, _ section: PipelineFile.FlagSection,
                                           _ name: String, _ store: String) throws -> C {
        let options = PipelineFile.options(help: C.helpMessage())
        do {
            let args = try file.arguments(section, name: name, options: options, reserved: ["store", "json", "replace"])
            return try C.parse(["--store", store] + args)
        } catch let p as PipelineFile.Problem {
            throw CLIError(p.description)
        } catch {
            let message = C.message(for: error)
            throw CLIError("\(file.location(of: message, in: section, name: name)): \(message)")
        }
    }

    /// Every key a pipeline file takes: generated from the commands' own option declarations.
    static func keyReference() -> String {
        func keys(_ help: String) -> String {
            PipelineFile.options(help: help).sorted { $0.key < $1.key }.map { "  \($0.key)\($0.value ? ": VALUE" : ": true|false")" }.joined(separator: "\n")
        }
        return """
            top level: \(PipelineFile.topKeys.joined(separator: ", "))
            text: \(PipelineFile.textKeys.joined(separator: ", ")) (import's --normalize, --tokenizer, --locale)
            sources[]: \(PipelineFile.sourceKeys.joined(separator: ", ")) (mapping: the --mapping file's keys, docs/import.md)
            split (mtl-prep split):
            \(keys(Split.helpMessage()))
            vocab (mtl-prep vocab build):
            \(keys(VocabBuild.helpMessage()))
            train: the options of mtl-train (mtl-train --help), checked by mtl-train --pipeline

            """
    }
}

enum Console {
    static func note(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
}
