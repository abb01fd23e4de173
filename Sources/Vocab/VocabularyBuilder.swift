import Foundation
import Store

/// How to build a vocabulary.
public struct VocabularySpec: Sendable, Hashable, Codable {
    public var name: String
    /// The split whose training part is counted; nil only with `all`.
    public var split: String?
    /// The fold of a k-fold split (required for one).
    public var fold: Int?
    /// Count every example (no split). Refused unless asked for explicitly: a vocabulary that
    /// has seen dev or test tokens flatters every later score.
    public var all: Bool
    /// Tokens seen fewer times are left out.
    public var minFreq: Int
    /// At most this many entries, special tokens included (nil: no limit).
    public var maxSize: Int?
    public var specials: SpecialTokens
    /// Also build a character vocabulary (Unicode scalars of the kept training tokens).
    public var characters: Bool

    public init(name: String, split: String?, fold: Int? = nil, all: Bool = false, minFreq: Int = 1, maxSize: Int? = nil,
                specials: SpecialTokens = SpecialTokens.presets["default"]!, characters: Bool = false) {
        self.name = name; self.split = split; self.fold = fold; self.all = all; self.minFreq = minFreq
        self.maxSize = maxSize; self.specials = specials; self.characters = characters
    }

    /// The parameters as JSON (stored in `vocabularies.params_json`).
    public var json: String {
        var f: [String] = []
        f.append("\"split\":" + (split.map { jsonString($0) } ?? "null"))
        f.append("\"fold\":" + (fold.map { "\($0)" } ?? "null"))
        f.append("\"all\":\(all)")
        f.append("\"min_freq\":\(minFreq)")
        f.append("\"max_size\":" + (maxSize.map { "\($0)" } ?? "null"))
        f.append("\"specials\":[" + specials.entries.map { "{\"role\":\"\($0.role.rawValue)\",\"token\":\(jsonString($0.token))}" }.joined(separator: ",") + "]")
        f.append("\"characters\":\(characters)")
        f.append("\"order\":\"frequency desc, then token by code point\"")
        return "{" + f.joined(separator: ",") + "}"
    }
}

/// How well a vocabulary covers one part (and one task's examples in it).
public struct CoverageRow: Sendable, Hashable, Codable {
    public var part: String
    /// nil = all examples of the part.
    public var task: String?
    public var examples: Int
    public var tokens: Int
    public var outOfVocabulary: Int
    /// outOfVocabulary / tokens (0 for no tokens).
    public var oovRate: Double
    public init(part: String, task: String?, examples: Int, tokens: Int, outOfVocabulary: Int) {
        self.part = part; self.task = task; self.examples = examples; self.tokens = tokens
        self.outOfVocabulary = outOfVocabulary
        oovRate = tokens == 0 ? 0 : Double(outOfVocabulary) / Double(tokens)
    }
}

/// What `mtl-prep vocab` prints.
public struct VocabularySummary: Sendable, Hashable, Codable {
    public var vocabulary: VocabularyRecord
    public var trainingExamples: Int
    public var trainingTokens: Int
    /// Distinct tokens in the training part.
    public var types: Int
    /// Token entries kept (special tokens included).
    public var size: Int
    public var characters: Int
    public var coverage: [CoverageRow]
    public var encodedExamples: Int
}

/// Token frequencies of a training part, by token-type id (`TokenTypeIndex`).
public struct TokenCounts: Sendable {
    /// The index's tokens, by type id.
    public var types: [String]
    /// Training count of each type (0 for types seen only outside the training part).
    public var counts: [Int64]
    public var examples: Int
    public var tokens: Int
    /// Distinct tokens in the training part.
    public var distinct: Int { counts.reduce(0) { $0 + ($1 > 0 ? 1 : 0) } }
    /// The count of one token (0 when unseen).
    public func count(of token: String) -> Int64 {
        types.firstIndex(of: token).map { counts[$0] } ?? 0
    }
}

/// Which part each example is in, for one (split, fold), or every example as train.
public struct PartMembership: Sendable {
    let index: IDIndex?
    let parts: [SplitPart]
    public let split: SplitRecord?
    public let fold: Int?

    /// The part of an example, nil when the split does not cover it.
    @inline(__always)
    public func part(of id: Int64) -> SplitPart? {
        guard let index else { return .train }
        return index.index(of: id).map { parts[$0] }
    }

    /// Every example as train (`--all`).
    public static let all = PartMembership(index: nil, parts: [], split: nil, fold: nil)

