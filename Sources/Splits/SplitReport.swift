import Store

/// What a split holds, part by part, and whether anything leaks: `mtl-prep split --report`
/// and `mtl-prep stats`. Computed from the stored assignments, not from the algorithm, so it
/// checks what was written.
public struct SplitReport: Sendable, Hashable, Codable {
    /// One part of the split: `train`/`dev`/`test`, or for a k-fold split `test` and
    /// `fold k` (the dev part of fold k; its train part is every other fold).
    public struct Part: Sendable, Hashable, Codable {
        public var name: String
        public var examples: Int
        /// Per task name: per label name, examples carrying it.
        public var labels: [String: [String: Int]]
        /// Per task name: the largest |share in this part − share overall|, in percentage points.
        public var maxDeviation: [String: Double]
    }

    public var split: SplitRecord
    /// Examples in the store that the split does not cover (imported after it was made).
    public var unassigned: Int
    public var parts: [Part]
    /// Per task name: per label name, examples carrying it over the whole split.
    public var overall: [String: [String: Int]]
    /// Distinct normalized texts found in more than one part (must be 0).
    public var duplicatesAcrossParts: Int
    /// Group keys (or sources, when grouped by source) found in more than one part
    /// (must be 0 when the split was grouped; nil when it was not).
    public var groupsAcrossParts: Int?
    public var warnings: [String]

    /// True when nothing leaks.
    public var isLeakFree: Bool { duplicatesAcrossParts == 0 && (groupsAcrossParts ?? 0) == 0 }

    public static func make(store: ExampleStore, split: SplitRecord) throws -> SplitReport {
        let a = try store.assignments(splitID: split.id)
        let keys = try store.exampleKeys()
        let keyIndex = IDIndex(sortedIDs: keys.ids)
        let k = split.kind == .kfold ? split.folds : 0
        // Bucket of each assigned example: 0 = test (k-fold) or the part (ratio); 1 + fold otherwise.
        let bucketNames: [String] = k > 0 ? ["test"] + (0..<k).map { "fold \($0)" } : SplitPart.allCases.map(\.name)
        var bucket = [Int32](repeating: 0, count: a.count)
        var sizes = [Int](repeating: 0, count: bucketNames.count)
        var keyRow = [Int32](repeating: -1, count: a.count)
        for i in 0..<a.count {
            let b = k > 0 ? (a.parts[i] == .test ? 0 : 1 + Int(a.folds[i])) : Int(a.parts[i].rawValue)
            bucket[i] = Int32(b); sizes[b] += 1
            if let r = keyIndex.index(of: a.exampleIDs[i]) { keyRow[i] = Int32(r) }
        }
        let unassigned = keys.count - keyRow.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }

        // Leakage: a text (or group) seen in two buckets.
        func crossings<K: Hashable>(_ key: (Int) -> K?) -> Int {
            var first: [K: Int32] = [:]
            var crossed = Set<K>()
            for i in 0..<a.count {
                guard let kk = key(i) else { continue }
                if let b = first[kk] { if b != bucket[i] { crossed.insert(kk) } } else { first[kk] = bucket[i] }
            }
            return crossed.count
        }
        let dupCross = crossings { i in keyRow[i] >= 0 ? keys.normHashes[Int(keyRow[i])] : nil }
        var groupCross: Int?
        if split.paramsJSON.contains("\"group\":\"key\"") {
            groupCross = crossings { i in keyRow[i] >= 0 ? keys.groupKeys[Int(keyRow[i])] : nil }
        } else if split.paramsJSON.contains("\"group\":\"source\"") {
            groupCross = crossings { i in keyRow[i] >= 0 ? keys.sourceIDs[Int(keyRow[i])] : nil }
        }

        // Label counts per bucket for every classification / multilabel task.
        let splitIndex = IDIndex(sortedIDs: a.exampleIDs)
        var perBucket: [String: [[Int]]] = [:]   // task → bucket → label id → count
        var overallCounts: [String: [Int]] = [:]
        var labelNames: [String: [String]] = [:]
        var warnings: [String] = []
        for task in try store.tasks() where task.kind == .classification || task.kind == .multilabel {
            let names = try store.labels(taskID: task.id).map(\.name)
            labelNames[task.name] = names
            var counts = [[Int]](repeating: [Int](repeating: 0, count: names.count), count: bucketNames.count)
            try store.forEachAnnotationBlob(taskID: task.id) { id, blob in
                guard let i = splitIndex.index(of: id) else { return }
                for o in stride(from: 0, to: blob.count - 3, by: 4) {
                    let l = Int(Int32(littleEndian: blob.loadUnaligned(fromByteOffset: o, as: Int32.self)))
                    if l >= 0 && l < names.count { counts[Int(bucket[i])][l] += 1 }
                }
            }
            perBucket[task.name] = counts
            overallCounts[task.name] = (0..<names.count).map { l in counts.reduce(0) { $0 + $1[l] } }
        }

        var parts: [Part] = []
        for b in 0..<bucketNames.count where sizes[b] > 0 || (k > 0 && b > 0) {
            var labels: [String: [String: Int]] = [:]
            var deviation: [String: Double] = [:]
            for (task, counts) in perBucket {
                let names = labelNames[task]!
                let overall = overallCounts[task]!
                var m: [String: Int] = [:]
                var worst = 0.0
                for l in 0..<names.count {
                    m[names[l]] = counts[b][l]
                    guard sizes[b] > 0 else { continue }
                    let share = Double(counts[b][l]) / Double(sizes[b])
                    let global = Double(overall[l]) / Double(max(a.count, 1))
                    worst = max(worst, abs(share - global) * 100)
                }
                labels[task] = m
                deviation[task] = worst
            }
            parts.append(Part(name: bucketNames[b], examples: sizes[b], labels: labels, maxDeviation: deviation))
        }

        let partsToFill = k > 0 ? k : bucketNames.indices.filter { sizes[$0] > 0 }.count
        for (task, overall) in overallCounts.sorted(by: { $0.key < $1.key }) {
            let names = labelNames[task]!
            for l in 0..<names.count where overall[l] > 0 && overall[l] < partsToFill {
                warnings.append("task '\(task)': label '\(names[l])' has \(overall[l]) example\(overall[l] == 1 ? "" : "s"), fewer than the \(partsToFill) \(k > 0 ? "folds" : "parts"); each sits in a different \(k > 0 ? "fold" : "part") and the others have none")
            }
        }
        if unassigned > 0 {
            warnings.append("\(unassigned) example\(unassigned == 1 ? " was" : "s were") imported after this split was made and \(unassigned == 1 ? "is" : "are") in no part; rerun `mtl-prep split --name \(split.name) --replace` with the same seed (existing assignments stay put except at part boundaries)")
        }
        var overall: [String: [String: Int]] = [:]
        for (task, counts) in overallCounts {
            let names = labelNames[task]!
            overall[task] = Dictionary(uniqueKeysWithValues: zip(names, counts))
        }
        return SplitReport(split: split, unassigned: unassigned, parts: parts, overall: overall,
                           duplicatesAcrossParts: dupCross, groupsAcrossParts: groupCross, warnings: warnings)
    }
}
