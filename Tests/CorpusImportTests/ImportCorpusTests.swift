import Foundation
import Store
import Testing
import Text
@testable import CorpusImport

/// Every corpus in ../shared/corpora imports with the counts of its INDEX.md.
@Suite(.enabled(if: Corpora.available, Corpora.skipMessage))
struct ImportCorpusTests {
    let f = Fixture()

    static let semevalMapping: Mapping = {
        var m = Mapping(format: .xml, text: "text", tasks: [
            "aspect": .spans(items: "aspectTerms/aspectTerm", start: "@from", end: "@to", label: "@polarity"),
            "category": TaskMapping(kind: .multilabel, field: "aspectCategories/aspectCategory/@category"),
        ])
        m.record = "sentence"
        return m
    }()

    @Test func semevalRestaurantsTrain() throws {
        let db = f.storePath()
        let path = Corpora.path("semeval14/Restaurants_Train_v2.xml")
        let s = try importFile(path, into: db, Self.semevalMapping)
        #expect(s.examplesStored == 3041 && s.rejects == 0)
        let aspect = try labelCounts(db, task: "aspect")
        #expect(aspect["B-positive"] == 2164 && aspect["B-negative"] == 805 && aspect["B-neutral"] == 633 && aspect["B-conflict"] == 91)
        // INDEX.md counts category occurrences (anecdotes/misc 1132); a multilabel set holds a
        // category once per sentence, and 2 sentences list anecdotes/miscellaneous twice.
        #expect(try labelCounts(db, task: "category") == ["food": 1232, "anecdotes/miscellaneous": 1130, "service": 597, "ambience": 431, "price": 321])
        let spans = try #require(s.spans["aspect"])
        #expect(spans.spans == 3693 && spans.dropped == 0 && spans.overlapping == 0 && spans.noTokens == 0)
        #expect(spans.aligned + spans.expanded == 3693)

        // Every term: the original text under its B..I tokens equals the term, or (expanded) contains it.
        let terms = try readAll(XMLRecordReader(path: path, fields: ["aspectTerms/aspectTerm/@term", "aspectTerms/aspectTerm/@from"],
                                                options: XMLOptions(recordElement: "sentence")))
        let store = try ExampleStore(path: db, readOnly: true)
        let task = try #require(try store.task(named: "aspect"))
        let names = try store.labels(taskID: task.id).map(\.name)
        var tagsByExample: [Int64: [Int32]] = [:]
        try store.forEachAnnotation(taskID: task.id) { id, value in tagsByExample[id] = value.ids }
        var index = 0, equal = 0, containing = 0, midWord = 0
        try store.forEachExample { e in
            defer { index += 1 }
            let tokens = try TokenBlob.decode(e.tokens, text: e.text)
            let tags = tagsByExample[e.id]!.map { names[Int($0)] }
            var covered: [String] = []
            let scalars = Array(e.text.unicodeScalars)
            var i = 0
            while i < tags.count {
                guard tags[i].hasPrefix("B-") else { i += 1; continue }
                var j = i + 1
                while j < tags.count && tags[j].hasPrefix("I-") { j += 1 }
                let a = Int(tokens.spans[i].scalarStart), b = Int(tokens.spans[j - 1].scalarEnd)
                covered.append(String(String.UnicodeScalarView(scalars[a..<b])))
                i = j
            }
            let record = terms[index].fields
            let expected = zip(record[0].strings, record[1].strings.map { Int($0)! }).sorted { $0.1 < $1.1 }
            try #require(covered.count == expected.count, "\(e.locator)")
            for (text, (term, from)) in zip(covered, expected) {
                if text == term { equal += 1 } else {
                    #expect(text.contains(term), "\(e.locator): '\(term)' → '\(text)'")
                    containing += 1
                    if from > 0, scalars[from - 1].properties.isAlphabetic, scalars[from].properties.isAlphabetic { midWord += 1 }
                }
            }
        }
        #expect(equal + containing == 3693)
        #expect(containing == spans.expanded, "every widened span is counted as expanded")
        // 14 on this tokenizer: 11 possessives ("chef" in the one word token "chef's") and 3 terms cut inside a word.
        #expect(spans.expanded == 14)
    }

    @Test func otherSemevalFiles() throws {
        for (file, sentences, terms) in [("Restaurants_Test_Gold.xml", 800, 1134), ("Laptop_Train_v2.xml", 3045, 2358), ("Laptops_Test_Gold.xml", 800, 654)] {
            let db = f.storePath(file + ".sqlite")
            let s = try importFile(Corpora.path("semeval14/" + file), into: db, Self.semevalMapping)
            #expect(s.examplesStored == Int64(sentences), "\(file)")
            #expect(s.spans["aspect"]?.spans == terms, "\(file)")
            #expect(s.spans["aspect"].map { $0.aligned + $0.expanded } == terms, "\(file)")
        }
    }

