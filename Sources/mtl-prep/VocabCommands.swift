import ArgumentParser
import Foundation
import Store
import Vocab

struct VocabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vocab",
        abstract: "Build, export, import and list vocabularies; attach pretrained embeddings.",
        subcommands: [VocabBuild.self, VocabExport.self, VocabImport.self, VocabEmbed.self, VocabList.self],
        defaultSubcommand: VocabBuild.self)
}

struct VocabBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build a vocabulary from the training part of a split and encode every example with it.",
        discussion: """
            Special tokens take ids 0, 1, …; then tokens by frequency (descending), ties by code point order, as \
            torchtext orders them. Counts come only from the training part of --split (and --fold); dev and test \
            are encoded and their out-of-vocabulary rate reported. The whole vocabulary is written in one transaction.
            """)

    @Option(help: "The store.") var store = "mtl.sqlite"
    @Option(help: "The vocabulary's name (several can live in one store).") var name = "main"
    @Option(help: "The split whose training part is counted.") var split: String?
    @Option(help: "The fold of a k-fold split whose training part is counted.") var fold: Int?
    @Flag(help: "Count every example, without a split (dev and test tokens then leak into the vocabulary).") var all = false
    @Option(help: "Leave out tokens seen fewer times in training.") var minFreq = 1
    @Option(help: "At most this many entries, special tokens included.") var maxSize: Int?
    @Option(help: "Special tokens: a preset (default, bert, fairseq, minimal), a preset JSON file (Vocab/presets/*.json), or role=token,… in id order (roles pad, unk, bos, eos, mask; unk is required).")
    var specials = "default"
    @Flag(help: "Also build a character vocabulary.") var chars = false
    @Option(help: "Threads counting tokens.") var threads = 2
    @Flag(help: "Replace a vocabulary of the same name.") var replace = false
    @Flag(help: "Print one JSON object on standard output.") var json = false

    /// The vocabulary the options describe.
    func spec() throws -> VocabularySpec {
        VocabularySpec(name: name, split: split, fold: fold, all: all, minFreq: minFreq, maxSize: maxSize,
                       specials: try loadSpecials(specials), characters: chars)
    }

    func run() throws {
        let db = try openForWriting(store)
        let spec = try spec()
        let summary: VocabularySummary
        do { summary = try VocabularyBuilder.build(store: db, spec: spec, replace: replace, threads: threads) }
        catch let e as VocabError { throw CLIError("\(store): \(e.message)") }
        catch let e as StoreError { throw CLIError("\(store): \(e)") }
        try printSummary(summary, json: json)
    }
}

func loadSpecials(_ spec: String) throws -> SpecialTokens {
    if let preset = SpecialTokens.presets[spec] { return preset }
    if spec.hasSuffix(".json") {
        guard let data = FileManager.default.contents(atPath: spec) else { throw CLIError("\(spec): cannot read the special-token preset") }
        struct File: Decodable { var specials: [SpecialTokens.Entry] }
        do { return try SpecialTokens(try JSONDecoder().decode(File.self, from: data).specials) }
        catch let e as VocabError { throw CLIError("\(spec): \(e.message)") }
        catch { throw CLIError("\(spec): expected {\"specials\":[{\"role\":\"pad\",\"token\":\"<pad>\"},…]} (\(error))") }
    }
    do { return try SpecialTokens.parse(spec) } catch { throw CLIError("--specials: \(error)") }
}

func printSummary(_ s: VocabularySummary, json: Bool) throws {
    if json { try writeCodableJSON(s); return }
    let v = s.vocabulary
    var out = "vocabulary '\(v.name)' (id \(v.id)): \(s.size) tokens (\(s.types) distinct in \(s.trainingTokens) training tokens of \(s.trainingExamples) examples)"
    if s.characters > 0 { out += ", \(s.characters) characters" }
    out += ", ids stored as \(v.idWidth == 2 ? "uint16" : "int32"), \(s.encodedExamples) examples encoded\n"
    out += "  coverage        part       examples     tokens   OOV rate\n"
    for r in s.coverage {
        out += "  " + (r.task ?? "(all)").padding(toLength: 14, withPad: " ", startingAt: 0) + "  " + r.part.padding(toLength: 10, withPad: " ", startingAt: 0)
            + "\(r.examples)".leftPad(9) + "\(r.tokens)".leftPad(11) + String(format: "%9.2f%%", 100 * r.oovRate) + "\n"
    }
    try StandardOutput.write(Array(out.utf8))
}

struct VocabExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write a vocabulary as vocab.txt (one token per line, id = line) or HF-style vocab.json.")
    @Option(help: "The store.") var store = "mtl.sqlite"
    @Option(help: "The vocabulary.") var name = "main"
    @Option(help: "txt or json.") var format = "txt"
    @Flag(help: "Export the character vocabulary instead of the tokens.") var chars = false
    @Option(name: .shortAndLong, help: "Output file (default: standard output).") var output: String?

    func run() throws {
        guard let f = VocabFile.Format(rawValue: format) else { throw CLIError("--format \(format): expected txt or json") }
        let db = try openExisting(store)
        guard let v = try db.vocabulary(named: name) else { throw CLIError("\(store): no vocabulary named '\(name)' (build one with mtl-prep vocab build)") }
        let tokens = try db.vocabEntries(vocabID: v.id, kind: chars ? "char" : "token").map(\.token)
        let bytes: [UInt8]
        do { bytes = try VocabFile.export(tokens, format: f) } catch { throw CLIError("\(name): \(error)") }
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: Data(bytes)) else { throw CLIError("\(output): cannot write") }
        } else {
            try StandardOutput.write(bytes)
        }
    }
}

