import Store

/// What `Splitter.assign` decided, besides the assignments themselves.
public struct SplitOutcome: Sendable, Hashable, Codable {
    public var examples: Int
    /// Connected groups (duplicates, group keys) that were placed as a unit.
    public var groups: Int
    /// Groups of more than one example.
    public var multiExampleGroups: Int
    /// Examples that share their normalized text with another example.
    public var duplicateExamples: Int
    /// Groups whose members had different predefined parts (or some none); they all went to
    /// the most held-out one (test, then dev) so that nothing leaks.
    public var predefinedConflicts: Int
    /// Examples with a predefined part other than train/dev/test (treated as no part).
    public var unknownPredefinedParts: Int
    /// Distinct strata (joint label combinations of the stratified tasks).
    public var strata: Int
}

/// Assigns examples to parts and folds.
///
/// **How.** Examples are first joined into groups: identical normalized texts always, and
/// also the same group key or source when asked (union–find). A group is placed as a unit,
/// so neither a duplicate nor a group ever straddles parts. Groups with a predefined part
/// keep it (a group mixing parts goes to its most held-out one). The remaining groups are
/// dealt per stratum — the joint label combination of the stratified tasks, taken from the
/// group's representative member (the one with the smallest text hash): inside a stratum
/// they are ordered by `mix(seed, identity)`, where a group's identity is the smallest hash
/// of its members' normalized texts, and each takes the part or fold whose slice of [0, 1)
/// holds the centre of its cumulative-size interval, rotated by a per-stratum offset.
///
/// **Why this way.** Dealing by quantile gives every stratum's share to every part to within
/// one group (iterative stratification's goal: each task's label proportions kept, even for
/// rare joint combinations), and the per-stratum rotation spreads the rounding over parts
/// instead of always favouring the first. Because positions come from identities, not from
/// row order or ids, re-importing in another order gives the same split, and examples added
/// later move only the few groups at the part boundaries of their own strata; examples of
/// other strata do not move at all. A stratum smaller than K gives each of its groups a
/// different fold (so some folds have none of it): `SplitReport` warns about such labels.
public enum Splitter {
    /// Assigns every example of `keys`; `strata[i]` is example i's stratum (all equal when
    /// not stratifying).
    public static func assign(keys: ExampleKeys, strata: [UInt64], spec: SplitSpec) -> (SplitAssignments, SplitOutcome) {
        let n = keys.count
        precondition(strata.count == n, "one stratum per example")
        var uf = UnionFind(count: n)
        var byText = [Int64: Int32](minimumCapacity: n)
        var duplicates = 0
        for i in 0..<n {
            if let j = byText.updateValue(Int32(i), forKey: keys.normHashes[i]) { uf.union(Int32(i), j); duplicates += 1 }
        }
        // Every example whose text occurs again counts, including the first occurrence.
        if duplicates > 0 {
            var seen = [Int64: Int](minimumCapacity: duplicates)
            for i in 0..<n { seen[keys.normHashes[i], default: 0] += 1 }
            duplicates = seen.values.reduce(0) { $0 + ($1 > 1 ? $1 : 0) }
        }
        switch spec.grouping {
        case .none: break
        case .key:
            var byKey: [String: Int32] = [:]
            for i in 0..<n { if let k = keys.groupKeys[i], let j = byKey.updateValue(Int32(i), forKey: k) { uf.union(Int32(i), j) } }
        case .source:
            var bySource: [Int64: Int32] = [:]
            for i in 0..<n { if let j = bySource.updateValue(Int32(i), forKey: keys.sourceIDs[i]) { uf.union(Int32(i), j) } }
        }

        // Per group (indexed by its root): identity, size, representative, predefined parts.
        var root = [Int32](repeating: 0, count: n)
        var identity = [UInt64](repeating: .max, count: n)
        var representative = [Int32](repeating: -1, count: n)
        var size = [Int32](repeating: 0, count: n)
        var predefined = [UInt8](repeating: 0, count: n)
        var predefinedMembers = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            let r = Int(uf.find(Int32(i)))
            root[i] = Int32(r)
            size[r] += 1
            let h = UInt64(bitPattern: keys.normHashes[i])
            if h < identity[r] || representative[r] < 0 { identity[r] = h; representative[r] = Int32(i) }
            if let p = keys.parts[i] { predefined[r] |= 1 << p.rawValue; predefinedMembers[r] += 1 }
        }

