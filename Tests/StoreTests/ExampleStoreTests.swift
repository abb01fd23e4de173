import Testing
import Foundation
@testable import Store

@Suite struct ExampleStoreTests {
    @Test func importThenStatsAndShow() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("mtl.sqlite"))
        #expect(try store.connection.userVersion == StoreSchema.version)
        let r = try importReviews(store, info(part: "train"))
        #expect(r.examples == 3 && r.rejects == 0 && r.source.records == 3)
        #expect(r.labelCounts["topic"] == ["book": 1, "hotel": 2])
        let stats = try store.stats()
        #expect(stats.examples == 3 && stats.sources.count == 1 && stats.sources[0].examples == 3)
        #expect(stats.tasks.map(\.task.name) == ["topic", "sentiment"])
        #expect(stats.tasks[1].labels.map { "\($0.name)=\($0.count)" } == ["1=2", "0=1"])
        #expect(stats.tasks[0].examples == 3)

        let d = try #require(try store.example(id: 3))
        #expect(d.example.text == "好 酒店" && d.example.locator == "a.csv:4" && d.example.part == "train")
        #expect(d.source.info.path == "a.csv" && d.source.info.pipelineJSON == #"{"tokenizer":"ws"}"#)
        #expect(d.tokens.tokens == ["好", "酒店"])
        #expect(d.tokens.spans[1] == TokenSpan(scalarStart: 2, scalarEnd: 4, utf8Start: 4, utf8End: 10))
        #expect(d.annotations.map { "\($0.task.name):\($0.names)" } == [#"topic:["hotel"]"#, #"sentiment:["1"]"#])
        #expect(try store.example(id: 99) == nil)
    }

    @Test func sameContentAddsNothingAndReplaceReimports() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("mtl.sqlite"))
        let first = try importReviews(store, info())
        guard case .alreadyImported(let existing) = try store.beginImport(info()) else { Issue.record("expected skip"); return }
        #expect(existing.id == first.source.id)
        #expect(try store.stats().examples == 3)
        // Replace: same path, new content → the old source is deleted inside the new import.
        let s = try session(store, info(sha: String(repeating: "b", count: 64)), mode: .replace)
        let topic = try s.task("topic", kind: .classification)
        try s.add(NewExample(locator: "a.csv:2", text: "x", tokens: whitespaceTokens("x"), normHash: 1,
                             annotations: [(topic.id, .label(try s.labelID("hotel", task: topic.id)))]))
        let r = try s.commit()
        #expect(r.replacedSourceIDs == [first.source.id])
        let stats = try store.stats()
        #expect(stats.examples == 1 && stats.sources.map(\.source.id) == [r.source.id])
        #expect(stats.tasks[0].labels.map { "\($0.name)=\($0.count)" } == ["book=0", "hotel=1"])
        #expect(stats.tasks[1].labels.map(\.count) == [0, 0])
    }

    @Test func rollbackAndAbandonedSessionLeaveStoreUnchanged() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("mtl.sqlite"))
        try importReviews(store, info())
        let before = try store.stats()
        do {
            let s = try session(store, info("b.csv", sha: String(repeating: "c", count: 64)))
            let t = try s.task("new-task", kind: .multilabel)
            try s.add(NewExample(locator: "b.csv:2", text: "y", tokens: whitespaceTokens("y"), normHash: 2,
                                 annotations: [(t.id, .labels([try s.labelID("p", task: t.id)]))]))
            try s.addReject(locator: "b.csv:3", reason: "empty text")
            s.rollback()
            #expect(throws: StoreError.self) { try s.commit() }
        }
        #expect(try store.stats() == before)
        do { // dropped without commit (e.g. the driver threw): rolled back in deinit
            let s = try session(store, info("c.csv", sha: String(repeating: "d", count: 64)))
            try s.addReject(locator: "c.csv:2", reason: "x")
        }
        #expect(try store.stats() == before)
        // Replace that is rolled back restores the replaced source too.
        let s = try session(store, info(), mode: .replace)
        #expect(try store.stats().examples == 0) // same connection sees its own deletion
        s.rollback()
        #expect(try store.stats() == before)
    }

    @Test func rejectsAreCountedPerSource() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("mtl.sqlite"))
        let s = try session(store, info())
        try s.addReject(locator: "a.csv:7:3", reason: "unterminated quoted field")
        let r = try s.commit(records: 10)
        #expect(r.rejects == 1 && r.source.records == 10)
        #expect(try store.rejects(sourceID: r.source.id).map { "\($0.locator): \($0.reason)" } == ["a.csv:7:3: unterminated quoted field"])
        #expect(try store.stats().rejects == 1)
    }

    @Test func misuseIsCaughtBeforeWriting() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("mtl.sqlite"))
        try importReviews(store, info())
        let s = try session(store, info("n.conll", sha: String(repeating: "e", count: 64)))
        #expect { try s.task("topic", kind: .tagging, tagScheme: .bio) } throws: {
            ($0 as? StoreError)?.message == "task 'topic' is classification in the store, not tagging (BIO)"
        }
        let ner = try s.task("ner", kind: .spans, tagScheme: .bio)
        #expect(try s.labelID("O", task: ner.id) == 0)
        let b = try s.labelID("B-PER", task: ner.id)
        #expect { try s.add(NewExample(locator: "n.conll:1", text: "a b", tokens: whitespaceTokens("a b"), normHash: 0,
                                       annotations: [(ner.id, .tags([0]))])) } throws: {
            ($0 as? StoreError)?.message == "n.conll:1: task 'ner' has 1 tags for 2 tokens"
        }
        #expect { try s.add(NewExample(locator: "n.conll:1", text: "a", tokens: whitespaceTokens("a"), normHash: 0,
                                       annotations: [(ner.id, .label(b))])) } throws: { ($0 as? StoreError)?.kind == .misuse }
        #expect { try s.add(NewExample(locator: "n.conll:1", text: "a", tokens: whitespaceTokens("a"), normHash: 0,
                                       annotations: [(ner.id, .tags([7]))])) } throws: {
            ($0 as? StoreError)?.message == "n.conll:1: label id 7 unknown in task 'ner'"
        }
        try s.add(NewExample(locator: "n.conll:1", text: "Ann b", tokens: whitespaceTokens("Ann b"), normHash: 0,
                             annotations: [(ner.id, .tags([b, 0]))]))
        let r = try s.commit()
        #expect(r.examples == 1 && r.labelCounts["ner"] == ["O": 1, "B-PER": 1])
        #expect(try store.stats().examples == 4)
    }

    @Test func readerSeesPreviousSnapshotWhileImportRunsAndCrashCopyOpensClean() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("mtl.sqlite")
        let store = try ExampleStore(path: path)
        try importReviews(store, info())
        let s = try session(store, info("big.csv", sha: String(repeating: "f", count: 64)))
        try store.connection.execute("PRAGMA cache_size = 16") // force pages to spill into the WAL
        let t = try s.task("topic", kind: .classification)
        let label = try s.labelID("book", task: t.id)
        for i in 0..<20_000 {
            let text = "example number \(i) with some words to make rows bigger"
            try s.add(NewExample(locator: "big.csv:\(i + 2)", text: text, tokens: whitespaceTokens(text), normHash: Int64(i),
                                 annotations: [(t.id, .label(label))]))
        }
        // A reader opened during the import sees the state before it.
        let reader = try ExampleStore(path: path, readOnly: true)
        #expect(try reader.stats().examples == 3)
        // A read-write open (e.g. `mtl-prep stats` without --read-only) does not wait for the import's lock.
        let started = Date()
        let other = try ExampleStore(path: path)
        #expect(try other.stats().examples == 3)
        #expect(Date().timeIntervalSince(started) < 5)
        // The files as they are now are what kill -9 would leave: copy and open them.
        let walSize = (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        #expect(walSize > 1_000_000)
        for suffix in ["", "-wal"] { try FileManager.default.copyItem(atPath: path + suffix, toPath: dir.path("crash.sqlite") + suffix) }
        let crashed = try ExampleStore(path: dir.path("crash.sqlite"))
        #expect(try crashed.stats().examples == 3)
        #expect(try crashed.connection.scalar("PRAGMA integrity_check") == .text("ok"))
        // ...and an import into the crashed copy completes.
        try importReviews(crashed, info("again.csv", sha: String(repeating: "9", count: 64)))
        #expect(try crashed.stats().examples == 6)
        let r = try s.commit()
        #expect(r.examples == 20_000)
        #expect(try reader.stats().examples == 20_003)
    }

    @Test func readOnlyOpenRefusesNonStores() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        _ = try Connection(path: dir.path("empty.sqlite"))
        #expect { try ExampleStore(path: dir.path("empty.sqlite"), readOnly: true) } throws: {
            ($0 as? StoreError)?.message == "\(dir.path("empty.sqlite")) is not an mtl store (schema version 0)"
        }
    }
}

@Suite struct ContentHashAtEndTests {
    @Test func hashKnownOnlyAtTheEndStillDedupesAndReplaces() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try ExampleStore(path: dir.path("mtl.sqlite"))
        let first = try importReviews(store, info("a.csv"))
        // Same content under another path, hash computed while reading.
        let s = try session(store, info("copy.csv", sha: "pending"))
        #expect(try s.setContentSHA256(first.source.info.contentSHA256)?.id == first.source.id)
        s.rollback()
        #expect(try store.stats().sources.count == 1)
        guard case .started(let r) = try store.beginImport(info("copy.csv", sha: "pending"), mode: .replace) else { Issue.record("not started"); return }
        #expect(try r.setContentSHA256(first.source.info.contentSHA256) == nil)
        let result = try r.commit()
        #expect(result.replacedSourceIDs == [first.source.id])
        #expect(try store.sources().map(\.info.path) == ["copy.csv"])
    }

    @Test func hexDigestOfFile() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let p = dir.path("f.txt")
        FileManager.default.createFile(atPath: p, contents: Data("abc".utf8))
        #expect(try SHA256.hexDigest(ofFile: p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