    @Test func chineseTwoTasksOnOneText() throws {
        let db = f.storePath()
        var m = Mapping(format: .csv, text: "review", tasks: ["topic": TaskMapping(kind: .classification, field: "cat"),
                                                             "sentiment": TaskMapping(kind: .classification, field: "label")])
        m.allowEmptyText = true
        let s = try importFile(Corpora.path("chinese/online_shopping_10_cats.csv"), into: db, m)
        #expect(s.examplesStored == 62774)
        #expect(try labelCounts(db, task: "sentiment") == ["1": 31728, "0": 31046])
        let topic = try labelCounts(db, task: "topic")
        #expect(topic["热水器"] == 575 && topic["平板"] == 10000 && topic.values.reduce(0, +) == 62774)
        // Sentiment within 热水器, through the annotations of the same examples.
        let store = try ExampleStore(path: db, readOnly: true)
        let topicTask = try #require(try store.task(named: "topic")), sentTask = try #require(try store.task(named: "sentiment"))
        let heater = try #require(try store.labels(taskID: topicTask.id).first { $0.name == "热水器" }).id
        var heaterIDs = Set<Int64>()
        try store.forEachAnnotation(taskID: topicTask.id) { id, v in if v.ids == [heater] { heaterIDs.insert(id) } }
        let sentNames = try store.labels(taskID: sentTask.id).map(\.name)
        var split: [String: Int] = [:]
        try store.forEachAnnotation(taskID: sentTask.id) { id, v in if heaterIDs.contains(id) { split[sentNames[Int(v.ids[0])], default: 0] += 1 } }
        #expect(split == ["1": 475, "0": 100])

        // Without allow_empty_text the one empty review is a bad record: skipped and counted.
        m.allowEmptyText = nil
        let skipped = try importFile(Corpora.path("chinese/online_shopping_10_cats.csv"), into: f.storePath("skip.sqlite"), m, onError: .skip)
        #expect(skipped.examplesStored == 62773 && skipped.rejects == 1 && skipped.rejectReasons == ["emptyText": 1])
        let rejects = try ExampleStore(path: f.storePath("skip.sqlite"), readOnly: true).rejects(sourceID: skipped.sourceID)
        #expect(rejects.count == 1 && rejects[0].locator.hasPrefix("online_shopping_10_cats.csv:"))
    }

    @Test func wnut17AndUDAsTaggingTasks() throws {
        let db = f.storePath()
        for (file, sentences) in [("wnut17train.conll", 3394), ("emerging.dev.conll", 1009), ("emerging.test.annotated", 1287)] {
            let s = try importFile(Corpora.path("wnut17/" + file), into: db, Mapping(format: .conll, tasks: ["ner": TaskMapping(kind: .tagging, field: "1")]))
            #expect(s.examplesStored == Int64(sentences), "\(file)")
            if file == "wnut17train.conll" {
                #expect(s.labelCounts["ner"]?.values.reduce(0, +) == 62730, "one tag per token")
                #expect(s.labelCounts["ner"]?["B-person"] == 660 && s.labelCounts["ner"]?["B-creative-work"] == 140)
            }
        }
        // One tag per token: the store checks tags.count == token count on every add; check it again here.
        let store = try ExampleStore(path: db, readOnly: true)
        var tokenCounts: [Int64: Int] = [:]
        try store.forEachExample { tokenCounts[$0.id] = TokenBlob.tokenCount($0.tokens) }
        try store.forEachAnnotation(taskID: try #require(try store.task(named: "ner")).id) { id, v in
            #expect(v.ids.count == tokenCounts[id])
        }
        let ud = Mapping(format: .conllu, tasks: ["upos": TaskMapping(kind: .tagging, field: "3")])
        let test = try importFile(Corpora.path("ud/en_ewt-ud-test.conllu"), into: f.storePath("ud.sqlite"), ud, part: "test")
        #expect(test.examplesStored == 2077 && test.labelCounts["upos"]?.values.reduce(0, +) == 25094)
        #expect(test.labelCounts["upos"]?["NOUN"] == 4123 && test.labelCounts["upos"]?["X"] == 42)
        let dev = try importFile(Corpora.path("ud/en_ewt-ud-dev.conllu"), into: f.storePath("ud.sqlite"), ud)
        #expect(dev.examplesStored == 2001 && dev.labelCounts["upos"]?.values.reduce(0, +) == 25147)
        let stats = try ExampleStore(path: f.storePath("ud.sqlite"), readOnly: true).stats()
        #expect(stats.sources.map(\.source.info.part) == ["test", nil])
    }

    @Test func sst2AndWikipedia() throws {
        let db = f.storePath()
        let m = Mapping(format: .tsv, text: "sentence", tasks: ["sst": TaskMapping(kind: .classification, field: "label")])
        let train = try importFile(Corpora.path("sst2/train.tsv"), into: db, m)
        #expect(train.examplesStored == 67349 && train.labelCounts["sst"] == ["1": 37569, "0": 29780])
        #expect(try importFile(Corpora.path("sst2/dev.tsv"), into: db, m, part: "dev").examplesStored == 872)
        var wiki = Mapping(format: .xml, text: "revision/text")
        wiki.record = "page"
        wiki.group = "title"
        let w = try importFile(Corpora.path("wikidump/enwiki-excerpt.xml"), into: db, wiki)
        #expect(w.examplesStored == 206)
    }

    @Test func reimportAddsNothingAndReplaceReimports() throws {
        let db = f.storePath()
        let m = Mapping(format: .tsv, text: "sentence", tasks: ["sst": TaskMapping(kind: .classification, field: "label")])
        let path = Corpora.path("sst2/dev.tsv")
        let first = try importFile(path, into: db, m)
        let before = try dump(db)
        let again = try importFile(path, into: db, m)
        #expect(again.status == .alreadyImported && again.sourceID == first.sourceID && again.examplesStored == 0)
        #expect(try dump(db) == before)
        let replaced = try importFile(path, into: db, m, replace: true)
        #expect(replaced.status == .imported && replaced.examplesStored == 872 && replaced.replacedSourceIDs == [first.sourceID])
        let stats = try ExampleStore(path: db, readOnly: true).stats()
        #expect(stats.examples == 872 && stats.sources.count == 1 && stats.tasks[0].labels.map(\.count).reduce(0, +) == 872)
    }
}
