import Foundation
import Store
import Testing
import TestSupport
@testable import Splits

/// Examples with a skewed label (70/20/10) and some duplicates and groups.
func syntheticExamples(_ n: Int, prefix: String = "w", duplicatesEvery: Int = 0) -> [SyntheticExample] {
    (0..<n).map { i in
        let label = i % 10 < 7 ? "a" : i % 10 < 9 ? "b" : "c"
        let text = duplicatesEvery > 0 && i % duplicatesEvery == 1 ? "\(prefix) dup \(i / duplicatesEvery % 7)" : "\(prefix) text \(i) x\(i % 13)"
        return SyntheticExample(text, ["label": label, "other": i % 3 == 0 ? "yes" : "no"], group: "g\(i / 5)")
    }
}

func partOfText(_ store: ExampleStore, _ split: SplitRecord, fold: Int = 0) throws -> [String: SplitPart] {
    let a = try store.assignments(splitID: split.id)
    var byID: [Int64: SplitPart] = [:]
    for i in 0..<a.count { byID[a.exampleIDs[i]] = split.part(stored: a.parts[i], fold: a.folds[i], in: fold) }
    var out: [String: SplitPart] = [:]
    try store.forEachExample { e in out[e.text] = byID[e.id] }
    return out
}

@Suite struct SplitterTests {
    @Test func ratioSplitIsDeterministicAndSeedDependent() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("s.sqlite"))
        try addSource(store, path: "a.csv", syntheticExamples(500))
        let spec = try SplitSpec(kind: .ratio(train: 0.8, dev: 0.1, test: 0.1), seed: 1)
        let a = try Splitter.run(store: store, name: "a", spec: spec).split
        let b = try Splitter.run(store: store, name: "b", spec: spec).split
        let c = try Splitter.run(store: store, name: "c", spec: try SplitSpec(kind: .ratio(train: 0.8, dev: 0.1, test: 0.1), seed: 2)).split
        #expect(try store.assignments(splitID: a.id) == store.assignments(splitID: b.id))
        #expect(try store.assignments(splitID: a.id) != store.assignments(splitID: c.id))
        let parts = try store.assignments(splitID: a.id).parts
        #expect(parts.filter { $0 == .train }.count == 400)
        #expect(parts.filter { $0 == .dev }.count == 50)
        #expect(parts.filter { $0 == .test }.count == 50)
    }

    @Test func stratifiedFoldsKeepProportions() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("s.sqlite"))
        try addSource(store, path: "a.csv", syntheticExamples(2000))
        let spec = try SplitSpec(kind: .kfold(folds: 5, test: 0.1), seed: 3, stratify: ["label", "other"])
        let split = try Splitter.run(store: store, name: "cv", spec: spec).split
        let report = try SplitReport.make(store: store, split: split)
        #expect(report.parts.map(\.name) == ["test", "fold 0", "fold 1", "fold 2", "fold 3", "fold 4"])
        for p in report.parts {
            for (task, dev) in p.maxDeviation { #expect(dev < 1.0, "\(p.name) \(task) deviates \(dev) points") }
        }
        // Each of the 6 strata (3 labels × 2) is dealt to within one example.
        #expect(abs(report.parts[0].examples - 200) <= 6)
        for p in report.parts.dropFirst() { #expect(abs(p.examples - 360) <= 6) }
        #expect(report.isLeakFree)
    }

    @Test func duplicatesAndGroupsNeverStraddle() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("s.sqlite"))
        // Duplicate texts with different case (same normalized text) and different labels.
        var examples = syntheticExamples(600, duplicatesEvery: 4)
        examples.append(SyntheticExample("W DUP 3", ["label": "c", "other": "no"]))
        try addSource(store, path: "a.csv", examples)
        for grouping in [SplitSpec.Grouping.none, .key] {
            let split = try Splitter.run(store: store, name: "g-\(grouping)", spec: try SplitSpec(kind: .kfold(folds: 4, test: 0.2), seed: 9, stratify: ["label"], grouping: grouping)).split
            let a = try store.assignments(splitID: split.id)
            var bucketOfText: [String: Set<String>] = [:]
            var bucketOfGroup: [String: Set<String>] = [:]
            var byID: [Int64: String] = [:]
            for i in 0..<a.count { byID[a.exampleIDs[i]] = a.parts[i] == .test ? "test" : "fold \(a.folds[i])" }
            try store.forEachExample { e in
                bucketOfText[e.text.lowercased(), default: []].insert(byID[e.id]!)
                if let g = e.groupKey { bucketOfGroup[g, default: []].insert(byID[e.id]!) }
            }
            #expect(bucketOfText.values.allSatisfy { $0.count == 1 }, "a duplicate straddles parts with grouping \(grouping)")
            if grouping == .key { #expect(bucketOfGroup.values.allSatisfy { $0.count == 1 }) }
            let report = try SplitReport.make(store: store, split: split)
            #expect(report.duplicatesAcrossParts == 0)
            if grouping == .key { #expect(report.groupsAcrossParts == 0) } else if grouping == .none { #expect(report.groupsAcrossParts == nil) }
        }
        // Without grouping by key, groups do straddle: the report sees it (the check can fail).
        let loose = try #require(try store.split(named: "g-none"))
        let a = try store.assignments(splitID: loose.id)
        var groups: [String: Set<Int32>] = [:]
        var partOf: [Int64: Int32] = [:]
        for i in 0..<a.count { partOf[a.exampleIDs[i]] = a.parts[i] == .test ? -1 : a.folds[i] }
        try store.forEachExample { e in if let g = e.groupKey { groups[g, default: []].insert(partOf[e.id]!) } }
        #expect(groups.values.contains { $0.count > 1 })
    }

    @Test func groupingBySourceKeepsFilesTogether() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("s.sqlite"))
        for f in 0..<12 { try addSource(store, path: "f\(f).csv", syntheticExamples(20 + f, prefix: "f\(f)")) }
        let split = try Splitter.run(store: store, name: "s", spec: try SplitSpec(kind: .kfold(folds: 3, test: 0), seed: 1, grouping: .source)).split
        let report = try SplitReport.make(store: store, split: split)
        #expect(report.groupsAcrossParts == 0)
        #expect(report.parts.allSatisfy { $0.examples > 0 })
        let a = try store.assignments(splitID: split.id)
        var foldOfSource: [Int64: Set<Int32>] = [:]
        var sourceOf: [Int64: Int64] = [:]
        try store.forEachExample { sourceOf[$0.id] = $0.sourceID }
        for i in 0..<a.count { foldOfSource[sourceOf[a.exampleIDs[i]]!, default: []].insert(a.folds[i]) }
        #expect(foldOfSource.count == 12 && foldOfSource.values.allSatisfy { $0.count == 1 })
    }

    @Test func predefinedPartsAreKeptAndWinConflicts() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("s.sqlite"))
        try addSource(store, path: "train.csv", syntheticExamples(300))
        // An official test set sharing one text with train: the whole group goes to test.
        try addSource(store, path: "test.csv", part: "test", [SyntheticExample("official one", ["label": "a"]), SyntheticExample("W TEXT 5 X5", ["label": "a"])])
        let split = try Splitter.run(store: store, name: "r", spec: try SplitSpec(kind: .ratio(train: 0.9, dev: 0.1, test: 0), seed: 0))
        #expect(split.outcome.predefinedConflicts == 1)
        let parts = try partOfText(store, split.split)
        #expect(parts["official one"] == .test)
        #expect(parts["W TEXT 5 X5"] == .test)
        #expect(parts["w text 5 x5"] == .test)
        #expect(parts.values.filter { $0 == .test }.count == 3)
        let kfold = try Splitter.run(store: store, name: "k", spec: try SplitSpec(kind: .kfold(folds: 3, test: 0), seed: 0))
        let kparts = try partOfText(store, kfold.split)
        #expect(kparts["official one"] == .test)
        #expect(kparts.values.filter { $0 == .test }.count == 3)
    }

    @Test func partsDependOnIdentityNotRowOrderAndStayStable() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let examples = syntheticExamples(400)
        let forward = try ExampleStore(path: dir.path("f.sqlite"))
        try addSource(forward, path: "a.csv", examples)
        let backward = try ExampleStore(path: dir.path("b.sqlite"))
        try addSource(backward, path: "a.csv", examples.reversed())
        let spec = try SplitSpec(kind: .kfold(folds: 5, test: 0), seed: 4, stratify: ["label"])
        let f = try partOfText(forward, Splitter.run(store: forward, name: "s", spec: spec).split, fold: 2)
        let b = try partOfText(backward, Splitter.run(store: backward, name: "s", spec: spec).split, fold: 2)
        #expect(f == b)

        // Adding examples of a label absent so far moves nobody; adding to a stratum moves few.
        try addSource(forward, path: "new.csv", (0..<50).map { SyntheticExample("fresh \($0)", ["label": "d", "other": "no"]) })
        let after = try partOfText(forward, Splitter.run(store: forward, name: "s2", spec: spec).split, fold: 2)
        #expect(f.allSatisfy { after[$0.key] == $0.value })
        try addSource(forward, path: "more.csv", (0..<10).map { SyntheticExample("more \($0)", ["label": "a", "other": "no"]) })
        let later = try partOfText(forward, Splitter.run(store: forward, name: "s3", spec: spec).split, fold: 2)
        let moved = f.filter { later[$0.key] != $0.value }.count
        #expect(moved <= 10 + 5 * 2, "\(moved) examples moved after adding 10")
    }

    @Test func rareLabelsAreSpreadAndWarnedAbout() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("s.sqlite"))
        var examples = syntheticExamples(200)
        examples += (0..<3).map { SyntheticExample("rare \($0)", ["label": "rare", "other": "no"]) }
        try addSource(store, path: "a.csv", examples)
        let split = try Splitter.run(store: store, name: "cv", spec: try SplitSpec(kind: .kfold(folds: 5, test: 0), seed: 0, stratify: ["label"])).split
        let report = try SplitReport.make(store: store, split: split)
        #expect(report.warnings.contains { $0.contains("'rare' has 3 examples, fewer than the 5 folds") })
        let foldsWithRare = report.parts.filter { ($0.labels["label"]?["rare"] ?? 0) > 0 }
        #expect(foldsWithRare.count == 3)
    }

    @Test func badRequestsAreClearErrorsAndLeaveTheStoreUnchanged() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let empty = try ExampleStore(path: dir.path("e.sqlite"))
        #expect(throws: SplitError("the store has no examples; import some first (mtl-prep import)")) {
            try Splitter.run(store: empty, name: "x", spec: try SplitSpec(kind: .kfold(folds: 2, test: 0)))
        }
        #expect(throws: SplitError("--kfold 1: K must be at least 2")) { try SplitSpec(kind: .kfold(folds: 1, test: 0)) }
        #expect(throws: SplitError("ratios 0.8,0.1,0.2 sum to 1.1, not 1")) { try SplitSpec(kind: .ratio(train: 0.8, dev: 0.1, test: 0.2)) }
        let store = try ExampleStore(path: dir.path("s.sqlite"))
        try addSource(store, path: "a.csv", syntheticExamples(6))
        let before = try dumpTables(dir.path("s.sqlite"), ["splits", "split_assignments"])
        #expect(throws: SplitError("--kfold 10 is larger than the 6 examples left to fold (after groups and the test part)")) {
            try Splitter.run(store: store, name: "x", spec: try SplitSpec(kind: .kfold(folds: 10, test: 0)))
        }
        do {
            _ = try Splitter.run(store: store, name: "x", spec: try SplitSpec(kind: .kfold(folds: 2, test: 0), stratify: ["nope"]))
            Issue.record("an unknown task was accepted")
        } catch let e as SplitError {
            #expect(e.message.hasPrefix("unknown task 'nope' for --stratify; the store has: "))
        }
        _ = try Splitter.run(store: store, name: "x", spec: try SplitSpec(kind: .kfold(folds: 2, test: 0)))
        #expect(throws: SplitError("a split named 'x' exists; choose another name or replace it (--replace)")) {
            try Splitter.run(store: store, name: "x", spec: try SplitSpec(kind: .kfold(folds: 3, test: 0)))
        }
        try store.deleteSplit(named: "x")
        #expect(try dumpTables(dir.path("s.sqlite"), ["splits", "split_assignments"]) == before)
    }
}