    /// The parts of `split` in `fold`; errors name the command that fixes them.
    public static func load(store: ExampleStore, split name: String, fold: Int?) throws -> PartMembership {
        guard let split = try store.split(named: name) else {
            let known = try store.splits().map(\.name)
            throw VocabError("no split named '\(name)' in the store" + (known.isEmpty ? "; make one with `mtl-prep split --name \(name) …`" : "; it has: \(known.joined(separator: ", "))"))
        }
        if split.kind == .kfold {
            guard let fold else { throw VocabError("split '\(name)' has \(split.folds) folds: say which one's training part to use (--fold 0…\(split.folds - 1))") }
            guard fold >= 0 && fold < split.folds else { throw VocabError("--fold \(fold) is outside split '\(name)' (folds 0…\(split.folds - 1))") }
        } else if let fold {
            throw VocabError("--fold \(fold): split '\(name)' is a ratio split without folds")
        }
        let a = try store.assignments(splitID: split.id)
        let parts = (0..<a.count).map { split.part(stored: a.parts[$0], fold: a.folds[$0], in: fold ?? 0) }
        return PartMembership(index: IDIndex(sortedIDs: a.exampleIDs), parts: parts, split: split, fold: fold)
    }
}

/// Builds vocabularies from a training part and encodes every example with them.
public enum VocabularyBuilder {
    /// Counts the training examples' tokens from the token-type index (which must be up to
    /// date: `TokenTypeIndex.update`), reading with `threads` connections over disjoint
    /// ranges of chunks. Memory: one count per token type and thread, never the text.
    public static func countTokens(storePath: String, membership: PartMembership, threads: Int = 2) throws -> TokenCounts {
        let reader = try ExampleStore(path: storePath, readOnly: true)
        let types = try TokenTypeIndex.types(store: reader)
        // Threads take disjoint ranges of chunk rows.
        var starts: [Int64] = []
        try reader.connection.prepare("SELECT first_example_id FROM token_type_chunks ORDER BY first_example_id").forEachRow { starts.append($0.int64(0)) }
        let n = max(1, min(threads, 16, max(1, starts.count)))
        final class Results: @unchecked Sendable {
            var counts: [[Int64]]; var examples: [Int]; var tokens: [Int]; var errors: [Error?]
            init(_ n: Int) { counts = Array(repeating: [], count: n); examples = Array(repeating: 0, count: n); tokens = examples; errors = Array(repeating: nil, count: n) }
        }
        let results = Results(n)
        let typeCount = types.count
        let chunkStarts = starts
        DispatchQueue.concurrentPerform(iterations: n) { t in
            let a = chunkStarts.count * t / n, b = chunkStarts.count * (t + 1) / n
            do {
                var counts = [Int64](repeating: 0, count: typeCount)
                var examples = 0, tokens = 0
                if b > a {
                    let store = t == 0 ? reader : try ExampleStore(path: storePath, readOnly: true)
                    try counts.withUnsafeMutableBufferPointer { c in
                        try TokenTypeIndex.forEachExample(store.connection, chunksStartingIn: chunkStarts[a]...chunkStarts[b - 1]) { id, ids in
                            guard membership.part(of: id) == .train else { return }
                            examples += 1
                            tokens += ids.count
                            for v in ids {
                                let k = Int(UInt32(littleEndian: v))
                                guard k < typeCount else { throw VocabError("example \(id): token type \(k) is not in token_types") }
                                c[k] += 1
                            }
                        }
                    }
                }
                results.counts[t] = counts; results.examples[t] = examples; results.tokens[t] = tokens
            } catch { results.errors[t] = error }
        }
        if let e = results.errors.compactMap({ $0 }).first { throw e }
        var merged = results.counts[0]
        for t in 1..<n where !results.counts[t].isEmpty { for i in 0..<typeCount { merged[i] += results.counts[t][i] } }
        return TokenCounts(types: types, counts: merged, examples: results.examples.reduce(0, +), tokens: results.tokens.reduce(0, +))
    }

    /// The entries of a vocabulary: special tokens first (count 0), then tokens with count ≥
    /// `minFreq` by frequency descending, ties by code point order (torchtext's order), up
    /// to `maxSize` entries in all. A special token seen in the data keeps its special id.
    public static func select(_ counts: TokenCounts, minFreq: Int, maxSize: Int?, specials: SpecialTokens) -> [VocabEntry] {
        let specialSet = Set(specials.entries.map(\.token))
        var utf8 = counts.types.map { Array($0.utf8) }
        var kept = (0..<counts.types.count).filter { counts.counts[$0] >= Int64(max(1, minFreq)) }
        // Frequency descending, then the token's bytes (= code point order, as Python sorts str).
        kept.sort { a, b in counts.counts[a] != counts.counts[b] ? counts.counts[a] > counts.counts[b] : utf8[a].lexicographicallyPrecedes(utf8[b]) }
        utf8 = []
        var entries = specials.entries.map { VocabEntry(token: $0.token, count: counts.count(of: $0.token)) }
        let room = maxSize.map { max(0, $0 - entries.count) } ?? Int.max
        var added = 0
        for e in kept {
            if added >= room { break }
            let token = counts.types[e]
            if specialSet.contains(token) { continue }
            entries.append(VocabEntry(token: token, count: counts.counts[e]))
            added += 1
        }
        return entries
    }

