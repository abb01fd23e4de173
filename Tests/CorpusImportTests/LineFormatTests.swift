import Testing
import Foundation
@testable import CorpusImport

@Suite struct JSONLReaderTests {
    let f = Fixture()

    @Test func keyPathsIndexesWildcardsAndScalars() throws {
        let p = f.file("d.jsonl", """
            {"text": "Héllo \\"x\\"", "meta": {"topic": "t1", "tags": ["a", "b"]}, "n": 3, "ok": true, "spans": [{"s": 0, "l": "PER"}, {"s": 4, "l": "LOC"}]}

            {"text": "second", "meta": {"tags": []}, "n": 2.5, "ok": null}\r
            """)
        let r = try JSONLReader(path: p, fields: ["text", "meta.topic", "meta.tags", "meta.tags.1", "n", "ok", "spans.*.l", "spans.1.s"], blockSize: 16)
        let recs = try readAll(r)
        #expect(recs.map(\.locator.description) == ["d.jsonl:1", "d.jsonl:3"])
        #expect(recs[0].fields == [.string("Héllo \"x\""), .string("t1"), .list(["a", "b"]), .string("b"), .string("3"), .string("true"),
                                   .list(["PER", "LOC"]), .string("4")])
        #expect(recs[1].fields == [.string("second"), .missing, .list([]), .missing, .string("2.5"), .missing, .missing, .missing])
    }

    @Test func badLinesNameFileAndLine() {
        func err(_ text: String) -> String? {
            let p = f.file("bad.jsonl", text)
            return firstError { try JSONLReader(path: p, fields: ["text"]) }.map { "\($0.kind.rawValue) \($0.locator)" }
        }
        #expect(err("{\"text\": \"a\"}\n{\"text\": \"b\"\n") == "invalidJSON bad.jsonl:2")
        #expect(err("{\"text\": \"a\"}\n\n[1, 2]\n") == "invalidJSON bad.jsonl:3")
        let p = f.file("utf.jsonl", bytes: Array("{\"text\": \"a\"}\n{\"text\": \"".utf8) + [0xC3, 0x28] + Array("\"}\n".utf8))
        #expect(firstError { try JSONLReader(path: p, fields: ["text"]) }?.description == "utf.jsonl:2:11: invalid UTF-8 at byte offset 24")
        let q = f.file("arr.jsonl", "[1]\n")
        #expect(firstError { try JSONLReader(path: q, fields: ["text"]) }?.description == "arr.jsonl:1: expected a JSON object, found an array")
    }
}

@Suite struct CoNLLReaderTests {
    let f = Fixture()

