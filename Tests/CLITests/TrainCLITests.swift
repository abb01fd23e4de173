import Foundation
import Store
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `mtl-train`, run as a user would: on a store made from the repository's sample corpus
/// (`Corpora/reviews.csv`) exactly as the README's quick start makes it, with tiny models
/// (`--emb 16 --hidden 16 --batch-size 8`) so that a run takes a fraction of a second.
@Suite("mtl-train, run as a user would")
struct TrainCLITests {
    /// The repository root (this file is Tests/CLITests/TrainCLITests.swift).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let reviews = repository.appendingPathComponent("Corpora/reviews.csv").path
    /// The flags every run here shares: a tiny model, small batches.
    static let tiny = ["--batch-size", "8", "--emb", "16", "--hidden", "16"]

    /// A temporary folder with a store (`s.sqlite`) and a runs folder (`runs/`); removed at deinit.
    final class Fixture {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-train-cli-\(UUID().uuidString)")
        var store: String { path("s.sqlite") }
        var runs: String { path("runs") }

        /// - Parameters: `split`/`vocab` false leave those steps out (`vocab` without `split` builds
        ///   the vocabulary with `--all`, so that only the split is missing).
        init(split: Bool = true, vocab: Bool = true) throws {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let imp = try run("mtl-prep", ["import", TrainCLITests.reviews, "--store", store, "--text", "review",
                                           "--label", "topic=topic", "--label", "sentiment=sentiment", "--group", "user"])
            try #require(imp.status == 0, "mtl-prep import: \(imp.err)")
            if split {
                let s = try run("mtl-prep", ["split", "--store", store, "--name", "main", "--kfold", "3", "--stratify", "topic"])
                try #require(s.status == 0, "mtl-prep split: \(s.err)")
            }
            if vocab {
                let v = try run("mtl-prep", ["vocab", "--store", store, "--name", "main"] + (split ? ["--split", "main", "--fold", "0"] : ["--all"]))
                try #require(v.status == 0, "mtl-prep vocab: \(v.err)")
            }
        }
        deinit { try? FileManager.default.removeItem(at: dir) }

        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        func runPath(_ name: String) -> String { runs + "/" + name }
        func checkpoint(_ name: String, _ step: Int) -> String { runPath(name) + "/checkpoint-\(step)" }

        /// `mtl-train ARGS --runs-dir RUNS`.
        func train(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
            try CLITests.run("mtl-train", args + ["--runs-dir", runs])
        }

        /// Starts a new run on the store.
        func newRun(_ name: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
            try train(["--store", store, "--run", name] + TrainCLITests.tiny + args)
        }

        /// The steps of the `checkpoint-STEP` folders of a run, ascending.
        func checkpointSteps(_ name: String) -> [Int] {
            ((try? FileManager.default.contentsOfDirectory(atPath: runPath(name))) ?? []).compactMap { n -> Int? in
                guard n.hasPrefix("checkpoint-") else { return nil }
                return Int(n.dropFirst("checkpoint-".count))
            }.sorted()
        }

        /// Every line of a run's log.jsonl, parsed (a line that is not a JSON object is recorded as an issue).
        func log(_ name: String) throws -> [[String: Any]] {
            let text = try String(contentsOfFile: runPath(name) + "/log.jsonl", encoding: .utf8)
            #expect(text.hasSuffix("\n"), "log.jsonl does not end with a newline")
            return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().compactMap { line in
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object != nil, "log.jsonl line is not a JSON object: \(line)")
                return object
            }
        }