    /// Builds the vocabulary `spec` describes, stores it, and encodes every example with it
    /// — all in one transaction: the store holds the whole vocabulary or none of it.
    public static func build(store: ExampleStore, spec: VocabularySpec, replace: Bool = false, threads: Int = 2) throws -> VocabularySummary {
        guard !spec.name.isEmpty else { throw VocabError("a vocabulary needs a name (--name)") }
        guard spec.minFreq >= 1 else { throw VocabError("--min-freq \(spec.minFreq) must be at least 1") }
        if let m = spec.maxSize, m < spec.specials.entries.count + 1 {
            throw VocabError("--max-size \(m) leaves no room beside the \(spec.specials.entries.count) special tokens")
        }
        let membership: PartMembership
        if let split = spec.split {
            guard !spec.all else { throw VocabError("--all and --split exclude each other") }
            membership = try PartMembership.load(store: store, split: split, fold: spec.fold)
        } else {
            guard spec.all else {
                throw VocabError("no --split given: a vocabulary is built from the training part of a split, so that dev and test tokens cannot leak into it. Make one with `mtl-prep split`, or pass --all to count every example knowingly")
            }
            membership = .all
        }
        let examples = try store.stats().examples
        guard examples > 0 else { throw VocabError("the store has no examples; import some first (mtl-prep import)") }
        try TokenTypeIndex.update(store: store)
        let counts = try countTokens(storePath: store.connection.path, membership: membership, threads: threads)
        guard counts.examples > 0 else { throw VocabError("the training part of split '\(spec.split ?? "")' is empty") }
        let tokens = select(counts, minFreq: spec.minFreq, maxSize: spec.maxSize, specials: spec.specials)
        let characters = spec.characters ? characterEntries(counts: counts, kept: tokens, specials: spec.specials) : []
        let labelCounts = try trainingLabelCounts(store: store, membership: membership)

        let writer = try store.beginVocabulary(NewVocabulary(name: spec.name, splitID: membership.split?.id, fold: membership.fold,
                                                             paramsJSON: spec.json, tokens: tokens, characters: characters,
                                                             labelCounts: labelCounts), replace: replace)
        do {
            let coverage = try encode(store: store, writer: writer, tokens: tokens, unk: Int32(spec.specials.id(of: .unk)!),
                                      membership: membership)
            let record = try writer.commit()
            return VocabularySummary(vocabulary: record, trainingExamples: counts.examples, trainingTokens: counts.tokens,
                                     types: counts.distinct, size: tokens.count, characters: characters.count,
                                     coverage: coverage.rows, encodedExamples: coverage.encoded)
        } catch {
            writer.rollback()
            throw error
        }
    }

    /// Stores an existing list of tokens (e.g. read from `vocab.txt`) as a vocabulary and
    /// encodes every example with it; counts come from the training part of `membership`.
    public static func store(tokens list: [String], unk: String, name: String, store: ExampleStore, membership: PartMembership,
                             paramsJSON: String, replace: Bool = false, threads: Int = 2) throws -> VocabularySummary {
        var seen = Set<String>()
        for (i, t) in list.enumerated() where !seen.insert(t).inserted { throw VocabError("token '\(t)' appears twice (ids \(list.firstIndex(of: t)!) and \(i))") }
        guard let unkID = list.firstIndex(of: unk) else { throw VocabError("the vocabulary has no '\(unk)' token for out-of-vocabulary tokens (--unk)") }
        try TokenTypeIndex.update(store: store)
        let counts = try countTokens(storePath: store.connection.path, membership: membership, threads: threads)
        var typeID: [String: Int] = [:]
        for (i, t) in counts.types.enumerated() { typeID[t] = i }
        let tokens = list.map { VocabEntry(token: $0, count: typeID[$0].map { counts.counts[$0] } ?? 0) }
        let labelCounts = try trainingLabelCounts(store: store, membership: membership)
        let writer = try store.beginVocabulary(NewVocabulary(name: name, splitID: membership.split?.id, fold: membership.fold,
                                                             paramsJSON: paramsJSON, tokens: tokens, labelCounts: labelCounts), replace: replace)
        do {
            let coverage = try encode(store: store, writer: writer, tokens: tokens, unk: Int32(unkID), membership: membership)
            let record = try writer.commit()
            return VocabularySummary(vocabulary: record, trainingExamples: counts.examples, trainingTokens: counts.tokens,
                                     types: counts.distinct, size: tokens.count, characters: 0, coverage: coverage.rows,
                                     encodedExamples: coverage.encoded)
        } catch {
            writer.rollback()
            throw error
        }
    }

