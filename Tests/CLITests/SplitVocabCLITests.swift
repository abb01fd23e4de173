import Foundation
import Store
import Testing

/// The repository's own sample corpus (present on every clone).
let sampleReviews = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Corpora/reviews.csv").standardized.path

@Suite("mtl-prep split and vocab, run as a user would")
struct SplitVocabCLITests {
    let tmp = TempDir()

    func importedStore() throws -> String {
        let db = tmp.path("s.sqlite")
        let r = try run("mtl-prep", ["import", sampleReviews, "--store", db, "--text", "review", "--label", "topic=topic",
                                     "--label", "sentiment=sentiment", "--group", "user"])
        #expect(r.status == 0, "\(r.err)")
        return db
    }

    @Test func splitVocabStatsExportOnTheSampleCorpus() throws {
        let db = try importedStore()
        let split = try run("mtl-prep", ["split", "--store", db, "--name", "cv", "--kfold", "3", "--stratify", "topic", "--stratify", "sentiment", "--seed", "7", "--json"])
        #expect(split.status == 0, "\(split.err)")
        let report = try json(split.out)["report"] as! [String: Any]
        #expect(report["duplicates_across_parts"] as? Int == 0)
        #expect((report["parts"] as! [[String: Any]]).map { $0["name"] as! String } == ["fold 0", "fold 1", "fold 2"])
        // Same request again without --replace: refused, store unchanged.
        let before = try storeRows(db)
        let again = try run("mtl-prep", ["split", "--store", db, "--name", "cv", "--kfold", "3"])
        #expect(again.status != 0 && again.err.contains("a split named 'cv' exists"))
        #expect(try storeRows(db) == before)

        let noSplit = try run("mtl-prep", ["vocab", "--store", db, "--name", "v"])
        #expect(noSplit.status != 0 && noSplit.err.contains("pass --all"), "\(noSplit.err)")
        let noFold = try run("mtl-prep", ["vocab", "--store", db, "--name", "v", "--split", "cv"])
        #expect(noFold.status != 0 && noFold.err.contains("--fold"), "\(noFold.err)")
        let vocab = try run("mtl-prep", ["vocab", "--store", db, "--name", "v", "--split", "cv", "--fold", "1", "--json"])
        #expect(vocab.status == 0, "\(vocab.err)")
        let summary = try json(vocab.out)
        #expect(summary["encoded_examples"] as? Int == 48)
        let coverage = summary["coverage"] as! [[String: Any]]
        #expect(coverage.contains { $0["part"] as? String == "dev" && ($0["oov_rate"] as! Double) > 0 })

        let txt = try run("mtl-prep", ["vocab", "export", "--store", db, "--name", "v"])
        let tokens = txt.out.split(separator: "\n").map(String.init)
        #expect(Array(tokens.prefix(5)) == ["<pad>", "<unk>", "<bos>", "<eos>", "<mask>"])
        let file = tmp.path("vocab.json")
        #expect(try run("mtl-prep", ["vocab", "export", "--store", db, "--name", "v", "--format", "json", "-o", file]).status == 0)
        let imported = try run("mtl-prep", ["vocab", "import", file, "--store", db, "--name", "copy", "--split", "cv", "--fold", "1"])
        #expect(imported.status == 0, "\(imported.err)")
        let copy = try run("mtl-prep", ["vocab", "export", "--store", db, "--name", "copy"])
        #expect(copy.out == txt.out)

        let stats = try json(try run("mtl-prep", ["stats", "--store", db, "--json"]).out)
        #expect((stats["splits"] as! [[String: Any]]).first?["name"] as? String == "cv")
        #expect(Set((stats["vocabularies"] as! [[String: Any]]).map { $0["name"] as! String }) == ["v", "copy"])
        let text = try run("mtl-prep", ["stats", "--store", db]).out
        #expect(text.contains("splits:\n  cv (3-fold, seed 7)") && text.contains("vocabularies:\n  v: "))
    }

    @Test func groupedSplitKeepsUsersTogetherAndBadOptionsFail() throws {
        let db = try importedStore()
        let r = try run("mtl-prep", ["split", "--store", db, "--name", "g", "--ratios", "0.6,0.2,0.2", "--group", "key", "--report"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("leakage: 0 duplicate texts across parts, 0 groups across parts"))
        for (args, message) in [(["--ratios", "0.5,0.2,0.2"], "sum to"), (["--kfold", "1"], "K must be at least 2"),
                                (["--kfold", "3", "--stratify", "nope"], "unknown task 'nope'"), (["--kfold", "3", "--group", "users"], "--group users")] {
            let bad = try run("mtl-prep", ["split", "--store", db, "--name", "bad"] + args)
            #expect(bad.status != 0 && bad.err.contains(message), "\(args): \(bad.err)")
        }
        let missing = try run("mtl-prep", ["split", "--store", tmp.path("none.sqlite"), "--kfold", "2"])
        #expect(missing.status != 0 && missing.err.contains("no such store"))
    }

    /// `Vocab/examples` are reproduced byte for byte by the commands in `Vocab/README.md`.
    @Test func referenceExportsAreReproduced() throws {
        let examples = URL(fileURLWithPath: sampleReviews).deletingLastPathComponent().appendingPathComponent("../Vocab/examples").standardized
        let db = tmp.path("r.sqlite")
        #expect(try run("mtl-prep", ["import", sampleReviews, "--store", db, "--text", "review", "--label", "topic=topic"]).status == 0)
        #expect(try run("mtl-prep", ["vocab", "--store", db, "--name", "ref", "--all", "--min-freq", "2"]).status == 0)
        for format in ["txt", "json"] {
            let r = try run("mtl-prep", ["vocab", "export", "--store", db, "--name", "ref", "--format", format])
            let reference = try String(contentsOf: examples.appendingPathComponent("reviews.vocab.\(format)"), encoding: .utf8)
            #expect(r.out == reference, "Vocab/examples/reviews.vocab.\(format) no longer matches")
        }
    }

    @Test func embedReadsWord2VecText() throws {
        let db = try importedStore()
        #expect(try run("mtl-prep", ["vocab", "--store", db, "--name", "v", "--all"]).status == 0)
        let vectors = tmp.write("v.txt", "3 2\nroom 0.5 1\nRoom 9 9\nbattery -1 2\n")
        let r = try run("mtl-prep", ["vocab", "embed", vectors, "--store", db, "--name", "v", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let out = try json(r.out)
        #expect(out["found"] as? Int == 2 && out["dim"] as? Int == 2 && out["vectors_read"] as? Int == 3)
        let bad = tmp.write("bad.txt", "2 2\nroom 0.5\nx 1 2\n")
        let e = try run("mtl-prep", ["vocab", "embed", bad, "--store", db, "--name", "v"])
        #expect(e.status != 0 && e.err.contains("bad.txt:2: 'room' has 1 values, expected 2"), "\(e.err)")
    }
}
