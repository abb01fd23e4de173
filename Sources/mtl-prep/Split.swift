import ArgumentParser
import Foundation
import Splits
import Store

/// JSON for the Codable summaries of split and vocab: snake_case keys, sorted.
func writeCodableJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    try StandardOutput.write(Array(try encoder.encode(value)) + [0x0A])
}

/// Opens a store for writing, with errors that name the file.
func openForWriting(_ path: String) throws -> ExampleStore {
    guard FileManager.default.fileExists(atPath: path) else { throw CLIError("\(path): no such store (make one with mtl-prep import)") }
    do { return try ExampleStore(path: path) } catch { throw CLIError("\(path): \(error)") }
}

struct Split: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a deterministic train/dev/test or K-fold split, stratified and grouped so nothing leaks.",
        discussion: """
            Identical normalized texts always stay in one part; --group also keeps examples with the same \
            import group key (or source file) together. Predefined parts from `import --part` are kept. An \
            example's part depends on the seed and its own identity, not on row order, so re-importing in \
            another order gives the same split. Without --ratios or --kfold, prints the report of an existing split.
            """)

    @Option(help: "The store.")
    var store = "mtl.sqlite"

    @Option(help: "The split's name (several splits can live in one store).")
    var name = "main"

    @Option(help: "train,dev,test ratios summing to 1, e.g. 0.8,0.1,0.1.")
    var ratios: String?

    @Option(help: "K folds over the examples outside the held-out test part; fold k is dev, the others train.")
    var kfold: Int?

    @Option(help: "With --kfold: the share held out as a test part first (0 = none).")
    var test: Double = 0

    @Option(help: "A classification or multilabel task whose label proportions every part keeps (repeat for several: their joint combinations are kept).")
    var stratify: [String] = []

    @Option(help: "Keep together examples sharing: none (only identical texts), key (the import's --group field), source (the file).")
    var group: String = "none"

    @Option(help: "The seed; the same seed and data give the same split.")
    var seed: UInt64 = 0

    @Flag(help: "Replace an existing split of this name (and delete the vocabularies built on it).")
    var replace = false

    @Flag(help: "Print per-label counts for every part, not only the summary.")
    var report = false

    @Flag(help: "Print one JSON object (the report) on standard output.")
    var json = false

    func validate() throws {
        if ratios != nil && kfold != nil { throw ValidationError("--ratios and --kfold exclude each other") }
        if kfold == nil && test != 0 { throw ValidationError("--test goes with --kfold; with --ratios give the test share as the third ratio") }
    }

    /// The split the options describe, or nil when they only name an existing one.
    func spec() throws -> SplitSpec? {
        guard ratios != nil || kfold != nil else { return nil }
        guard let grouping = SplitSpec.Grouping(rawValue: group) else {
            throw CLIError("--group \(group): expected none, key or source")
        }
        let kind: SplitSpec.Kind
        if let r = ratios {
            let parts = r.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 3, parts.allSatisfy({ $0 != nil }) else { throw CLIError("--ratios \(r): expected three numbers train,dev,test") }
            kind = .ratio(train: parts[0]!, dev: parts[1]!, test: parts[2]!)
        } else {
            kind = .kfold(folds: kfold!, test: test)
        }
        do throws(SplitError) { return try SplitSpec(kind: kind, seed: seed, stratify: stratify, grouping: grouping) }
        catch { throw CLIError(error.message) }
    }

    func run() throws {
        let db = try openForWriting(store)
        var outcome: SplitOutcome?
        var removed: [String] = []
        let record: SplitRecord
        do {
            if let spec = try spec() {
                let result = try Splitter.run(store: db, name: name, spec: spec, replace: replace)
                record = result.split; outcome = result.outcome; removed = result.removedVocabularies
            } else {
                guard let existing = try db.split(named: name) else {
                    let known = try db.splits().map(\.name)
                    throw CLIError("no split named '\(name)'" + (known.isEmpty ? "; make one with --ratios or --kfold" : "; the store has: \(known.joined(separator: ", "))"))
                }
                record = existing
            }
            let rep = try SplitReport.make(store: db, split: record)
            if json {
                struct Output: Encodable { var report: SplitReport; var outcome: SplitOutcome?; var removedVocabularies: [String] }
                try writeCodableJSON(Output(report: rep, outcome: outcome, removedVocabularies: removed))
            } else {
                try StandardOutput.write(Array(Self.render(rep, outcome: outcome, detailed: report).utf8))
            }
            for v in removed { FileHandle.standardError.write(Data("mtl-prep split: removed vocabulary '\(v)' (it was built on the replaced split)\n".utf8)) }
            for w in rep.warnings { FileHandle.standardError.write(Data("warning: \(w)\n".utf8)) }
            if !rep.isLeakFree { throw CLIError("split '\(record.name)' leaks: \(rep.duplicatesAcrossParts) texts and \(rep.groupsAcrossParts ?? 0) groups sit in more than one part") }
        } catch let e as SplitError {
            throw CLIError("\(store): \(e.message)")
        } catch let e as StoreError {
            throw CLIError("\(store): \(e)")
        }
    }

    static func render(_ r: SplitReport, outcome: SplitOutcome?, detailed: Bool) -> String {
        let s = r.split
        var out = "split '\(s.name)' (\(s.kind == .kfold ? "\(s.folds)-fold" : "ratio"), seed \(s.seed)): \(s.examples) examples\n"
        out += "  params: \(s.paramsJSON)\n"
        if let o = outcome {
            out += "  \(o.groups) groups placed as units (\(o.multiExampleGroups) of several examples; \(o.duplicateExamples) examples share their text with another), \(o.strata) strata"
            if o.predefinedConflicts > 0 { out += ", \(o.predefinedConflicts) groups spanning predefined parts moved to the most held-out one" }
            out += "\n"
        }
        let tasks = r.overall.keys.sorted()
        out += "  " + "part".padding(toLength: 10, withPad: " ", startingAt: 0) + "examples".leftPad(10)
        if !tasks.isEmpty { out += "   max deviation from overall label shares (points): " + tasks.joined(separator: ", ") }
        out += "\n"
        for p in r.parts {
            out += "  " + p.name.padding(toLength: 10, withPad: " ", startingAt: 0) + "\(p.examples)".leftPad(10)
            if !tasks.isEmpty { out += "   " + tasks.map { String(format: "%.2f", p.maxDeviation[$0] ?? 0) }.joined(separator: ", ") }
            out += "\n"
            if detailed {
                for t in tasks {
                    let labels = (p.labels[t] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                    out += "      \(t): \(labels)\n"
                }
            }
        }
        out += "  leakage: \(r.duplicatesAcrossParts) duplicate texts across parts"
        if let g = r.groupsAcrossParts { out += ", \(g) groups across parts" }
        out += r.unassigned > 0 ? "; \(r.unassigned) examples not in the split\n" : "\n"
        return out
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