    static func characterEntries(counts: TokenCounts, kept: [VocabEntry], specials: SpecialTokens) -> [VocabEntry] {
        var chars: [Unicode.Scalar: Int64] = [:]
        let specialSet = Set(specials.entries.map(\.token))
        for e in kept where !specialSet.contains(e.token) {
            for u in e.token.unicodeScalars { chars[u, default: 0] += e.count }
        }
        let sorted = chars.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.value < $1.key.value }
        return specials.entries.filter { $0.role == .pad || $0.role == .unk }.map { VocabEntry(token: $0.token, count: 0) }
            + sorted.map { VocabEntry(token: String($0.key), count: $0.value) }
    }

    static func trainingLabelCounts(store: ExampleStore, membership: PartMembership) throws -> [Int64: [Int64]] {
        var out: [Int64: [Int64]] = [:]
        for task in try store.tasks() {
            var counts = [Int64](repeating: 0, count: try store.labels(taskID: task.id).count)
            try store.forEachAnnotationBlob(taskID: task.id) { id, blob in
                guard membership.part(of: id) == .train else { return }
                for o in stride(from: 0, to: blob.count - 3, by: 4) {
                    let l = Int(Int32(littleEndian: blob.loadUnaligned(fromByteOffset: o, as: Int32.self)))
                    if l >= 0 && l < counts.count { counts[l] += 1 }
                }
            }
            out[task.id] = counts
        }
        return out
    }

    /// Encodes every example (all parts: dev and test need ids too) and measures coverage.
    static func encode(store: ExampleStore, writer: VocabularyWriter, tokens: [VocabEntry], unk: Int32,
                       membership: PartMembership) throws -> (rows: [CoverageRow], encoded: Int) {
        let types = try TokenTypeIndex.types(store: store)
        var vocabID = [String: Int32](minimumCapacity: tokens.count)
        for (i, e) in tokens.enumerated() where vocabID[e.token] == nil { vocabID[e.token] = Int32(i) }
        let typeToVocab = types.map { vocabID[$0] ?? -1 }
        // Which tasks each example is annotated for, to report coverage per task.
        let tasks = try store.tasks()
        // Sorted annotated ids per task, walked alongside the examples (both in id order).
        var taskSets: [(name: String, ids: [Int64])] = []
        for task in tasks {
            var ids: [Int64] = []
            try store.forEachAnnotationBlob(taskID: task.id) { id, _ in ids.append(id) }
            taskSets.append((task.name, ids))
        }
        var cursors = [Int](repeating: 0, count: tasks.count)
        // Per part (train, dev, test, unassigned) and per task (0 = all): examples, tokens, oov.
        var totals = [[(Int, Int, Int)]](repeating: [(Int, Int, Int)](repeating: (0, 0, 0), count: tasks.count + 1), count: 4)
        var ids: [Int32] = []
        var encoded = 0
        try TokenTypeIndex.forEachExample(store.connection) { id, types in
            ids.removeAll(keepingCapacity: true)
            var oov = 0
            for raw in types {
                let t = Int(UInt32(littleEndian: raw))
                guard t < typeToVocab.count else { throw VocabError("example \(id): token type \(t) is not in token_types") }
                let v = typeToVocab[t]
                if v >= 0 { ids.append(v) } else { ids.append(unk); oov += 1 }
            }
            try ids.withUnsafeBufferPointer { try writer.addEncoded(exampleID: id, ids: $0) }
            encoded += 1
            let p = membership.part(of: id).map { Int($0.rawValue) } ?? 3
            totals[p][0].0 += 1; totals[p][0].1 += ids.count; totals[p][0].2 += oov
            for t in 0..<taskSets.count {
                let list = taskSets[t].ids
                while cursors[t] < list.count && list[cursors[t]] < id { cursors[t] += 1 }
                guard cursors[t] < list.count && list[cursors[t]] == id else { continue }
                totals[p][t + 1].0 += 1; totals[p][t + 1].1 += ids.count; totals[p][t + 1].2 += oov
            }
        }
        var rows: [CoverageRow] = []
        for p in 0..<4 where totals[p][0].0 > 0 {
            let part = p < 3 ? SplitPart(rawValue: UInt8(p))!.name : "unassigned"
            rows.append(CoverageRow(part: part, task: nil, examples: totals[p][0].0, tokens: totals[p][0].1, outOfVocabulary: totals[p][0].2))
            for (t, entry) in taskSets.enumerated() where totals[p][t + 1].0 > 0 {
                rows.append(CoverageRow(part: part, task: entry.name, examples: totals[p][t + 1].0, tokens: totals[p][t + 1].1, outOfVocabulary: totals[p][t + 1].2))
            }
        }
        return (rows, encoded)
    }
}