struct VocabImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Store a vocabulary from vocab.txt or vocab.json (ids kept) and encode every example with it.")
    @Argument(help: "vocab.txt or vocab.json.") var file: String
    @Option(help: "The store.") var store = "mtl.sqlite"
    @Option(help: "The vocabulary's name.") var name = "main"
    @Option(help: "The token that out-of-vocabulary tokens become.") var unk = "<unk>"
    @Option(help: "The split whose training part gives the counts and the coverage report.") var split: String?
    @Option(help: "The fold of a k-fold split.") var fold: Int?
    @Flag(help: "Count over every example (no split).") var all = false
    @Flag(help: "Replace a vocabulary of the same name.") var replace = false
    @Flag(help: "Print one JSON object on standard output.") var json = false

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("\(file): cannot read") }
        let db = try openForWriting(store)
        do {
            let tokens = try VocabFile.read(Array(data), format: file.hasSuffix(".json") ? .json : .txt, name: file)
            let membership: PartMembership
            if let split { membership = try PartMembership.load(store: db, split: split, fold: fold) }
            else if all { membership = .all }
            else { throw VocabError("say which training part counts: --split NAME [--fold K], or --all") }
            let summary = try VocabularyBuilder.store(tokens: tokens, unk: unk, name: name, store: db, membership: membership,
                                                      paramsJSON: "{\"imported_from\":\(jsonQuote(file)),\"unk\":\(jsonQuote(unk))}", replace: replace)
            try printSummary(summary, json: json)
        } catch let e as VocabError { throw CLIError("\(store): \(e.message)") }
        catch let e as StoreError { throw CLIError("\(store): \(e)") }
    }
}

func jsonQuote(_ s: String) -> String {
    String(decoding: (try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8), as: UTF8.self).dropFirst().dropLast().description
}

struct VocabEmbed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed", abstract: "Align pretrained vectors (word2vec text/binary, GloVe, fastText .vec) to a vocabulary and store the matrix.")
    @Argument(help: "The vectors file.") var file: String
    @Option(help: "The store.") var store = "mtl.sqlite"
    @Option(help: "The vocabulary.") var name = "main"
    @Option(help: "word2vec, word2vec-binary, glove or fasttext (default: guessed from the file).") var format: String?
    @Option(help: "The name the matrix is stored under.") var embeddingName = "pretrained"
    @Option(help: "Seed for the rows without a vector.") var seed: UInt64 = 0
    @Flag(help: "Print one JSON object on standard output.") var json = false

    func run() throws {
        let db = try openForWriting(store)
        guard let v = try db.vocabulary(named: name) else { throw CLIError("\(store): no vocabulary named '\(name)' (build one with mtl-prep vocab build)") }
        let tokens = try db.vocabEntries(vocabID: v.id).map(\.token)
        let params = try JSONSerialization.jsonObject(with: Data(v.paramsJSON.utf8)) as? [String: Any]
        let specials = (params?["specials"] as? [[String: String]]) ?? []
        let specialIDs = Set(specials.compactMap { s in tokens.firstIndex(of: s["token"] ?? "") })
        let padID = specials.first { $0["role"] == "pad" }.flatMap { s in tokens.firstIndex(of: s["token"] ?? "") }
        do {
            let f: Embeddings.Format
            if let format { guard let g = Embeddings.Format(rawValue: format) else { throw VocabError("--format \(format): expected \(Embeddings.Format.allCases.map(\.rawValue).joined(separator: ", "))") }; f = g }
            else { f = try Embeddings.guessFormat(path: file) }
            let a = try Embeddings.align(path: file, format: f, tokens: tokens, padID: padID, specialIDs: specialIDs, seed: seed)
            try db.saveEmbeddings(vocabID: v.id, name: embeddingName, dim: a.dim, matrix: a.matrix, found: a.found, folded: a.folded,
                                  paramsJSON: "{\"file\":\(jsonQuote(file)),\"format\":\"\(f.rawValue)\",\"seed\":\(seed),\"vectors_read\":\(a.read)}")
            if json {
                try writeJSON(["vocabulary": name, "embedding": embeddingName, "dim": a.dim, "vectors_read": a.read, "found": a.found,
                               "found_lowercase": a.folded, "coverage": a.coverage])
            } else {
                try StandardOutput.write(Array(String(format: "embeddings '%@' for vocabulary '%@': %d vectors read, dim %d; %d tokens found, %d more through lowercase, coverage %.2f%%\n",
                                                      embeddingName, name, a.read, a.dim, a.found, a.folded, 100 * a.coverage).utf8))
            }
        } catch let e as VocabError { throw CLIError(e.message) }
        catch let e as StoreError { throw CLIError("\(store): \(e)") }
    }
}

struct VocabList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the vocabularies of a store.")
    @Option(help: "The store.") var store = "mtl.sqlite"
    @Flag(help: "Print JSON on standard output.") var json = false
    func run() throws {
        let db = try openExisting(store)
        let vs = try db.vocabularies()
        if json { try writeCodableJSON(vs); return }
        var out = ""
        let splits = Dictionary(uniqueKeysWithValues: try db.splits().map { ($0.id, $0.name) })
        for v in vs {
            out += "\(v.name)\t\(v.size) tokens\t" + (v.splitID.map { "split \(splits[$0] ?? "#\($0)")" + (v.fold.map { " fold \($0)" } ?? "") } ?? "all examples") + "\t\(v.createdAt)\n"
            for e in try db.embeddings(vocabID: v.id) { out += "  embeddings \(e.name): dim \(e.dim), \(e.found) found, \(e.folded) lowercase\n" }
        }
        try StandardOutput.write(Array(out.utf8))
    }
}