    @Test func plainCoNLLKeepsHashTokensAndSkipsDocstart() throws {
        let p = f.file("w.conll", "-DOCSTART- O\n\n#fun\tO\nParis\tB-location\n\n\n@me\tO\r\n")
        let r = try CoNLLReader(path: p, fields: [.column(0), .column(1), .surfaceForms], blockSize: 16)
        let recs = try readAll(r)
        #expect(recs.map(\.fields) == [[.list(["#fun", "Paris"]), .list(["O", "B-location"]), .list(["#fun", "Paris"])],
                                       [.list(["@me"]), .list(["O"]), .list(["@me"])]])
        #expect(recs.map(\.locator.description) == ["w.conll:3", "w.conll:7"])
        #expect(r.sentences == 2 && r.words == 3)
        let bad = f.file("b.conll", "a\tO\nb\n")
        #expect(firstError { try CoNLLReader(path: bad, fields: [.column(1)]) }?.description == "b.conll:2:1: line has 1 column, column 1 requested")
    }

    @Test func conllUWordsRangesEmptyNodesAndComments() throws {
        let p = f.file("u.conllu", """
            # sent_id = s1
            # text = Don't go.
            1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_
            1\tDo\tdo\tAUX\t_\t_\t3\taux\t_\t_
            2\tn't\tnot\tPART\t_\t_\t3\tadvmod\t_\t_
            3\tgo\tgo\tVERB\t_\t_\t0\troot\t_\t_
            3.1\tgo\tgo\tVERB\t_\t_\t_\t_\t0:root\t_
            4\t.\t.\tPUNCT\t_\t_\t3\tpunct\t_\t_

            # sent_id = s2
            1\tHi\thi\tINTJ\t_\t_\t0\troot\t_\t_

            """)
        let r = try CoNLLReader(path: p, fields: [.column(1), .column(3), .comment("text"), .comment("sent_id"), .surfaceForms, .comment("none")], options: .conllu)
        let recs = try readAll(r)
        #expect(recs.count == 2)
        #expect(recs[0].fields == [.list(["Do", "n't", "go", "."]), .list(["AUX", "PART", "VERB", "PUNCT"]), .string("Don't go."),
                                   .string("s1"), .list(["Don't", "go", "."]), .missing])
        #expect(recs[1].locator.description == "u.conllu:10")
        #expect(r.sentences == 2 && r.words == 5 && r.multiwordRanges == 1 && r.emptyNodes == 1)
    }

    @Test func malformedCoNLLU() {
        func err(_ text: String) -> String? {
            let p = f.file("bad.conllu", text)
            return firstError { try CoNLLReader(path: p, fields: [.column(3)], options: .conllu) }?.description
        }
        let row = "\t_\t_\tX\t_\t_\t0\troot\t_\t_\n"
        #expect(err("1" + row + "3" + row) == "bad.conllu:2:1: word id '3' out of sequence (expected 2)")
        #expect(err("1" + row + "2\tx\n") == "bad.conllu:2:1: expected 10 tab-separated columns, found 2")
        #expect(err("1" + row + "# late\n") == "bad.conllu:2:1: comment line inside a sentence")
        #expect(err("2-3" + row) == "bad.conllu:1:1: bad multiword range '2-3' after word 0")
    }

    @Test(.enabled(if: Corpora.available, Corpora.skipMessage))
    func wnut17() throws {
        for (file, sentences) in [("wnut17train.conll", 3394), ("emerging.dev.conll", 1009), ("emerging.test.annotated", 1287)] {
            let r = try CoNLLReader(path: Corpora.path("wnut17/" + file), fields: [.column(0), .column(1)])
            let recs = try readAll(r)
            #expect(recs.count == sentences, "\(file)")
            #expect(recs.allSatisfy { $0.fields[0].strings.count == $0.fields[1].strings.count })
            if file == "wnut17train.conll" {
                #expect(r.words == 62730)
                let b = counts(recs.flatMap { $0.fields[1].strings }.filter { $0.hasPrefix("B-") })
                #expect(b == ["B-person": 660, "B-location": 548, "B-group": 264, "B-corporation": 221, "B-product": 142, "B-creative-work": 140])
            }
        }
    }

    @Test(.enabled(if: Corpora.available, Corpora.skipMessage))
    func udEnglishEWT() throws {
        let r = try CoNLLReader(path: Corpora.path("ud/en_ewt-ud-test.conllu"), fields: [.column(1), .column(3), .comment("text"), .surfaceForms], options: .conllu)
        let recs = try readAll(r)
        #expect(recs.count == 2077 && r.words == 25094 && r.multiwordRanges == 354 && r.emptyNodes == 2)
        let upos = counts(recs.flatMap { $0.fields[1].strings })
        #expect(upos["NOUN"] == 4123 && upos["X"] == 42)
        #expect(recs.allSatisfy { $0.fields[2].single != nil })
        #expect(recs[0].fields[2] == .string("What if Google Morphed Into GoogleOS?"))
        // Surface forms: one fewer token per range word beyond the first.
        #expect(recs.reduce(0) { $0 + $1.fields[3].strings.count } < 25094)
        let dev = try CoNLLReader(path: Corpora.path("ud/en_ewt-ud-dev.conllu"), fields: [.column(3)], options: .conllu)
        #expect(try readAll(dev).count == 2001 && dev.words == 25147)
    }
}
