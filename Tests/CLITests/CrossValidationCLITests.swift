import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `mtl-train cv` on the README's 3-fold split of `Corpora/reviews.csv`, with a vocabulary per fold.
@Suite("mtl-train cv, run as a user would")
struct CrossValidationCLITests {
    typealias Fixture = TrainCLITests.Fixture
    static let flags = TrainCLITests.tiny + ["--epochs", "2", "--seed", "5"]

    /// The README's store plus the vocabularies of folds 1 and 2 (fold 0's is `main`).
    static func fixture() throws -> Fixture {
        let f = try Fixture()
        for k in 1...2 {
            let v = try run("mtl-prep", ["vocab", "--store", f.store, "--name", "main-f\(k)", "--split", "main", "--fold", "\(k)"])
            try #require(v.status == 0, "mtl-prep vocab fold \(k): \(v.err)")
        }
        return f
    }

    static func cv(_ f: Fixture, _ name: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        try f.train(["cv", "--store", f.store, "--split", "main", "--run", name] + flags + args)
    }

    static func record(_ f: Fixture, _ name: String) throws -> [String: Any] {
        try f.jsonFile(f.runPath(name) + "/cv.json")
    }

    static func settings(_ record: [String: Any]) throws -> [[String: Any]] {
        try #require(record["settings"] as? [[String: Any]], "cv.json has no settings")
    }

    /// fold → task → metric → value, from one setting of cv.json.
    static func foldMetrics(_ setting: [String: Any]) throws -> [Int: [String: [String: Double]]] {
        var out: [Int: [String: [String: Double]]] = [:]
        for fold in try #require(setting["folds"] as? [[String: Any]]) {
            out[try #require(fold["fold"] as? Int)] = try #require(fold["metrics"] as? [String: [String: Double]])
        }
        return out
    }

