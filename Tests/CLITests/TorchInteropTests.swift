import Foundation
import Testing

/// `python/mtl_torch.py` against `mtl-train predict --logits`: tiny models with every head kind
/// (classification, multilabel, spans with BIO and BIOES CRFs, softmax and CRF tagging) and every
/// pooling, trained and exported through the CLI, then `python/check_interop.py` feeds the token
/// ids mtl-train read to the PyTorch module and requires max |Δlogit| ≤ 1e-4 and the same labels
/// and tags. Needs a Python with `torch` and `safetensors` in `$MTL_TORCH_PYTHON` (PyTorch does not
/// fit CI); skipped, saying so, without it.
@Suite("PyTorch interop: python/mtl_torch.py gives mtl-train's logits")
struct TorchInteropTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let checker = repository.appendingPathComponent("python/check_interop.py").path

    /// The Python to use, or why the test is skipped.
    static func python() -> (path: String?, skip: String?) {
        guard let python = ProcessInfo.processInfo.environment["MTL_TORCH_PYTHON"], !python.isEmpty else {
            return (nil, "MTL_TORCH_PYTHON is not set: set it to a Python with torch and safetensors (e.g. /tmp/peers/bin/python) to compare python/mtl_torch.py with mtl-train")
        }
        guard let r = try? execute(python, ["-c", "import torch, safetensors"]), r.status == 0 else {
            return (nil, "MTL_TORCH_PYTHON=\(python) cannot import torch and safetensors")
        }
        return (python, nil)
    }

    /// Runs any executable; (exit status, stdout, stderr). Files, not pipes, as `run` does.
    static func execute(_ executable: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-torch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("out"), errURL = directory.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// A small deterministic generator (xorshift64*), so the fixture is the same on every machine.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ a: [T]) -> T { a[int(a.count)] }
    }

    /// One synthetic sentence: words, and entity spans as word ranges with their type.
    static func sentence(_ g: inout Generator) -> (words: [String], entities: [(Range<Int>, String)]) {
        let people = ["alice", "bob", "carol", "dave"]
        let places = [["paris"], ["berlin"], ["new", "york"], ["san", "jose"], ["rio", "de", "janeiro"]]
        let filler = ["i", "met", "in", "saw", "the", "food", "service", "today", "was", "and", "very", "with", "good", "bad"]
        var words: [String] = [], entities: [(Range<Int>, String)] = []
        for _ in 0..<(2 + g.int(6)) {
            let x = g.int(10)
            let (piece, type): ([String], String?) = x < 2 ? ([g.pick(people)], "per") : x < 4 ? (g.pick(places), "loc") : ([g.pick(filler)], nil)
            if let type { entities.append((words.count..<(words.count + piece.count), type)) }
            words += piece
        }
        return (words, entities)
    }

    /// Character spans (`s`, `e`, `l`) of the entities in the words joined by spaces.
    static func spans(_ words: [String], _ entities: [(Range<Int>, String)]) -> [[String: Any]] {
        var starts: [Int] = [], position = 0
        for w in words { starts.append(position); position += w.count + 1 }
        return entities.map { r, type in ["s": starts[r.lowerBound], "e": starts[r.upperBound - 1] + words[r.upperBound - 1].count, "l": type] }
    }

    static func jsonl(_ rows: [[String: Any]]) throws -> Data {
        var data = Data()
        for r in rows { data += try JSONSerialization.data(withJSONObject: r, options: [.sortedKeys]) + Data([0x0A]) }
        return data
    }

    @Test func mtlTorchMatchesMtlTrainOnEveryHeadKindAndPooling() throws {
        let (pythonPath, skip) = Self.python()
        guard let python = pythonPath else { print("skipped: \(skip!)"); return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-torch-interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

        // Three sources: classification + multilabel + BIO spans; BIOES spans; pre-tokenized tagging.
        var g = Generator(state: 0x9E37_79B9_7F4A_7C15)
        var a: [[String: Any]] = [], b: [[String: Any]] = [], c: [[String: Any]] = []
        for _ in 0..<120 {
            let (words, entities) = Self.sentence(&g)
            let types = Set(entities.map(\.1))
            var cats = Set(types.map { $0 == "per" ? "person" : "place" })
            if words.contains("food") { cats.insert("food") }
            if words.contains("service") { cats.insert("service") }
            a.append(["text": words.joined(separator: " "), "topic": types.contains("loc") ? "travel" : types.contains("per") ? "people" : "other",
                      "cats": cats.sorted(), "ents": Self.spans(words, entities)])
        }
        for _ in 0..<80 {
            let (words, entities) = Self.sentence(&g)
            b.append(["text": words.joined(separator: " "), "ents2": Self.spans(words, entities)])
        }
        for _ in 0..<80 {
            let (words, entities) = Self.sentence(&g)
            var tags = [String](repeating: "W", count: words.count)
            for (r, type) in entities { for k in r { tags[k] = type == "per" ? "NAME" : "CITY" } }
            c.append(["words": words, "pos": tags])
        }
        try Self.jsonl(a).write(to: URL(fileURLWithPath: path("a.jsonl")))
        try Self.jsonl(b).write(to: URL(fileURLWithPath: path("b.jsonl")))
        try Self.jsonl(c).write(to: URL(fileURLWithPath: path("c.jsonl")))
        // Texts to predict: new sentences, empty texts (zero pooled vector), unknown words, one token, a long one.
        var texts = (0..<40).map { _ in Self.sentence(&g).words.joined(separator: " ") }
        texts += ["", "bob", "New York and Paris, with ALICE!", "", "zzz unknown qqq", Array(repeating: "paris bob", count: 40).joined(separator: " ")]
        try Data((texts.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path("texts.txt")))

        let store = path("s.sqlite")
        for args in [["import", path("a.jsonl"), "--text", "text", "--label", "topic=topic", "--multilabel", "cats=cats", "--spans", "ents=ents.*:s,e,l"],
                     ["import", path("b.jsonl"), "--text", "text", "--spans", "ents2=ents2.*:s,e,l", "--span-scheme", "BIOES"],
                     ["import", path("c.jsonl"), "--text", "words", "--tags", "pos=pos"],
                     ["split", "--name", "main", "--ratios", "0.8,0.2,0"],
                     ["vocab", "--name", "main", "--split", "main"]] {
            let r = try run("mtl-prep", args + ["--store", store])
            try #require(r.status == 0, "mtl-prep \(args[0]): \(r.err)")
        }

        // Every pooling; bidirectional and not; 1 and 2 layers; CRF and softmax on BIO, BIOES and scheme-less tags;
        // with and without a hidden head layer.
        let configurations: [(String, [String])] = [
            ("attention", ["--pooling", "attention", "--attention-size", "8", "--head-hidden", "16"]),
            ("max", ["--pooling", "max", "--bidirectional", "false", "--layers", "2", "--head", "ents=softmax", "--head", "pos=crf", "--head-hidden", "0"]),
            ("last", ["--pooling", "last", "--layers", "2", "--head", "ents2=softmax", "--head-hidden", "16"]),
            ("mean", ["--pooling", "mean", "--bidirectional", "false", "--head-hidden", "16"]),
        ]
        var models: [String] = []
        for (seed, (name, flags)) in configurations.enumerated() {
            let common = ["--store", store, "--runs-dir", path("runs"), "--run", name, "--emb", "8", "--hidden", "8",
                          "--batch-size", "8", "--steps", "150", "--lr", "0.05", "--eval-every", "1000", "--seed", "\(seed + 1)"]
            let t = try run("mtl-train", common + flags)
            try #require(t.status == 0, "mtl-train \(name): \(t.err)")
            let e = try run("mtl-train", ["export", "--runs-dir", path("runs"), "--run", name, "--checkpoint", "latest", "-o", path("model-\(name)")])
            try #require(e.status == 0, "mtl-train export \(name): \(e.err)")
            models.append(path("model-\(name)"))
        }

        let check = try Self.execute(python, [Self.checker] + models + ["--texts", path("texts.txt"),
                                     "--mtl-train", productsDirectory.appendingPathComponent("mtl-train").path])
        print(check.out)
        #expect(check.status == 0, "check_interop.py failed:\n\(check.out)\n\(check.err)")
        #expect(check.out.contains("interop: all models agree"), "\(check.out)\n\(check.err)")
        for task in ["topic", "cats", "ents", "ents2", "pos"] {
            #expect(check.out.components(separatedBy: "  ok   \(task) ").count - 1 == configurations.count, "task \(task) not checked on every model:\n\(check.out)")
        }
    }
}
