import Foundation
import Testing
@testable import Store

/// Multi-row inserts with explicit example ids, and sources as id ranges (schema v4).
@Suite struct SourceRangeTests {
    private func range(_ store: ExampleStore, _ id: Int64) throws -> [SQLValue] {
        let st = try store.connection.prepare("SELECT examples, first_example_id, last_example_id FROM sources WHERE id = ?")
        try st.bind(id, at: 1)
        #expect(try st.step())
        return [st.value(0), st.value(1), st.value(2)]
    }

    @Test func batchesCrossStatementBoundariesWithConsecutiveIdsAndBatchedRejects() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("mtl.sqlite"))
        try importReviews(store, info("first.csv"))                     // ids 1…3
        let s = try session(store, info("b.csv", sha: String(repeating: "b", count: 64), part: "test"))
        let topic = try s.task("topic", kind: .classification)
        let set = try s.task("set", kind: .multilabel)
        for n in ["x", "y", "z"] { _ = try s.labelID(n, task: set.id) }
        let n = 600   // 256 + 256 + 88 examples; annotations per example 0, 1 or 2
        var bytes: [UInt8] = [], rows: [ImportSession.RawExample] = [], anns: [ImportSession.RawAnnotation] = [], ids: [Int32] = []
        var expected: [Int64: [Int64: [Int32]]] = [:]
        for i in 0..<n {
            let l = bytes.count; bytes += Array("b.csv:\(i + 2)".utf8)
            let t = bytes.count; bytes += Array("w\(i) v".utf8)
            let k = bytes.count; bytes += whitespaceTokens("w\(i) v")
            let g = bytes.count; if i % 3 == 0 { bytes += Array("g\(i % 7)".utf8) }
            let a = anns.count
            var mine: [Int64: [Int32]] = [:]
            if i % 3 != 2 { anns.append(.init(taskID: topic.id, start: ids.count, count: 1)); ids.append(Int32(i % 2)); mine[topic.id] = [Int32(i % 2)] }
            if i % 3 == 1 { anns.append(.init(taskID: set.id, start: ids.count, count: 2)); ids += [0, 2]; mine[set.id] = [0, 2] }
            rows.append(.init(locator: l..<t, text: t..<k, tokens: k..<g, group: g..<bytes.count, hasGroup: i % 3 == 0,
                              normHash: Int64(i), annotations: a..<anns.count))
            expected[Int64(4 + i)] = mine
        }
        // Two batches (as the importer writes one run of examples per chunk), rejects in between.
        let first = try bytes.withUnsafeBytes { b in try anns.withUnsafeBufferPointer { a in try ids.withUnsafeBufferPointer { ids in
            try rows.withUnsafeBufferPointer { r in
                let f = try s.addExamples(UnsafeBufferPointer(rebasing: r[0..<300]), bytes: b, annotations: a, ids: ids)
                for j in 0..<300 { try s.addReject(locator: "b.csv:\(j)", reason: "bad \(j)") }
                #expect(try s.addExamples(UnsafeBufferPointer(rebasing: r[300...]), bytes: b, annotations: a, ids: ids) == f + 300)
                return f
            }
        } } }
        #expect(first == 4)
        let single = try s.add(NewExample(locator: "b.csv:999", text: "last one", tokens: whitespaceTokens("last one"), normHash: 1,
                                          annotations: [(topic.id, .label(0))]))
        #expect(single == 4 + Int64(n))
        let r = try s.commit()
        #expect(r.examples == Int64(n) + 1 && r.rejects == 300 && r.source.records == Int64(n) + 301)
        #expect(try range(store, r.source.id) == [.integer(Int64(n) + 1), .integer(4), .integer(4 + Int64(n))])
        var seen = 0
        try store.forEachExample(sourceID: r.source.id) { e in
            #expect(e.id == 4 + Int64(seen) && e.sourceID == r.source.id && e.part == "test")
            if seen < n {
                #expect(e.locator == "b.csv:\(seen + 2)" && e.text == "w\(seen) v" && e.normHash == Int64(seen))
                #expect(e.groupKey == (seen % 3 == 0 ? "g\(seen % 7)" : nil))
            }
            seen += 1
        }
        #expect(seen == n + 1)
        var got: [Int64: [Int64: [Int32]]] = [:]
        try store.connection.prepare("SELECT example_id, task_id, value FROM annotations WHERE example_id BETWEEN 4 AND \(3 + n)").forEachRow {
            got[$0.int64(0), default: [:]][$0.int64(1)] = ($0.blob(2) ?? []).withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        }
        #expect(got == expected.filter { !$0.value.isEmpty })
        #expect(try store.rejects(sourceID: r.source.id).count == 300)
        let stats = try store.stats()
        #expect(stats.sources.map(\.examples) == [3, Int64(n) + 1] && stats.sources.map(\.rejects) == [0, 300])
        #expect(r.labelCounts["set"] == ["x": Int64(n / 3), "z": Int64(n / 3)])
    }

    @Test func rangesFollowReplaceAndDelete() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("mtl.sqlite"))
        let a = try importReviews(store, info("a.csv", sha: String(repeating: "a", count: 64)))              // 1…3
        let b = try importReviews(store, info("b.csv", sha: String(repeating: "b", count: 64)), texts: ["one", "two", "three", "four"])  // 4…7
        let a2 = try session(store, info("a.csv", sha: String(repeating: "c", count: 64)), mode: .replace)   // deletes a, then 8…9
        let t = try a2.task("topic", kind: .classification)
        for w in ["x", "y"] {
            try a2.add(NewExample(locator: "a.csv:2", text: w, tokens: whitespaceTokens(w), normHash: 0,
                                  annotations: [(t.id, .label(try a2.labelID("book", task: t.id)))]))
        }
        let r = try a2.commit()
        #expect(r.replacedSourceIDs == [a.source.id])
        #expect(try range(store, r.source.id) == [.integer(2), .integer(8), .integer(9)])
        #expect(try range(store, b.source.id) == [.integer(4), .integer(4), .integer(7)])
        try store.deleteSource(id: b.source.id)
        #expect(try store.stats().examples == 2)
        #expect(try store.connection.scalar("SELECT count(*) FROM annotations") == .integer(2))
        // The next import numbers from max(id) + 1 of what is left.
        let c = try importReviews(store, info("c.csv", sha: String(repeating: "d", count: 64)))
        #expect(try range(store, c.source.id) == [.integer(3), .integer(10), .integer(12)])
        // An import with no examples has no range.
        let e = try session(store, info("e.csv", sha: String(repeating: "e", count: 64)))
        try e.addReject(locator: "e.csv:2", reason: "empty")
        let re = try e.commit()
        #expect(try range(store, re.source.id) == [.integer(0), .null, .null])
        try store.deleteSource(id: re.source.id)
        #expect(try store.stats().examples == 5)
    }

    @Test func v3StoresMigrateToRangesAndLoseTheIndex() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("old.sqlite")
        do {
            let db = try Connection(path: path)
            var v3 = Migrator()
            for m in StoreSchema.migrator.migrations.prefix(3) { v3.register(m.name, m.body) }
            try v3.migrate(db)
            try db.execute("""
                INSERT INTO sources(id, path, format, content_sha256, imported_at, records) VALUES (1, 'a', 'csv', 'x', 'now', 2), (2, 'b', 'csv', 'y', 'now', 1), (3, 'c', 'csv', 'z', 'now', 1);
                INSERT INTO examples(id, source_id, locator, text, tokens, norm_hash) VALUES
                  (1, 1, 'a:2', 'p', x'', 0), (2, 1, 'a:3', 'q', x'', 0), (5, 2, 'b:2', 'r', x'', 0);
                """)
            #expect(try db.userVersion == 3)
        }
        let store = try ExampleStore(path: path)
        #expect(try store.connection.userVersion == StoreSchema.version)
        #expect(try store.connection.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'examples_by_source'") == .integer(0))
        #expect(try range(store, 1) == [.integer(2), .integer(1), .integer(2)])
        #expect(try range(store, 2) == [.integer(1), .integer(5), .integer(5)])
        #expect(try range(store, 3) == [.integer(0), .null, .null])
        #expect(try store.stats().sources.map(\.examples) == [2, 1, 0])
        try store.deleteSource(id: 1)
        var left: [Int64] = []
        try store.forEachExample { left.append($0.id) }
        #expect(left == [5])
    }

    @Test func v5StoresMigrateToSeq2SeqKeepingTheirTasks() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("v5.sqlite")
        do {
            let db = try Connection(path: path)
            var v5 = Migrator()
            for m in StoreSchema.migrator.migrations.prefix(5) { v5.register(m.name, m.body) }
            try v5.migrate(db)
            try db.execute("""
                INSERT INTO tasks(id, name, kind, tag_scheme) VALUES (1, 'topic', 'classification', NULL), (3, 'ner', 'spans', 'BIO');
                """)
            // The old CHECK refuses the new kind.
            #expect(throws: StoreError.self) { try db.execute("INSERT INTO tasks(id, name, kind) VALUES (4, 'g', 'seq2seq')") }
        }
        let store = try ExampleStore(path: path)
        #expect(try store.connection.userVersion == StoreSchema.version)
        #expect(try store.tasks().map { "\($0.id) \($0.name) \($0.kind.rawValue) \($0.tagScheme?.rawValue ?? "-")" } == ["1 topic classification -", "3 ner spans BIO"])
        try store.connection.execute("INSERT INTO tasks(id, name, kind) VALUES (4, 'g2p', 'seq2seq')")
        #expect(try store.tasks().last?.kind == .seq2seq)
        #expect(try store.connection.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'targets'") == .integer(1))
        #expect(throws: StoreError.self) { try store.connection.execute("INSERT INTO tasks(id, name, kind) VALUES (5, 'x', 'nonsense')") }
    }
}