    @Test func foldsEqualSeparateRunsAndSummariesAreMeanAndStd() throws {
        let f = try Self.fixture()
        let r = try Self.cv(f, "cv", ["--json"])
        try #require(r.status == 0, "mtl-train cv: \(r.err)")
        let summary = try TrainCLITests.onlyJSON(r.out)
        #expect(summary["complete"] as? Bool == true)
        #expect(summary["folds"] as? [Int] == [0, 1, 2])
        let report = try String(contentsOfFile: f.runPath("cv") + "/report.html", encoding: .utf8)
        #expect(report.contains("fold-2/report.html"), "the CV report links every fold's own report")
        let setting = try #require(try Self.settings(summary).first)
        let perFold = try Self.foldMetrics(setting)
        #expect(perFold.keys.sorted() == [0, 1, 2])

        // The same settings as three separate runs, one per fold and its vocabulary.
        for (k, vocab) in [(0, "main"), (1, "main-f1"), (2, "main-f2")] {
            let one = try f.newRun("fold\(k)", ["--epochs", "2", "--seed", "5", "--fold", "\(k)", "--vocab", vocab, "--json"])
            try #require(one.status == 0, "fold \(k) alone: \(one.err)")
            let best = try #require(try TrainCLITests.onlyJSON(one.out)["best"] as? [String: Any], "no best evaluation in the run's summary")
            var metrics: [String: [String: Double]] = [:]
            for t in try #require(best["tasks"] as? [[String: Any]]) {
                metrics[try #require(t["task"] as? String)] = try #require(t["metrics"] as? [String: Double])
            }
            #expect(perFold[k] == metrics, "fold \(k): cv \(String(describing: perFold[k])) vs separate run \(metrics)")
        }

        // mean and std (n − 1) of every metric over the folds.
        let mean = try #require(setting["mean"] as? [String: [String: Double]])
        let std = try #require(setting["std"] as? [String: [String: Double]])
        for task in ["topic", "sentiment"] {
            for metric in ["accuracy", "macro_f1", "loss"] {
                let xs = try (0...2).map { try #require(perFold[$0]?[task]?[metric]) }
                let m = xs.reduce(0, +) / 3
                let s = (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 2).squareRoot()
                #expect(abs(try #require(mean[task]?[metric]) - m) < 1e-12, "\(task) \(metric) mean")
                #expect(abs(try #require(std[task]?[metric]) - s) < 1e-12, "\(task) \(metric) std")
            }
        }

        // The table shows the same numbers.
        let table = try Self.cv(f, "cv-table", [])
        try #require(table.status == 0, "\(table.err)")
        let accuracyLine = try #require(table.out.split(separator: "\n").first { $0.contains("topic") && $0.contains("accuracy") })
        #expect(accuracyLine.contains(String(format: "%.4f", try #require(mean["topic"]?["accuracy"]))), "\(accuracyLine)")
        #expect(table.out.contains("fold 0") && table.out.contains("fold 2"), "\(table.out)")
    }

    @Test func gridWinnerHasTheBestMeanAndParallelFoldsMatchSequential() throws {
        let f = try Self.fixture()
        let grid = ["--task-weights-grid", "topic=0.5,2", "sentiment=1,0"]
        let seq = try Self.cv(f, "grid", grid + ["--threads", "1", "--json"])
        try #require(seq.status == 0, "sequential grid: \(seq.err)")
        let record = try TrainCLITests.onlyJSON(seq.out)
        let settings = try Self.settings(record)
        #expect(settings.map { $0["name"] as? String } == ["sentiment=1,topic=0.5", "sentiment=0,topic=0.5", "sentiment=1,topic=2", "sentiment=0,topic=2"])
        let means = try settings.map { try #require($0["aggregateMean"] as? Double) }
        let winner = try #require(record["winner"] as? Int)
        #expect(means[winner] == means.max(), "winner \(winner) of \(means)")
        #expect(means.firstIndex(of: means.max()!) == winner, "ties go to the first setting")
        // Every setting's folds have their own run folder with its weights.
        let config = try f.jsonFile(f.runPath("grid") + "/setting-4/fold-2/config.json")
        let training = try #require(config["training"] as? [String: Any])
        #expect(String(describing: training["taskWeights"] ?? "").contains("topic"), "\(String(describing: training["taskWeights"]))")

        let par = try Self.cv(f, "grid-parallel", grid + ["--threads", "2", "--parallel-folds", "--json"])
        try #require(par.status == 0, "parallel grid: \(par.err)")
        let parallel = try TrainCLITests.onlyJSON(par.out)
        #expect(try TrainCLITests.canonical(parallel) == TrainCLITests.canonical(record), "parallel folds (one thread each) differ from sequential --threads 1")
    }

    @Test func killedCrossValidationResumesWithTheFoldItWasOn() throws {
        let f = try Self.fixture()
        let args = ["--steps", "40", "--eval-every", "5"]
        let whole = try Self.cv(f, "A", args + ["--json"])
        try #require(whole.status == 0, "\(whole.err)")

        let (_, status) = try TrainCLITests.killTrain(["cv", "--store", f.store, "--split", "main", "--run", "B", "--runs-dir", f.runs] + Self.flags + args,
                                                      whenStepIn: f.runPath("B") + "/fold-1/log.jsonl", reaches: 12)
        try #require(status == nil, "the CV ended before it could be killed in fold 1")
        let partial = try Self.record(f, "B")
        #expect(try Self.settings(partial).first?["folds"].flatMap { $0 as? [Any] }?.count == 1, "fold 0 recorded before the kill")
        #expect(partial["complete"] as? Bool == false)

        let resumed = try f.train(["cv", "--run", "B", "--resume", "--json"])
        try #require(resumed.status == 0, "\(resumed.err)")
        #expect(resumed.err.contains("fold 1: resuming"), "\(resumed.err)")
        #expect(!resumed.err.contains("fold 0:"), "fold 0 was done and must not run again: \(resumed.err)")
        #expect(try TrainCLITests.canonical(TrainCLITests.onlyJSON(resumed.out)) == TrainCLITests.canonical(TrainCLITests.onlyJSON(whole.out)))
    }

    @Test func badSetupsAreNamedWithTheFix() throws {
        let f = try Fixture()   // fold 0's vocabulary only
        let missing = try Self.cv(f, "x", [])
        #expect(missing.status != 0)
        #expect(missing.err.contains("mtl-prep vocab --name main-f1 --split main --fold 1"), "\(missing.err)")
        #expect(missing.err.contains("--fold 2"), "\(missing.err)")
        #expect(!FileManager.default.fileExists(atPath: f.runPath("x")), "a refused CV leaves no folder")

        let pattern = try Self.cv(f, "x", ["--vocab", "main"])
        #expect(pattern.status != 0 && pattern.err.contains("{fold}"), "\(pattern.err)")

        let ratio = try run("mtl-prep", ["split", "--store", f.store, "--name", "ratio", "--ratios", "0.8,0.2,0"])
        try #require(ratio.status == 0, "\(ratio.err)")
        let notKFold = try f.train(["cv", "--store", f.store, "--split", "ratio", "--run", "x"])
        #expect(notKFold.status != 0 && notKFold.err.contains("k-fold"), "\(notKFold.err)")

        for k in 1...2 { _ = try run("mtl-prep", ["vocab", "--store", f.store, "--name", "main-f\(k)", "--split", "main", "--fold", "\(k)"]) }
        let unknownTask = try Self.cv(f, "x", ["--task-weights-grid", "topc=1,2"])
        #expect(unknownTask.status != 0 && unknownTask.err.contains("'topc'") && unknownTask.err.contains("topic"), "\(unknownTask.err)")
        let badWeight = try Self.cv(f, "x", ["--task-weights-grid", "topic=1,-2"])
        #expect(badWeight.status != 0 && badWeight.err.contains("'-2'"), "\(badWeight.err)")
        let both = try Self.cv(f, "x", ["--task-weights-grid", "topic=1,2", "--task-weights", "static:topic=1"])
        #expect(both.status != 0 && both.err.contains("--task-weights-grid"), "\(both.err)")
        let fold = try Self.cv(f, "x", ["--fold", "1"])
        #expect(fold.status != 0 && fold.err.contains("--folds"), "\(fold.err)")
        let badFold = try Self.cv(f, "x", ["--folds", "0,3"])
        #expect(badFold.status != 0 && badFold.err.contains("0…2"), "\(badFold.err)")
        let noResume = try f.train(["cv", "--run", "nothing", "--resume"])
        #expect(noResume.status != 0 && noResume.err.contains("cv.json"), "\(noResume.err)")

        let ok = try Self.cv(f, "y", ["--folds", "1"])
        try #require(ok.status == 0, "\(ok.err)")
        let again = try Self.cv(f, "y", ["--folds", "1"])
        #expect(again.status != 0 && again.err.contains("--resume"), "\(again.err)")
    }

    @Test func cvHelpListsItsOptions() throws {
        let r = try run("mtl-train", ["cv", "--help"])
        #expect(r.status == 0)
        for option in ["--folds", "--task-weights-grid", "--parallel-folds", "{fold}", "cv.json"] {
            #expect(r.out.contains(option), "cv --help lacks \(option)")
        }
    }
}