        var partOf = [SplitPart](repeating: .train, count: n)
        var foldOf = [Int32](repeating: -1, count: n)
        var free: [(stratum: UInt64, u: UInt64, root: Int32)] = []
        var groups = 0, multi = 0, conflicts = 0
        for r in 0..<n where size[r] > 0 {
            groups += 1
            if size[r] > 1 { multi += 1 }
            let flags = predefined[r]
            // Members of several predefined parts, or predefined and free members together.
            if flags & (flags &- 1) != 0 || (flags != 0 && predefinedMembers[r] < size[r]) { conflicts += 1 }
            if flags & 4 != 0 { partOf[r] = .test; continue }
            if case .ratio = spec.kind, flags != 0 { partOf[r] = flags & 2 != 0 ? .dev : .train; continue }
            free.append((strata[Int(representative[r])], mix64(spec.seed, identity[r]), Int32(r)))
        }
        free.sort { ($0.stratum, $0.u, $0.root) < ($1.stratum, $1.u, $1.root) }

        var strataCount = 0
        var start = 0
        while start < free.count {
            var end = start
            var total = 0
            while end < free.count && free[end].stratum == free[start].stratum { total += Int(size[Int(free[end].root)]); end += 1 }
            strataCount += 1
            let offset = unitInterval(mix64(spec.seed ^ 0x5354_5241_5455_4D00, free[start].stratum))
            var cumulative = 0
            for g in free[start..<end] {
                let s = Int(size[Int(g.root)])
                var q = (Double(cumulative) + Double(s) / 2) / Double(total) + offset
                if q >= 1 { q -= 1 }
                cumulative += s
                let r = Int(g.root)
                switch spec.kind {
                case .ratio(let train, let dev, _):
                    partOf[r] = q < train ? .train : q < train + dev ? .dev : .test
                case .kfold(let k, let test):
                    if q < test { partOf[r] = .test } else {
                        partOf[r] = .train
                        foldOf[r] = Int32(min(k - 1, Int(Double(k) * (q - test) / (1 - test))))
                    }
                }
            }
            start = end
        }

        var out = SplitAssignments()
        out.exampleIDs = keys.ids
        out.parts = (0..<n).map { partOf[Int(root[$0])] }
        out.folds = (0..<n).map { foldOf[Int(root[$0])] }
        let outcome = SplitOutcome(examples: n, groups: groups, multiExampleGroups: multi, duplicateExamples: duplicates,
                                   predefinedConflicts: conflicts, unknownPredefinedParts: keys.otherParts.count, strata: strataCount)
        return (out, outcome)
    }

    /// Computes a split of every example in the store and saves it under `name` (one
    /// transaction). Throws `SplitError` for unknown tasks, an empty store, or K larger than
    /// the examples it would fold.
    public static func run(store: ExampleStore, name: String, spec: SplitSpec, replace: Bool = false) throws
        -> (split: SplitRecord, outcome: SplitOutcome, removedVocabularies: [String]) {
        guard !name.isEmpty else { throw SplitError("a split needs a name (--name)") }
        let keys = try store.exampleKeys()
        guard keys.count > 0 else { throw SplitError("the store has no examples; import some first (mtl-prep import)") }
        let strata = try Strata.compute(store: store, tasks: spec.stratify, keys: keys)
        let (assignments, outcome) = assign(keys: keys, strata: strata, spec: spec)
        if case .kfold(let k, _) = spec.kind {
            let folded = assignments.folds.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
            guard folded >= k else {
                throw SplitError("--kfold \(k) is larger than the \(folded) example\(folded == 1 ? "" : "s") left to fold (after groups and the test part)")
            }
        }
        do {
            let (record, removed) = try store.saveSplit(name: name, kind: spec.folds > 0 ? .kfold : .ratio, folds: spec.folds,
                                                        seed: spec.seed, paramsJSON: spec.json, assignments: assignments,
                                                        replace: replace)
            return (record, outcome, removed)
        } catch let e as StoreError where e.kind == .misuse {
            throw SplitError(e.message)
        }
    }
}

/// Union–find with path halving and union by size, over Int32 indices.
struct UnionFind {
    private var parent: [Int32]
    private var rank: [Int32]
    init(count: Int) { parent = (0..<Int32(count)).map { $0 }; rank = [Int32](repeating: 1, count: count) }
    mutating func find(_ x: Int32) -> Int32 {
        var x = x
        while parent[Int(x)] != x { parent[Int(x)] = parent[Int(parent[Int(x)])]; x = parent[Int(x)] }
        return x
    }
    mutating func union(_ a: Int32, _ b: Int32) {
        var ra = find(a), rb = find(b)
        guard ra != rb else { return }
        if rank[Int(ra)] < rank[Int(rb)] { swap(&ra, &rb) }
        parent[Int(rb)] = ra
        rank[Int(ra)] += rank[Int(rb)]
    }
}