        func jsonFile(_ path: String) throws -> [String: Any] {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(path) is not a JSON object")
        }
    }

    /// The one JSON document on standard output (a test fails when anything else is there).
    static func onlyJSON(_ out: String) throws -> [String: Any] {
        let lines = out.split(separator: "\n")
        #expect(lines.count == 1, "stdout holds more than the summary line: \(out)")
        return try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], "stdout is not a JSON object: \(out)")
    }

    static func sha256(_ path: String) throws -> String { try SHA256.hexDigest(ofFile: path) }

    /// A JSON object with some keys removed, as canonical text (a readable diff on failure).
    static func canonical(_ object: [String: Any], without keys: Set<String> = []) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object.filter { !keys.contains($0.key) },
                                                   options: [.sortedKeys, .prettyPrinted]), as: UTF8.self)
    }

    static func steps(_ events: [[String: Any]], _ type: String) -> [Int] {
        events.filter { $0["type"] as? String == type }.compactMap { $0["step"] as? Int }
    }

    // MARK: - 1. A run and its folder

    @Test func runWritesItsFolderAndJSONSummary() throws {
        let f = try Fixture()
        let r = try f.newRun("one", ["--steps", "20", "--eval-every", "5", "--seed", "1", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let summary = try Self.onlyJSON(r.out)
        #expect(summary["steps"] as? Int == 20)
        #expect(summary["stopReason"] as? String == "steps")
        #expect(summary["run"] as? String == f.runPath("one"))
        let bestStep = try #require(summary["bestStep"] as? Int, "summary: no bestStep in \(summary.keys.sorted())")
        #expect((summary["best"] as? [String: Any])?["step"] as? Int == bestStep)
        #expect((summary["last"] as? [String: Any])?["step"] as? Int == 20)
        #expect(r.err.contains("step 20: dev"), "evaluations are reported on stderr: \(r.err)")

        // log.jsonl: every line JSON; start first, end last, one step event per step.
        let events = try f.log("one")
        let types = events.map { $0["type"] as? String ?? "?" }
        #expect(types.first == "start" && types.last == "end", "\(types)")
        for t in ["start", "step", "eval", "checkpoint", "end"] { #expect(types.contains(t), "no '\(t)' event in log.jsonl") }
        #expect(Self.steps(events, "step") == Array(1...20))
        let evaluated = Self.steps(events, "eval")
        #expect(Set([5, 10, 15, 20]).isSubset(of: evaluated), "evaluations at \(evaluated)")
        #expect(Self.steps(events, "checkpoint") == evaluated, "every evaluation is checkpointed")
        let end = try #require(events.last)
        #expect(end["step"] as? Int == 20 && end["best_step"] as? Int == bestStep, "\(end)")

        // metrics-STEP.json for every evaluation; the best is the first highest aggregate.
        var aggregates: [Int: Double] = [:]
        for step in evaluated {
            let m = try f.jsonFile(f.runPath("one") + "/metrics-\(step).json")
            #expect(m["step"] as? Int == step)
            aggregates[step] = try #require(m["aggregate"] as? Double)
        }
        let best = evaluated.max { (aggregates[$0]!, -$0) < (aggregates[$1]!, -$1) }
        #expect(best == bestStep, "aggregates \(aggregates.sorted { $0.key < $1.key })")

        // Checkpoints kept: the two newest (--keep-last 2) and the best (--keep-best 1).
        let kept = f.checkpointSteps("one")
        #expect(kept == Set(evaluated.suffix(2) + [bestStep]).sorted())
        #expect(summary["checkpoints"] as? [Int] == kept)
        let index = try f.jsonFile(f.runPath("one") + "/checkpoints.json")
        #expect(index["latest"] as? String == "checkpoint-20")
        #expect(index["best"] as? String == "checkpoint-\(bestStep)")
        #expect((index["checkpoints"] as? [[String: Any]])?.compactMap { $0["step"] as? Int } == kept)

        let files = ["config.json", "fingerprints.json", "metrics.json", "model.safetensors", "state.json", "text.json"]
        for step in kept {
            let dir = f.checkpoint("one", step)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == (["MANIFEST.json"] + files).sorted(), "checkpoint-\(step)")
            let manifest = try f.jsonFile(dir + "/MANIFEST.json")
            #expect(manifest["step"] as? Int == step)
            let entries = try #require(manifest["files"] as? [String: [String: Any]])
            #expect(entries.keys.sorted() == files)
            for (name, entry) in entries {
                let size = (try FileManager.default.attributesOfItem(atPath: dir + "/" + name))[.size] as? Int
                #expect(entry["bytes"] as? Int == size, "checkpoint-\(step)/\(name)")
                #expect(entry["sha256"] as? String == (try Self.sha256(dir + "/" + name)), "checkpoint-\(step)/\(name)")
            }
            #expect(try f.jsonFile(dir + "/state.json")["step"] as? Int == step)
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/metrics.json")) == Data(contentsOf: URL(fileURLWithPath: f.runPath("one") + "/metrics-\(step).json")))
        }
        #expect(FileManager.default.fileExists(atPath: f.runPath("one") + "/config.json"))
    }

    // MARK: - 2. kill -9, then --resume: the same weights

    /// SplitMix64, for the kill step.
    struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// The highest step a log.jsonl shows (complete lines only).
    static func lastLoggedStep(_ path: String) -> Int {
        guard let data = FileManager.default.contents(atPath: path), let end = data.lastIndex(of: 0x0A) else { return 0 }
        var last = 0
        for line in data[..<end].split(separator: 0x0A) {
            if let o = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], o["type"] as? String == "step", let s = o["step"] as? Int {
                last = max(last, s)
            }
        }
        return last
    }

    /// Starts `mtl-train ARGS`, waits until `log` shows a step ≥ `step`, and kills it with SIGKILL.
    /// Returns the last step seen and nil, or the exit status when it ended before the kill.
    static func killTrain(_ args: [String], whenStepIn log: String, reaches step: Int) throws -> (seen: Int, exitStatus: Int32?) {
        let child = Process()
        child.executableURL = productsDirectory.appendingPathComponent("mtl-train")
        child.arguments = args
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        let deadline = Date().addingTimeInterval(120)
        var seen = 0
        while child.isRunning && Date() < deadline {
            seen = lastLoggedStep(log)
            if seen >= step { break }
            usleep(500)
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        return (seen, child.terminationReason == .uncaughtSignal ? nil : child.terminationStatus)
    }

    @Test func killedAtARandomStepResumesToTheSameWeights() throws {
        // The kill step varies from run to run; MTL_TRAIN_KILL_SEED=N repeats one.
        let seed = ProcessInfo.processInfo.environment["MTL_TRAIN_KILL_SEED"].flatMap { UInt64($0) } ?? UInt64(Date().timeIntervalSince1970 * 1000)
        var rng = SplitMix64(state: seed)
        let k = 12 + Int(rng.next() % 34)   // 12...45
        let why: Comment = "kill at step ≥ \(k) (MTL_TRAIN_KILL_SEED=\(seed))"

        let f = try Fixture()
        let args = ["--steps", "60", "--eval-every", "5", "--seed", "3"]
        let a = try f.newRun("A", args)
        try #require(a.status == 0, "run A: \(a.err)")

        let (seen, status) = try Self.killTrain(["--store", f.store, "--run", "B", "--runs-dir", f.runs] + Self.tiny + args,
                                                whenStepIn: f.runPath("B") + "/log.jsonl", reaches: k)
        try #require(status == nil, "run B ended (status \(status ?? 0)) before it could be killed; \(why)")
        #expect(seen >= k && seen < 60, why)

        let resumed = try f.train(["--run", "B", "--resume"])
        #expect(resumed.status == 0, "\(why): \(resumed.err)")
        #expect(resumed.err.contains("resuming"), "\(resumed.err)")

        let modelA = f.checkpoint("A", 60) + "/model.safetensors", modelB = f.checkpoint("B", 60) + "/model.safetensors"
        try #require(FileManager.default.fileExists(atPath: modelB), "\(why): no checkpoint-60 in run B")
        #expect(try Self.sha256(modelA) == Self.sha256(modelB), "model.safetensors differs; \(why)")
        let stateA = try Self.canonical(try f.jsonFile(f.checkpoint("A", 60) + "/state.json"), without: ["logBytes"])
        let stateB = try Self.canonical(try f.jsonFile(f.checkpoint("B", 60) + "/state.json"), without: ["logBytes"])
        #expect(stateA == stateB, why)
        #expect(f.checkpointSteps("A") == f.checkpointSteps("B"), why)
        #expect(try Data(contentsOf: URL(fileURLWithPath: f.runPath("A") + "/checkpoints.json")) ==
                Data(contentsOf: URL(fileURLWithPath: f.runPath("B") + "/checkpoints.json")), why)

        // The log of B: the steps and evaluations of A, each once, with the same losses and aggregates.
        func trace(_ events: [[String: Any]]) throws -> [String] {
            try events.filter { ["step", "eval"].contains($0["type"] as? String) }.map { try Self.canonical($0, without: ["time"]) }
        }
        let logB = try f.log("B")
        #expect(try trace(f.log("A")) == trace(logB), why)
        #expect(Self.steps(logB, "resume").count == 1, why)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: f.runPath("B")).filter { $0.contains(".partial-") }
        #expect(leftovers.isEmpty, "partial checkpoints left behind: \(leftovers); \(why)")
    }

    /// The same for a run with an attention decoder beside a classifier (`Corpora/numbers.csv`:
    /// number names → digits, and the digit count): its checkpoints carry the decoder too.
    @Test func aKilledSeq2seqRunResumesToTheSameWeights() throws {
        let seed = ProcessInfo.processInfo.environment["MTL_TRAIN_KILL_SEED"].flatMap { UInt64($0) } ?? UInt64(Date().timeIntervalSince1970 * 1000)
        var rng = SplitMix64(state: seed)
        let k = 8 + Int(rng.next() % 28)   // 8...35
        let why: Comment = "kill at step ≥ \(k) (MTL_TRAIN_KILL_SEED=\(seed))"
        let f = try Fixture(split: false, vocab: false)
        let numbers = Self.repository.appendingPathComponent("Corpora/numbers.csv").path
        let store = f.path("n.sqlite")
        for step in [["import", numbers, "--store", store, "--text", "source", "--seq2seq", "number=target", "--label", "digits=digits"],
                     ["split", "--store", store, "--name", "main", "--ratios", "0.8,0.2,0", "--seed", "1"],
                     ["vocab", "--store", store, "--name", "main", "--split", "main"]] {
            let r = try run("mtl-prep", step)
            try #require(r.status == 0, "mtl-prep \(step[0]): \(r.err)")
        }
        let args = ["--steps", "40", "--eval-every", "5", "--seed", "4", "--decoder-hidden", "32"]
        let a = try f.train(["--store", store, "--run", "A"] + Self.tiny + args)
        try #require(a.status == 0, "run A: \(a.err)")
        let (seen, status) = try Self.killTrain(["--store", store, "--run", "B", "--runs-dir", f.runs] + Self.tiny + args,
                                                whenStepIn: f.runPath("B") + "/log.jsonl", reaches: k)
        try #require(status == nil, "run B ended (status \(status ?? 0)) before it could be killed; \(why)")
        #expect(seen >= k && seen < 40, why)
        let resumed = try f.train(["--run", "B", "--resume"])
        #expect(resumed.status == 0, "\(why): \(resumed.err)")
        let modelA = f.checkpoint("A", 40) + "/model.safetensors", modelB = f.checkpoint("B", 40) + "/model.safetensors"
        try #require(FileManager.default.fileExists(atPath: modelB), "\(why): no checkpoint-40 in run B")
        #expect(try Self.sha256(modelA) == Self.sha256(modelB), "model.safetensors differs; \(why)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: f.checkpoint("A", 40) + "/metrics.json")) ==
                Data(contentsOf: URL(fileURLWithPath: f.checkpoint("B", 40) + "/metrics.json")), why)
    }

    /// A resume cuts the log back to its checkpoint, but the checkpoint's own `checkpoint` event
    /// stays: the resumed log reads like the uninterrupted one, plus a `resume` line.
    @Test func resumedLogKeepsTheResumedCheckpointsEvent() throws {
        let f = try Fixture()
        #expect(try f.newRun("r", ["--steps", "10", "--eval-every", "5"]).status == 0)
        let r = try f.train(["--run", "r", "--resume", "--steps", "15"])
        #expect(r.status == 0, "\(r.err)")
        let events = try f.log("r").filter { $0["type"] as? String != "step" }
        let trace = events.map { "\($0["type"] as? String ?? "?") \($0["step"] as? Int ?? -1)" }
        #expect(trace.first == "start -1")
        #expect(Array(trace.dropFirst()) == ["eval 5", "checkpoint 5", "eval 10", "checkpoint 10", "resume 10",
                                             "eval 15", "checkpoint 15", "end 15"])
    }

    // MARK: - 3. Checkpoints that do not verify are skipped

    /// A run of 20 steps; returns the newest checkpoint's model bytes and the previous checkpoint's step.
    func finishedRun(_ f: Fixture, _ name: String) throws -> (model: Data, previous: Int) {
        let r = try f.newRun(name, ["--steps", "20", "--eval-every", "5"])
        try #require(r.status == 0, "\(r.err)")
        let steps = f.checkpointSteps(name)
        try #require(steps.count >= 2 && steps.last == 20, "checkpoints \(steps)")
        return (try Data(contentsOf: URL(fileURLWithPath: f.checkpoint(name, 20) + "/model.safetensors")), steps[steps.count - 2])
    }

    @Test func truncatedCheckpointIsSkippedWithAMessage() throws {
        let f = try Fixture()
        let (original, previous) = try finishedRun(f, "t")
        let model = f.checkpoint("t", 20) + "/model.safetensors"
        try #require(truncate(model, off_t(original.count / 2)) == 0)

        let r = try f.train(["--run", "t", "--resume"])
        #expect(r.status == 0, "\(r.err)")
        let skip = r.err.split(separator: "\n").first { $0.contains("checkpoint-20") } ?? ""
        #expect(skip.contains("skipping") && (skip.contains("truncated") || skip.contains("bytes")), "\(r.err)")
        #expect(r.err.contains("from checkpoint-\(previous)"), "\(r.err)")
        // Re-trained from the previous checkpoint: the same weights as before the damage.
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == original)
        #expect(try f.jsonFile(f.runPath("t") + "/checkpoints.json")["latest"] as? String == "checkpoint-20")
    }

    @Test func checkpointWithAFlippedByteIsSkipped() throws {
        let f = try Fixture()
        let (original, previous) = try finishedRun(f, "c")
        let model = f.checkpoint("c", 20) + "/model.safetensors"
        var damaged = original
        damaged[damaged.count / 2] ^= 0x01
        try damaged.write(to: URL(fileURLWithPath: model))

        let r = try f.train(["--run", "c", "--resume"])
        #expect(r.status == 0, "\(r.err)")
        let skip = r.err.split(separator: "\n").first { $0.contains("checkpoint-20") } ?? ""
        #expect(skip.contains("skipping") && skip.contains("SHA-256"), "\(r.err)")
        #expect(r.err.contains("from checkpoint-\(previous)"), "\(r.err)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == original)
    }

    /// The same checkpoint rejected twice (a crash loop: two resumes within one second each find
    /// checkpoint-20 damaged): the second resume must not fail on the first one's evidence.
    @Test func checkpointRejectedTwiceStillResumes() throws {
        let f = try Fixture()
        let (original, _) = try finishedRun(f, "twice")
        let model = f.checkpoint("twice", 20) + "/model.safetensors"
        try #require(truncate(model, 100) == 0)
        let first = try f.train(["--run", "twice", "--resume"])
        try #require(first.status == 0, "\(first.err)")

        // Whatever name the first rejection used, the second may pick the same one when it comes
        // within the same second: stand in for that by occupying the names of the next two minutes.
        let entries = try FileManager.default.contentsOfDirectory(atPath: f.runPath("twice"))
        if let evidence = entries.first(where: { $0.hasPrefix("checkpoint-20.") }),
           let dash = evidence.lastIndex(of: "-"), let t = Int(evidence[evidence.index(after: dash)...]) {
            let prefix = f.runPath("twice") + "/" + String(evidence[...dash])
            for s in t + 1...t + 120 { try? FileManager.default.createDirectory(atPath: prefix + String(s), withIntermediateDirectories: false) }
        }
        try #require(truncate(model, 100) == 0)
        let second = try f.train(["--run", "twice", "--resume"])
        #expect(second.status == 0, "\(second.err)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == original)
    }

    // MARK: - 4. Changed settings on resume

    /// On resume only the batch flags given change the recorded loader configuration: an explicit
    /// default value is a change, an omitted flag keeps the run's value.
    @Test func resumeAppliesOnlyTheBatchFlagsGiven() throws {
        let f = try Fixture()
        let first = try f.newRun("s", ["--steps", "10", "--eval-every", "5", "--strategy", "round-robin", "--max-length", "40"])
        try #require(first.status == 0, "\(first.err)")
        let same = try f.train(["--run", "s", "--resume", "--steps", "12"])
        #expect(same.status == 0, "\(same.err)")
        let changed = try f.train(["--run", "s", "--resume", "--steps", "14", "--max-length", "128"])
        #expect(changed.status != 0)
        #expect(changed.err.contains("maxLength") && changed.err.contains("40 → 128"), "\(changed.err)")
        #expect(!changed.err.contains("taskSampling") && !changed.err.contains("batchSize"), "\(changed.err)")
    }

    @Test func changedHiddenSizeIsRefusedWithTheDifference() throws {
        let f = try Fixture()
        let first = try f.newRun("h", ["--steps", "10", "--eval-every", "5"])
        try #require(first.status == 0, "\(first.err)")
        let folder = f.runPath("h")
        func snapshot() throws -> [String: Data] {
            var s: [String: Data] = [:]
            for name in ["config.json", "log.jsonl", "checkpoints.json", "checkpoint-10/model.safetensors", "checkpoint-10/state.json"] {
                s[name] = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
            }
            return s
        }
        let before = try snapshot()

        let refused = try f.train(["--run", "h", "--resume", "--hidden", "32"])
        #expect(refused.status != 0)
        #expect(refused.out.isEmpty)
        #expect(refused.err.contains("--hidden") && refused.err.contains("16 → 32"), "\(refused.err)")
        #expect(refused.err.contains("--force"), "\(refused.err)")
        #expect(try snapshot() == before, "a refused resume changed the run folder")

        // --force cannot load weights of another shape: a clear error naming the checkpoint, no
        // crash, and the run left as it was.
        let forced = try f.train(["--run", "h", "--resume", "--hidden", "32", "--force"])
        #expect(forced.status != 0 && forced.err.hasPrefix("Error:"), "status \(forced.status): \(forced.err)")
        #expect(forced.out.isEmpty)
        #expect(forced.err.contains("checkpoint-10") && forced.err.contains("shape"), "\(forced.err)")
        #expect(!forced.err.contains("Fatal error"), "\(forced.err)")
        #expect(try snapshot() == before, "a failed --force resume changed the run folder")

        // A longer run is an accepted change, and the message says so.
        let longer = try f.train(["--run", "h", "--resume", "--steps", "15", "--json"])
        #expect(longer.status == 0, "\(longer.err)")
        #expect(longer.err.contains("changed settings") && longer.err.contains("--steps") && longer.err.contains("10 → 15"), "\(longer.err)")
        #expect(try Self.onlyJSON(longer.out)["steps"] as? Int == 15)
        #expect(f.checkpointSteps("h").last == 15)
    }

    // MARK: - 5. Bad input names the fix

    @Test func badInputIsNamedWithTheFix() throws {
        let f = try Fixture()
        let noVocab = try Fixture(split: false, vocab: false)
        let noSplit = try Fixture(split: false, vocab: true)
        let cases: [(Fixture, [String], [String])] = [
            (noVocab, ["--store", noVocab.store, "--run", "x"], ["mtl-prep vocab"]),
            (noSplit, ["--store", noSplit.store, "--run", "x"], ["mtl-prep split"]),
            (f, ["--store", f.store, "--run", "x", "--task", "nosuch"], ["nosuch", "sentiment", "topic"]),
            (f, ["--store", f.store, "--run", "x", "--fold", "7"], ["fold 7", "0…2"]),
            (f, ["--store", f.store, "--run", "x", "--head", "topic=crf"], ["topic", "classification task"]),
            (f, ["--store", f.store, "--run", "x", "--embeddings", "nosuch"], ["nosuch", "mtl-prep vocab embed"]),
            (f, ["--store", f.path("none.sqlite"), "--run", "x"], ["no such store", "mtl-prep import"]),
            (f, ["--run", "nosuch", "--resume"], [f.runPath("nosuch"), "no such run folder to resume"]),
        ]
        for (fixture, args, phrases) in cases {
            let r = try fixture.train(args + Self.tiny + ["--steps", "5"])
            #expect(r.status != 0, "\(args)")
            #expect(r.out.isEmpty, "\(args): stdout \(r.out)")
            for p in phrases { #expect(r.err.contains(p), "\(args): '\(p)' missing from: \(r.err)") }
            #expect(!FileManager.default.fileExists(atPath: fixture.runPath(args.contains("--resume") ? "nosuch" : "x")), "\(args) left a run folder")
        }
    }

    // MARK: - 6. mtl-train eval

    @Test func evalReproducesTheBestCheckpointsMetrics() throws {
        let f = try Fixture()
        let r = try f.newRun("e", ["--steps", "20", "--eval-every", "5"])
        try #require(r.status == 0, "\(r.err)")
        let best = try #require(try f.jsonFile(f.runPath("e") + "/checkpoints.json")["best"] as? String)
        let bestStep = try #require(Int(best.dropFirst("checkpoint-".count)))
        let common = ["eval", "--run", "e", "--runs-dir", f.runs, "--checkpoint", "best", "--part", "dev"]

        let text = try run("mtl-train", common)
        #expect(text.status == 0, "\(text.err)")
        #expect(text.out.contains("evaluation on dev at step \(bestStep)"), "\(text.out)")
        for word in ["accuracy", "sentiment", "topic"] { #expect(text.out.contains(word), "'\(word)' missing from: \(text.out)") }

        let j = try run("mtl-train", common + ["--json"])
        #expect(j.status == 0, "\(j.err)")
        let evaluation = try Self.onlyJSON(j.out)
        #expect(evaluation["step"] as? Int == bestStep)
        let saved = try f.jsonFile(f.runPath("e") + "/metrics-\(bestStep).json")
        func accuracies(_ e: [String: Any]) -> [String: Double] {
            var out: [String: Double] = [:]
            for t in e["tasks"] as? [[String: Any]] ?? [] {
                if let name = t["task"] as? String, let a = (t["metrics"] as? [String: Any])?["accuracy"] as? Double { out[name] = a }
            }
            return out
        }
        #expect(Set(accuracies(saved).keys) == ["sentiment", "topic"])
        #expect(accuracies(evaluation) == accuracies(saved))
        #expect(evaluation["aggregate"] as? Double == saved["aggregate"] as? Double)
    }

    // MARK: - 7. Help

    static let optionsInHelp = ["--task-weights", "--select", "--patience", "--keep-last", "--head", "--strategy",
                                "--class-balance", "--eval-every", "--resume", "--force", "--runs-dir", "--hidden"]

    @Test func helpListsEveryOptionGroup() throws {
        let help = try run("mtl-train", ["--help"])
        #expect(help.status == 0)
        for option in Self.optionsInHelp { #expect(help.out.contains(option), "\(option) missing from mtl-train --help") }
    }

    @Test func evalHelpListsItsOptions() throws {
        let help = try run("mtl-train", ["eval", "--help"])
        #expect(help.status == 0)
        for option in ["--run", "--runs-dir", "--checkpoint", "--part", "--json"] { #expect(help.out.contains(option), "\(option) missing from mtl-train eval --help") }
    }
}
