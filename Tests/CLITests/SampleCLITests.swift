import Foundation
import Testing
import Store

@Suite("mtl-prep sample, run as a user would")
struct SampleCLITests {
    /// A store imported by `mtl-prep import` (two tasks; sentiment 10 : 1), with a split and a
    /// vocabulary written through the Store API.
    func makeStore(_ dir: URL, split: Bool = true, vocab: Bool = true) throws -> String {
        let csv = dir.appendingPathComponent("reviews.csv")
        var rows = "text,topic,sentiment\n"
        for i in 0..<440 {
            rows += "\(["good book", "bad hotel room", "phone works well today", "a"][i % 4]) \(i),\(["book", "hotel"][i % 2]),\(i % 11 == 0 ? "neg" : "pos")\n"
        }
        try rows.write(to: csv, atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("mtl.sqlite").path
        let imp = try run("mtl-prep", ["import", csv.path, "--store", db, "--text", "text", "--label", "topic=topic", "--label", "sentiment=sentiment"])
        #expect(imp.status == 0, "\(imp.err)")
        let store = try ExampleStore(path: db)
        guard split else { return db }
        var a = SplitAssignments()
        var ids: [Int64] = []
        try store.forEachExample { ids.append($0.id) }
        for id in ids { a.append(id, id % 10 == 0 ? .test : id % 10 == 1 ? .dev : .train) }
        let (s, _) = try store.saveSplit(name: "main", kind: .ratio, folds: 0, seed: 1, paramsJSON: "{}", assignments: a)
        guard vocab else { return db }
        var vocabulary: [String: Int32] = ["<pad>": 0, "<unk>": 1]
        var entries = [VocabEntry(token: "<pad>", count: 0), VocabEntry(token: "<unk>", count: 0)]
        var encoded: [(Int64, [Int32])] = []
        try store.forEachExample { e in
            let tokens = try TokenBlob.decode(e.tokens, text: e.text).tokens
            encoded.append((e.id, tokens.map { t in
                if let id = vocabulary[t] { return id }
                vocabulary[t] = Int32(entries.count); entries.append(VocabEntry(token: t, count: 1))
                return Int32(entries.count - 1)
            }))
        }
        let w = try store.beginVocabulary(NewVocabulary(name: "words", splitID: s.id, fold: nil, paramsJSON: "{}", tokens: entries))
        for (id, e) in encoded { try w.addEncoded(exampleID: id, ids: e) }
        _ = try w.commit()
        return db
    }

    func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-sample-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func reportShowsRealizedAgainstTargetShares() throws {
        let dir = try tempDir(); defer { try? FileManager.default.removeItem(at: dir) }
        let db = try makeStore(dir)
        let r = try run("mtl-prep", ["sample", "--store", db, "--strategy", "weights", "--weights", "topic=1,sentiment=3",
                                     "--class-balance", "inverse", "--steps", "2000", "--batch-size", "4", "--report", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let tasks = try #require(o["tasks"] as? [[String: Any]])
        #expect(Set(tasks.map { $0["task"] as! String }) == ["topic", "sentiment"])
        let sentiment = try #require(tasks.first { $0["task"] as? String == "sentiment" })
        #expect(abs((sentiment["target_share"] as! Double) - 0.75) < 1e-9)
        #expect(abs((sentiment["realized_share"] as! Double) - 0.75) < 0.03)
        let classes = try #require(sentiment["classes"] as? [[String: Any]])
        for c in classes {
            #expect(abs((c["target_share"] as! Double) - 0.5) < 1e-9)
            #expect(abs((c["realized_share"] as! Double) - 0.5) < 0.03, "\(c)")
        }
        let text = try run("mtl-prep", ["sample", "--store", db, "--strategy", "temperature", "--temperature", "2", "--steps", "100", "--report"])
        #expect(text.status == 0 && text.out.contains("task shares (of batches):") && text.out.contains("class shares in sentiment"))
    }

    @Test func savedStateResumesWithTheSameBatches() throws {
        let dir = try tempDir(); defer { try? FileManager.default.removeItem(at: dir) }
        let db = try makeStore(dir)
        let common = ["sample", "--store", db, "--mixed", "--strategy", "temperature", "--bucket", "4", "--json", "--batch-size", "5", "--seed", "7"]
        let whole = try run("mtl-prep", common + ["--steps", "150"])
        let state = dir.appendingPathComponent("state.json").path
        let first = try run("mtl-prep", common + ["--steps", "61", "--save-state", state])
        let rest = try run("mtl-prep", common + ["--steps", "89", "--resume", state])
        #expect(whole.status == 0 && first.status == 0 && rest.status == 0, "\(first.err)\(rest.err)")
        #expect(first.out + rest.out == whole.out)
        #expect(whole.out.split(separator: "\n").count == 150)
    }

    @Test func missingSplitVocabularyAndBadOptionsAreClearErrors() throws {
        let dir = try tempDir(); defer { try? FileManager.default.removeItem(at: dir) }
        let noSplit = try makeStore(dir.appendingPathComponent("a").creatingDirectory(), split: false)
        var r = try run("mtl-prep", ["sample", "--store", noSplit])
        #expect(r.status != 0 && r.err.contains("no vocabulary: run mtl-prep vocab"), "\(r.err)")
        let db = try makeStore(dir)
        r = try run("mtl-prep", ["sample", "--store", db, "--strategy", "temperature", "--temperature", "0"])
        #expect(r.status != 0 && r.err.contains("temperature must be > 0"), "\(r.err)")
        r = try run("mtl-prep", ["sample", "--store", db, "--strategy", "weights", "--weights", "1,2,3"])
        #expect(r.status != 0 && r.err.contains("3 task weights for 2 tasks"), "\(r.err)")
        r = try run("mtl-prep", ["sample", "--store", db, "--split", "other"])
        #expect(r.status != 0 && r.err.contains("no split named 'other'") && r.err.contains("mtl-prep split"), "\(r.err)")
    }
}

extension URL {
    func creatingDirectory() throws -> URL {
        try FileManager.default.createDirectory(at: self, withIntermediateDirectories: true)
        return self
    }
}
