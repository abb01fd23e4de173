import Foundation
import Testing

/// Issue 17, "Pipeline files": `mtl-prep run FILE` and `mtl-train --pipeline FILE`, as a user runs them.
@Suite("Pipeline files (issue 17)")
struct PipelineCLITests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path

    /// The repository's reviews pipeline, with its paths made absolute and the store in `dir`.
    static func reviewsPipeline(_ dir: TempDir, edit: (String) -> String = { $0 }) throws -> String {
        var text = try String(contentsOfFile: repo + "/Pipelines/reviews.yaml", encoding: .utf8)
        text = text.replacingOccurrences(of: "store: reviews.sqlite", with: "store: \(dir.path("reviews.sqlite"))")
        text = text.replacingOccurrences(of: "file: Corpora/", with: "file: \(repo)/Corpora/")
        return dir.write("p.yaml", edit(text))
    }

    @Test func runMakesTheDataOnceAndKeepsItTheSecondTime() throws {
        let dir = TempDir()
        let p = try Self.reviewsPipeline(dir)
        var r = try run("mtl-prep", ["run", p])
        try #require(r.status == 0, "\(r.err)")
        r = try run("mtl-prep", ["stats", "--store", dir.path("reviews.sqlite"), "--json"])
        let stats = try json(r.out)
        #expect(stats["examples"] as? Int == 48)
        #expect((stats["splits"] as? [[String: Any]])?.first?["name"] as? String == "main")
        #expect((stats["vocabularies"] as? [[String: Any]])?.first?["name"] as? String == "main")
        let before = try storeRows(dir.path("reviews.sqlite"))
        r = try run("mtl-prep", ["run", p])
        try #require(r.status == 0, "\(r.err)")
        #expect(r.out.contains("already imported"))
        #expect(r.err.contains("split 'main': already made") && r.err.contains("vocabulary 'main': already built"), "\(r.err)")
        #expect(try storeRows(dir.path("reviews.sqlite")) == before)

        // Other split settings: refused, then remade with --replace.
        let changed = try Self.reviewsPipeline(dir) { $0.replacingOccurrences(of: "kfold: 3", with: "kfold: 4") }
        r = try run("mtl-prep", ["run", changed])
        #expect(r.status != 0 && r.err.contains("split 'main' exists with other settings") && r.err.contains("--replace"), "\(r.err)")
        r = try run("mtl-prep", ["run", changed, "--replace"])
        try #require(r.status == 0, "\(r.err)")
        r = try run("mtl-prep", ["stats", "--store", dir.path("reviews.sqlite"), "--json"])
        #expect(((try json(r.out)["splits"] as? [[String: Any]])?.first?["folds"] as? Int) == 4)
    }

    @Test func errorsNameTheFileLineAndColumnAndSuggestTheKey() throws {
        let dir = TempDir()
        let cases: [(String, String, String)] = [
            ("stratify:", "stratfy:", ":15:31: split.stratfy: unknown key; did you mean 'stratify'?"),
            ("sources:", "soruces:", ":6:1: unknown key 'soruces' in the pipeline; did you mean 'sources'?"),
            ("kfold: 3", "kfold: three", ":15:21: split.kfold: The value 'three' is invalid"),
            ("field: topic}", "field: topic, colour: red}", ":9: tasks.topic.colour: unknown key"),
            ("vocab: {name: main", "vocab: {name: main, min-freq: 2, replace: true", ":16:34: vocab.replace: is set by the pipeline itself"),
        ]
        for (from, to, expected) in cases {
            let p = try Self.reviewsPipeline(dir) { $0.replacingOccurrences(of: from, with: to) }
            let r = try run("mtl-prep", ["run", p, "--check"])
            #expect(r.status != 0, "\(to)")
            #expect(r.err.contains(p + expected), "\(to): \(r.err)")
            #expect(!FileManager.default.fileExists(atPath: dir.path("reviews.sqlite")), "work started before the file was checked")
        }
        let broken = dir.write("broken.yaml", "store: x.sqlite\nsources: [\n")
        let r = try run("mtl-prep", ["run", broken])
        #expect(r.status != 0 && r.err.contains("broken.yaml:3:1: not valid YAML"), "\(r.err)")
        let missing = try Self.reviewsPipeline(dir) { $0.replacingOccurrences(of: "Corpora/reviews.csv", with: "Corpora/nope.csv") }
        #expect(try run("mtl-prep", ["run", missing]).err.contains("nope.csv does not exist"))
    }

    @Test func trainTakesTheFileAndTheCommandLineWins() throws {
        let dir = TempDir()
        let p = try Self.reviewsPipeline(dir) { $0.replacingOccurrences(of: "run: reviews", with: "run: piped, runs-dir: \(dir.path("runs"))") }
        var r = try run("mtl-prep", ["run", p])
        try #require(r.status == 0, "\(r.err)")
        r = try run("mtl-train", ["--pipeline", p, "--epochs", "1"])
        try #require(r.status == 0, "\(r.err)")
        let config = try json(try String(contentsOfFile: dir.path("runs/piped/config.json"), encoding: .utf8))
        #expect((config["training"] as? [String: Any])?["epochs"] as? Int == 1)          // the command line's
        #expect(((config["training"] as? [String: Any])?["loader"] as? [String: Any])?["batchSize"] as? Int == 8)   // the file's
        #expect(try String(contentsOfFile: dir.path("runs/piped/pipeline.yaml"), encoding: .utf8) == String(contentsOfFile: p, encoding: .utf8))
        let bad = try Self.reviewsPipeline(dir) { $0.replacingOccurrences(of: "epochs: 8", with: "epohcs: 8") }
        r = try run("mtl-train", ["--pipeline", bad])
        #expect(r.status != 0 && r.err.contains(":17:") && r.err.contains("did you mean 'epochs'?"), "\(r.err)")
    }

    /// The README's first command after its install and build steps: every task kind of the sample
    /// corpus trained, evaluated and used for prediction, as a new user sees it.
    @Test func theQuickStartRunsAsTheREADMEShowsIt() throws {
        let dir = TempDir()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.repo + "/scripts/demo", dir.path("demo")]
        process.environment = ProcessInfo.processInfo.environment.merging(["MTL_DEMO_BIN": productsDirectory.path]) { $1 }
        let out = dir.path("out"), err = dir.path("err")
        FileManager.default.createFile(atPath: out, contents: nil)
        FileManager.default.createFile(atPath: err, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        try process.run()
        process.waitUntilExit()
        let stdout = try String(contentsOfFile: out, encoding: .utf8), stderr = try String(contentsOfFile: err, encoding: .utf8)
        try #require(process.terminationStatus == 0, "\(stderr)")
        // Metrics for every task of the sample pipeline, then one prediction per raw line.
        for task in ["topic", "sentiment", "ner", "types", "digits", "number"] { #expect(stdout.contains(task), "\(task): \(stdout)") }
        #expect(stderr.contains("done in") && stderr.contains("report.html"), "\(stderr)")
        for file in ["demo/runs/first/report.html", "demo/model", "demo/sample.sqlite"] {
            #expect(FileManager.default.fileExists(atPath: dir.path(file)), "\(file)")
        }
    }

    @Test func aSourceCarriesImportLimits() throws {
        let dir = TempDir()
        // Every review has more than 3 tokens: the first is a bad record naming the limit's flag.
        let p = try Self.reviewsPipeline(dir) { $0.replacingOccurrences(of: "  - file: ", with: "  - max-tokens-per-example: 3\n    file: ") }
        var r = try run("mtl-prep", ["run", p])
        #expect(r.status != 0 && r.err.contains("reviews.csv:2: text of ") && r.err.contains("--max-tokens-per-example raises it"), "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("reviews.sqlite")))
        r = try run("mtl-prep", ["import", Self.repo + "/Corpora/reviews.csv", "--store", dir.path("x.sqlite"), "--text", "review",
                                 "--max-record-bytes", "12x"])
        #expect(r.status != 0 && r.err.contains("--max-record-bytes: '12x' is not a byte count"), "\(r.err)")
        r = try run("mtl-prep", ["import", Self.repo + "/Corpora/reviews.csv", "--store", dir.path("x.sqlite"), "--text", "review", "--max-depth", "0"])
        #expect(r.status != 0 && r.err.contains("--max-depth must be between 1 and 2048, not 0"), "\(r.err)")
        r = try run("mtl-prep", ["import", Self.repo + "/Corpora/reviews.csv", "--store", dir.path("x.sqlite"), "--text", "review",
                                 "--max-record-bytes", "1K", "--max-tokens-per-example", "1000"])
        #expect(r.status == 0, "\(r.err)")
    }

    @Test func theKeyReferenceComesFromTheCommands() throws {
        let r = try run("mtl-prep", ["run", "--keys"])
        #expect(r.status == 0)
        for key in ["ratios: VALUE", "kfold: VALUE", "stratify: VALUE", "min-freq: VALUE", "chars: true|false", "sources[]: file, part, mapping, on-error"] {
            #expect(r.out.contains(key), "\(key)")
        }
    }

    @Test(.enabled(if: corpora != nil, corporaSkip))
    func everyShippedPipelineChecks() throws {
        let dir = Self.repo + "/Pipelines"
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }
        #expect(files.count >= 6)
        for f in files {
            let r = try run("mtl-prep", ["run", dir + "/" + f, "--check"], environment: ["MTL_CORPORA": corpora!])
            #expect(r.status == 0, "\(f): \(r.err)")
        }
    }
}
