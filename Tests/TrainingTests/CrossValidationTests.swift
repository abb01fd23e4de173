import Foundation
import Testing
@testable import Training

@Suite("Cross-validation: grids, summaries, winners")
struct CrossValidationTests {
    @Test func gridIsEveryCombinationFirstTaskSlowest() throws {
        let g = try CrossValidation.grid(["b=0.5,1,2", "a=1,0"], tasks: ["a", "b", "c"])
        #expect(g.map(\.name) == ["a=1,b=0.5,c=1", "a=0,b=0.5,c=1", "a=1,b=1,c=1", "a=0,b=1,c=1", "a=1,b=2,c=1", "a=0,b=2,c=1"])
        #expect(g[1].taskWeights == ["a": 0, "b": 0.5, "c": 1])
        #expect(g[1].weightingSpec == .weights(["a": 0, "b": 0.5, "c": 1]))
        #expect(try CrossValidation.grid([], tasks: ["a"]) == [CVSetting(name: "default", taskWeights: nil)])
        #expect(try CrossValidation.grid(["a=1,1,2"], tasks: ["a"]).count == 2, "repeated values are one setting")
    }

    @Test func badGridsAreNamed() {
        func message(_ items: [String]) -> String {
            do { _ = try CrossValidation.grid(items, tasks: ["a", "b"]); return "" } catch { return error.message }
        }
        #expect(message(["c=1"]).contains("'c'"))
        #expect(message(["a"]).contains("TASK=W1,W2"))
        #expect(message(["a=1,x"]).contains("'x'"))
        #expect(message(["a=inf"]).contains("finite"))
        #expect(message(["a=1", "a=2"]).contains("twice"))
        #expect(message(["a=0", "b=0"]).isEmpty, "one all-zero setting alone is the user's choice")
        #expect(message(["a=0,0.0", "b=0"]).isEmpty)
    }

    @Test func recordSummarisesFoldsAndPicksTheFirstBestMean() {
        var r = CrossValidationRecord(split: "s", folds: [0, 1, 2], vocabularies: [0: "v0", 1: "v1", 2: "v2"], select: "mean",
                                      settings: [CVSetting(name: "x", taskWeights: ["t": 1]), CVSetting(name: "y", taskWeights: ["t": 2])])
        let xs = [0.5, 0.7, 0.9], ys = [0.9, 0.7, 0.5]
        for k in 0..<3 {
            r.record(.init(fold: k, run: "setting-1/fold-\(k)", step: 10, aggregate: xs[k], metrics: ["t": ["accuracy": xs[k]]]), setting: 0)
            #expect(r.winner == nil && !r.complete)
        }
        for k in [2, 0, 1] {
            r.record(.init(fold: k, run: "setting-2/fold-\(k)", step: 10, aggregate: ys[k], metrics: ["t": ["accuracy": ys[k]]]), setting: 1)
        }
        #expect(r.complete)
        #expect(r.settings[1].folds.map(\.fold) == [0, 1, 2], "folds are kept in order")
        #expect(abs(r.settings[0].mean["t"]!["accuracy"]! - 0.7) < 1e-12)
        #expect(abs(r.settings[0].std["t"]!["accuracy"]! - 0.2) < 1e-12, "sample std (n − 1)")
        #expect(r.winner == 0, "equal means: the first setting wins")
        r.record(.init(fold: 1, run: "setting-2/fold-1", step: 12, aggregate: 0.8, metrics: ["t": ["accuracy": 0.8]]), setting: 1)
        #expect(r.settings[1].folds.count == 3, "a fold recorded again replaces its result")
        #expect(r.winner == 1)
        let table = r.table()
        #expect(table.contains("best setting: y"))
        #expect(table.contains("0.7000") && table.contains("0.2000"))
    }

    @Test func runPathsSeparateSettingsOnlyWithAGrid() {
        #expect(CrossValidation.runPath(setting: 0, settings: 1, fold: 3) == "fold-3")
        #expect(CrossValidation.runPath(setting: 1, settings: 4, fold: 0) == "setting-2/fold-0")
    }
}
