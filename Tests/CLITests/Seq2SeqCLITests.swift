import Foundation
import Testing

/// Issue 16 as a user meets it: import targets (columns, a regex line format, a parallel pair),
/// train a seq2seq task beside a classification task, evaluate, and predict n-best targets.
@Suite("Seq2seq from the command line (issue 16)")
struct Seq2SeqCLITests {
    /// A dictionary in CMUdict's own layout: `word PH1 PH2 …`, variants `word(2)`, comments.
    static func dictionary(_ count: Int) -> String {
        let letters = Array("abcdefgh")
        let phones: [Character: String] = ["a": "AA", "b": "B", "c": "K", "d": "D", "e": "IY", "f": "F", "g": "G", "h": "HH"]
        var seen = Set<String>(), out = ";;; a dictionary written for this test\n"
        var x: UInt64 = 88172645463325252
        while seen.count < count {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            let n = 2 + Int(x % 4)
            let w = String((0..<n).map { i in letters[Int((x >> (8 * UInt64(i + 1))) % 8)] })
            guard seen.insert(w).inserted else { continue }
            out += "\(w) \(w.map { phones[$0]! }.joined(separator: " "))\n"
            if seen.count % 50 == 0 { out += "\(w)(2) \(w.map { phones[$0]! }.reversed().joined(separator: " ")) # a variant\n" }
        }
        return out
    }

    static let pattern = #"^(?<word>[^\s(]+) (?<phones>[^#]+?)(?:\s+#.*)?$"#

    @Test func regexImportTrainEvaluateAndPredictNBest() throws {
        let dir = TempDir()
        let dict = dir.write("g2p.dict", Self.dictionary(400))
        let store = dir.path("g.sqlite")
        // Variants do not match the pattern: rejects with their line numbers, counted.
        var r = try run("mtl-prep", ["import", dict, "--store", store, "--pattern", Self.pattern, "--comment", ";;;",
                                     "--text", "word", "--tokenizer", "graphemes", "--seq2seq", "g2p=phones", "--on-error", "skip", "--json"])
        try #require(r.status == 0, "\(r.err)")
        let summary = try #require((try json(r.out)["imports"] as? [[String: Any]])?.first)
        #expect(summary["examples_stored"] as? Int == 400)
        #expect(summary["rejects"] as? Int == 8)
        #expect((summary["reject_reasons"] as? [String: Int])?["patternMismatch"] == 8)
        r = try run("mtl-prep", ["show", "3", "--store", store, "--json"])
        let g2p = try #require((try json(r.out)["labels"] as? [String: Any])?["g2p"] as? [String: Any])
        #expect(g2p["kind"] as? String == "seq2seq")
        #expect((g2p["target_tokens"] as? [[String: Any]])?.isEmpty == false)
        r = try run("mtl-prep", ["stats", "--store", store])
        #expect(r.out.contains("g2p (seq2seq): 400 targets"), "\(r.out)")

        for args in [["split", "--store", store, "--name", "main", "--ratios", "0.8,0.2,0"], ["vocab", "--store", store, "--name", "main", "--split", "main"]] {
            let s = try run("mtl-prep", args)
            try #require(s.status == 0, "\(s.err)")
        }
        let runs = dir.path("runs")
        r = try run("mtl-train", ["--store", store, "--run", "g", "--runs-dir", runs, "--epochs", "6", "--emb", "16", "--hidden", "32",
                                  "--lr", "0.01", "--batch-size", "16", "--dropout", "0", "--decoder-attention", "bahdanau"])
        try #require(r.status == 0, "\(r.err)")
        r = try run("mtl-train", ["eval", "--run", "g", "--runs-dir", runs, "--checkpoint", "best", "--part", "dev", "--json"])
        try #require(r.status == 0, "\(r.err)")
        #expect(r.out.contains("\"sequence_accuracy\"") && r.out.contains("\"bleu\""), "\(r.out.prefix(400))")
        r = try run("mtl-train", ["eval", "--run", "g", "--runs-dir", runs, "--checkpoint", "best", "--part", "dev"])
        #expect(r.out.contains("BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp"), "\(r.out)")

        let steps = try FileManager.default.contentsOfDirectory(atPath: runs + "/g").filter { $0.hasPrefix("checkpoint-") }.sorted()
        let model = runs + "/g/" + (steps.last ?? "")
        r = try run("mtl-train", ["predict", "--model", model, "--beam", "4", "--n-best", "3"], stdin: Data("bad\ncafe\n".utf8))
        try #require(r.status == 0, "\(r.err)")
        let lines = r.out.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.count == 2)
        let first = try #require((lines[0]?["tasks"] as? [String: Any])?["g2p"] as? [String: Any])
        let nbest = try #require(first["nbest"] as? [[String: Any]])
        #expect(nbest.count == 3 && first["target"] as? String == nbest[0]["text"] as? String)
        #expect(nbest.compactMap { $0["score"] as? Double } == nbest.compactMap { $0["score"] as? Double }.sorted(by: >))
        // An n-best wider than the beam is refused before any work.
        r = try run("mtl-train", ["predict", "--model", model, "--n-best", "3"], stdin: Data("bad\n".utf8))
        #expect(r.status != 0 && r.err.contains("--beam 3"), "\(r.err)")
    }

    @Test func parallelFilesAndTheirErrors() throws {
        let dir = TempDir()
        let src = dir.write("train.en", "a small house\nthe cat sleeps\n\n")
        let tgt = dir.write("train.fr", "une petite maison\nle chat dort\nvide\n")
        let store = dir.path("p.sqlite")
        var r = try run("mtl-prep", ["import", "--parallel", src, tgt, "--store", store, "--seq2seq", "fr=target",
                                     "--target-tokenizer", "words", "--on-error", "skip"])
        try #require(r.status == 0, "\(r.err)")
        #expect(r.out.contains("3 records read, 2 examples stored, 1 rejected"), "\(r.out)")
        r = try run("mtl-prep", ["show", "2", "--store", store])
        #expect(r.out.contains("fr (seq2seq): le chat dort"), "\(r.out)")
        // Unequal line counts name both files and both counts; nothing is stored.
        let short = dir.write("short.fr", "une petite maison\n")
        r = try run("mtl-prep", ["import", "--parallel", src, short, "--store", dir.path("q.sqlite"), "--seq2seq", "fr=target"])
        #expect(r.status != 0)
        #expect(r.err.contains("train.en has 3 lines, short.fr has 1 line"), "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: dir.path("q.sqlite")))
        // Target flags without a seq2seq task, and --parallel with one file, are refused up front.
        r = try run("mtl-prep", ["import", src, "--format", "csv", "--no-header", "--text", "#0", "--target-tokenizer", "words", "--store", dir.path("x.sqlite")])
        #expect(r.status != 0 && r.err.contains("--seq2seq"), "\(r.err)")
        r = try run("mtl-prep", ["import", "--parallel", src, "--store", dir.path("x.sqlite")])
        #expect(r.status != 0 && r.err.contains("two files"), "\(r.err)")
    }

    @Test func aBadPatternNamesItsPosition() throws {
        let dir = TempDir()
        let dict = dir.write("d.dict", "abc A B C\n")
        let r = try run("mtl-prep", ["import", dict, "--store", dir.path("b.sqlite"), "--pattern", "^(?<word>[a-z]+ (?<phones>.*)$",
                                     "--text", "word", "--seq2seq", "g=phones"])
        #expect(r.status != 0)
        #expect(r.err.contains("offset") && r.err.contains("U_REGEX"), "\(r.err)")
    }
}
