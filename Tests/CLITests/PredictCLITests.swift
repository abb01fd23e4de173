import Foundation
import Testing

/// `mtl-train predict` and `export`, run as a user would, on a model trained from the README's store.
@Suite("mtl-train predict and export, run as a user would")
struct PredictCLITests {
    typealias Fixture = TrainCLITests.Fixture

    /// A fixture with a finished run `m` and the path of its latest checkpoint.
    static func trained() throws -> (Fixture, String) {
        let f = try Fixture()
        let r = try f.newRun("m", ["--steps", "30", "--seed", "2"])
        try #require(r.status == 0, "training: \(r.err)")
        let step = try #require(f.checkpointSteps("m").last)
        return (f, f.checkpoint("m", step))
    }

    static func lines(_ out: String) throws -> [[String: Any]] {
        try out.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
        }
    }

    @Test func linesFromStandardInputInOrderWithTopK() throws {
        let (f, model) = try Self.trained()
        defer { withExtendedLifetime(f) {} }   // the fixture's folder lives as long as the test
        let texts = ["Great phone, fast delivery", "这家酒店很糟糕", "", "A boring book I could not finish"]
        let r = try run("mtl-train", ["predict", "--model", model, "--top-k", "3", "--logits"], stdin: Data((texts.joined(separator: "\n") + "\n").utf8))
        try #require(r.status == 0, "\(r.err)")
        let out = try Self.lines(r.out)
        #expect(out.count == texts.count, "one line per input line, the empty one included")
        #expect(out.map { $0["record"] as? Int } == [1, 2, 3, 4])
        for line in out {
            let tasks = try #require(line["tasks"] as? [String: [String: Any]])
            #expect(Set(tasks.keys) == ["topic", "sentiment"])
            let topic = try #require(tasks["topic"])
            let top = try #require(topic["top"] as? [[String: Any]])
            let p = top.compactMap { $0["score"] as? Double }
            #expect(p.count == 3 && p == p.sorted(by: >), "top-3 sorted by probability: \(p)")
            #expect(abs(p.reduce(0, +) - 1) < 1e-6, "the three topics' probabilities sum to 1")
            #expect(topic["label"] as? String == top[0]["label"] as? String && topic["probability"] as? Double == p[0])
            // The raw scores give the same probabilities.
            let z = try #require((line["logits"] as? [String: Any])?["topic"] as? [Double])
            let labels = top.compactMap { $0["label"] as? String }
            let e = z.map { Foundation.exp($0 - z.max()!) }
            let best = e.indices.max { e[$0] < e[$1] }!
            #expect(abs(e[best] / e.reduce(0, +) - p[0]) < 1e-5)
            #expect(z.count == 3 && labels.count == 3)
        }
        #expect((out[2]["token_ids"] as? [Int])?.isEmpty == true, "an empty text reads no tokens")
        #expect(((out[0]["token_ids"] as? [Int])?.count ?? 0) > 0)
    }

    @Test func csvAndJSONLKeepTheirIDs() throws {
        let (f, model) = try Self.trained()
        let csv = f.path("in.csv"), jsonl = f.path("in.jsonl")
        try "id,review\nr1,\"Great phone, fast\"\nr2,这家酒店很糟糕\n".write(toFile: csv, atomically: true, encoding: .utf8)
        try "{\"meta\":{\"id\":\"j1\"},\"review\":\"Great phone, fast\"}\n{\"meta\":{\"id\":\"j2\"},\"review\":\"这家酒店很糟糕\"}\n"
            .write(toFile: jsonl, atomically: true, encoding: .utf8)
        let a = try run("mtl-train", ["predict", "--model", model, "--input", csv, "--format", "csv", "--text-field", "review", "--id-field", "id"])
        let b = try run("mtl-train", ["predict", "--model", model, "--input", jsonl, "--format", "jsonl", "--text-field", "review", "--id-field", "meta.id"])
        try #require(a.status == 0 && b.status == 0, "\(a.err) \(b.err)")
        let x = try Self.lines(a.out), y = try Self.lines(b.out)
        #expect(x.map { $0["id"] as? String } == ["r1", "r2"])
        #expect(y.map { $0["id"] as? String } == ["j1", "j2"])
        // The same texts give the same predictions whatever the format.
        #expect(try x.map { try TrainCLITests.canonical(#require($0["tasks"] as? [String: Any])) } ==
                y.map { try TrainCLITests.canonical(#require($0["tasks"] as? [String: Any])) })
    }

    @Test func badRecordsFailOrAreSkippedInPlace() throws {
        let (f, model) = try Self.trained()
        let txt = f.path("bad.txt")
        var bytes = Array("good text\n".utf8)
        bytes += [0xFF, 0xFE] + Array(" broken\nmore text\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: txt))
        let fail = try run("mtl-train", ["predict", "--model", model, "--input", txt])
        #expect(fail.status != 0)
        #expect(fail.err.contains("bad.txt:2") && fail.err.contains("UTF-8") && fail.err.contains("--on-error skip"), "\(fail.err)")
        #expect(try Self.lines(fail.out).count == 1, "the record before the bad one is written")
        let skip = try run("mtl-train", ["predict", "--model", model, "--input", txt, "--on-error", "skip"])
        try #require(skip.status == 0, "\(skip.err)")
        let out = try Self.lines(skip.out)
        #expect(out.count == 3)
        #expect((out[1]["error"] as? String)?.contains("bad.txt:2") == true && out[1]["tasks"] == nil)
        #expect(out[2]["tasks"] != nil && out[2]["record"] as? Int == 3)
        #expect(skip.err.contains("1 of 3 records skipped"), "\(skip.err)")

        let jsonl = f.path("bad.jsonl")
        try "{\"text\":\"fine\"}\n{\"txt\":\"misspelled key\"}\n{broken\n".write(toFile: jsonl, atomically: true, encoding: .utf8)
        let j = try run("mtl-train", ["predict", "--model", model, "--input", jsonl, "--format", "jsonl", "--on-error", "skip"])
        try #require(j.status == 0, "\(j.err)")
        let jl = try Self.lines(j.out)
        #expect((jl[1]["error"] as? String)?.contains("no field 'text'") == true, "\(jl[1])")
        #expect((jl[2]["error"] as? String)?.contains("bad.jsonl:3") == true, "\(jl[2])")
        let missing = try run("mtl-train", ["predict", "--model", model, "--input", jsonl, "--format", "jsonl"])
        #expect(missing.status != 0 && missing.err.contains("bad.jsonl:2") && missing.err.contains("no field 'text'"), "\(missing.err)")

        let noModel = try run("mtl-train", ["predict", "--model", f.path("nowhere")], stdin: Data("x\n".utf8))
        #expect(noModel.status != 0 && noModel.err.contains("mtl-train export"), "\(noModel.err)")
        let task = try run("mtl-train", ["predict", "--model", model, "--task", "topik"], stdin: Data("x\n".utf8))
        #expect(task.status != 0 && task.err.contains("topik") && task.err.contains("topic"), "\(task.err)")
    }

    @Test func exportedModelPredictsLikeItsCheckpointWithoutTheStore() throws {
        let (f, model) = try Self.trained()
        let exported = f.path("exported")
        let e = try f.train(["export", "--run", "m", "--checkpoint", "latest", "-o", exported])
        try #require(e.status == 0, "\(e.err)")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: exported))
        #expect(files == ["model.safetensors", "config.json", "text.json", "MANIFEST.json"], "\(files)")
        let again = try f.train(["export", "--run", "m", "-o", exported])
        #expect(again.status != 0, "export refuses to overwrite a folder")

        let input = Data("Great phone, fast\n这家酒店很糟糕\nA boring book\n".utf8)
        let fromCheckpoint = try run("mtl-train", ["predict", "--model", model, "--logits"], stdin: input)
        try FileManager.default.removeItem(atPath: f.store)
        try FileManager.default.removeItem(atPath: f.runs)
        let fromExport = try run("mtl-train", ["predict", "--model", exported, "--logits"], stdin: input)
        try #require(fromCheckpoint.status == 0 && fromExport.status == 0, "\(fromCheckpoint.err) \(fromExport.err)")
        #expect(fromExport.out == fromCheckpoint.out, "the exported model predicts exactly as its checkpoint")

        // A damaged export is refused, naming the file.
        let weights = exported + "/model.safetensors"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
        bytes[bytes.count - 3] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: weights))
        let damaged = try run("mtl-train", ["predict", "--model", exported], stdin: input)
        #expect(damaged.status != 0 && damaged.err.contains("model.safetensors"), "\(damaged.err)")
    }

    @Test func outputIsTheSameForAnyThreadCount() throws {
        let (f, model) = try Self.trained()
        defer { withExtendedLifetime(f) {} }
        // Enough records for several batches per worker, with a bad one inside a batch.
        var bytes: [UInt8] = []
        for i in 0..<300 {
            bytes += Array((i % 3 == 0 ? "Great phone number \(i)" : i % 3 == 1 ? "这家酒店很糟糕 \(i)" : "A boring book, volume \(i)").utf8)
            if i == 130 { bytes += [0xC3] }
            bytes.append(0x0A)
        }
        var outputs: [String] = []
        for threads in ["1", "2", "3"] {
            let r = try run("mtl-train", ["predict", "--model", model, "--threads", threads, "--batch", "16", "--on-error", "skip", "--logits"], stdin: Data(bytes))
            try #require(r.status == 0, "\(r.err)")
            outputs.append(r.out)
        }
        #expect(try Self.lines(outputs[0]).count == 300)
        #expect(outputs[1] == outputs[0] && outputs[2] == outputs[0], "predictions depend on --threads")
    }

    @Test func predictHelpListsItsOptions() throws {
        let r = try run("mtl-train", ["predict", "--help"])
        #expect(r.status == 0)
        for option in ["--model", "--input", "--format", "--text-field", "--id-field", "--top-k", "--threshold", "--on-error", "--logits", "--batch"] {
            #expect(r.out.contains(option), "predict --help lacks \(option)")
        }
    }
}
