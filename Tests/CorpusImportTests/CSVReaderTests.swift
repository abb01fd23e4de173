import Testing
import Foundation
import Store
@testable import CorpusImport

@Suite struct CSVReaderTests {
    let f = Fixture()

    @Test func rfc4180QuotingNewlinesCRLFAndBOM() throws {
        let text = "\u{FEFF}id,text,label\r\n1,\"a, \"\"quoted\"\" word\",x\r\n2,\"two\r\nlines\",y\r\n3,\u{FEFF}plain,\"\"\r\n"
        let path = f.file("t.csv", text)
        let r = try CSVReader(path: path, columns: [.name("text"), .index(2), .name("id")])
        #expect(r.columnNames == ["id", "text", "label"])
        let recs = try readAll(r)
        #expect(recs.map(\.fields) == [
            [.string("a, \"quoted\" word"), .string("x"), .string("1")],
            [.string("two\r\nlines"), .string("y"), .string("2")],
            [.string("\u{FEFF}plain"), .string(""), .string("3")],
        ])
        #expect(recs.map(\.locator.description) == ["t.csv:2", "t.csv:3", "t.csv:5"])
    }

    @Test func tinyBlocksGiveTheSameRecordsAsOneBlock() throws {
        var text = "a,b\n"
        for i in 0..<200 { text += "\(i),\"field \(i) with \"\"quotes\"\", commas,\nand a newline é\"\n" }
        let path = f.file("big.csv", text)
        var small = CSVOptions.csv; small.blockSize = 16
        let a = try readAll(CSVReader(path: path, columns: [.index(0), .index(1)], options: small))
        let b = try readAll(CSVReader(path: path, columns: [.index(0), .index(1)]))
        #expect(a.count == 200 && a == b)
        #expect(a[199].locator.line == 2 + 199 * 2)
        #expect(a[7].fields[1] == .string("field 7 with \"quotes\", commas,\nand a newline é"))
    }

    @Test func headerModesDelimitersAndNoQuoteTSV() throws {
        let p = f.file("n.csv", "x;1\ny;2\n")
        var o = CSVOptions(delimiter: UInt8(ascii: ";"), header: .columns(["word", "n"]))
        #expect(try readAll(CSVReader(path: p, columns: [.name("n")], options: o)).map(\.fields) == [[.string("1")], [.string("2")]])
        o.header = .none
        #expect(try readAll(CSVReader(path: p, columns: [.index(0)], options: o)).map(\.locator.line) == [1, 2])
        let tsv = f.file("s.tsv", "sentence\tlabel\nit 's \"fine\" \t1\n\n\"odd\tquote\t0\n")
        #expect { try readAll(CSVReader(path: tsv, columns: [.name("sentence")], options: .tsv)) } throws: {
            ($0 as? ImportError)?.description == "s.tsv:4: expected 2 fields, found 3"
        }
        let tsv2 = f.file("s2.tsv", "sentence\tlabel\nit 's \"fine\" \t1\n\n\"odd\t0\n")
        #expect(try readAll(CSVReader(path: tsv2, columns: [.name("sentence"), .name("label")], options: .tsv)).map(\.fields)
                == [[.string("it 's \"fine\" "), .string("1")], [.string("\"odd"), .string("0")]])
    }

    @Test func badInputsNameFileLineAndColumn() {
        func err(_ text: String, _ columns: [ColumnRef] = [.index(0)], name: String = "bad.csv") -> String? {
            let p = f.file(name, text)
            return firstError { try CSVReader(path: p, columns: columns) }?.description
        }
        #expect(err("a,b\n1,2\n3,\"open\nstill open\n") == "bad.csv:3:3: unterminated quoted field at end of file")
        #expect(err("a,b\n1,2\n3,4,5\n") == "bad.csv:3: expected 2 fields, found 3")
        #expect(err("a,b\n1\n") == "bad.csv:2: expected 2 fields, found 1")
        #expect(err("a,b\n1,ab\"c\n") == "bad.csv:2:5: quote inside an unquoted field (policy: strict RFC 4180; quote the field and double its quotes)")
        #expect(err("a,b\n1,\"ab\"c\n") == "bad.csv:2:7: unexpected 'c' after closing quote (policy: strict RFC 4180)")
        #expect(err("a,b\n1,2\n", [.name("text")]) == "bad.csv:1: unknown column 'text' (columns are 'a', 'b')")
        #expect(err("a,b\n1,2\n", [.index(5)]) == "bad.csv:1: column index 5 out of range (2 columns)")
        let bytes: [UInt8] = Array("a,b\n1,\"x\ny".utf8) + [0xFF] + Array("z\"\n".utf8)
        let p = f.file("utf.csv", bytes: bytes)
        let e = firstError { try CSVReader(path: p, columns: [.index(1), .index(0)]) }
        #expect(e?.kind == .invalidUTF8)
        #expect(e?.description == "utf.csv:3:2: invalid UTF-8 at byte offset 10")
        // Columns the mapping does not use are not decoded.
        #expect(firstError { try CSVReader(path: p, columns: [.index(0)]) } == nil)
    }

    @Test func runawayQuoteIsBoundedByMaxRecordBytes() {
        var o = CSVOptions.csv; o.blockSize = 64; o.maxRecordBytes = 1024
        let p = f.file("long.csv", "a\n\"" + String(repeating: "x", count: 5000) + "\n")
        #expect(firstError { try CSVReader(path: p, columns: [.index(0)], options: o) }?.description
                == "long.csv:2: record longer than the limit of 1024 bytes (an unterminated quote? --max-record-bytes raises it)")
    }

    @Test func hashingWhileReadingMatchesSHA256OfTheFile() throws {
        let text = "a,b\n" + String(repeating: "1,\"x\"\n", count: 3000)
        let p = f.file("h.csv", text)
        var o = CSVOptions.csv; o.blockSize = 1000
        let r = try CSVReader(path: p, columns: [.index(0)], options: o, hashing: true)
        #expect(try readAll(r).count == 3000)
        var h = SHA256(); h.update(Array(text.utf8))
        #expect(r.contentSHA256 == h.finalizeHex())
        #expect(r.bytesRead == Int64(text.utf8.count) && r.totalBytes == Int64(text.utf8.count))
    }

    @Test(.enabled(if: Corpora.available, Corpora.skipMessage))
    func chineseReviewsTwoTasksOneText() throws {
        let r = try CSVReader(path: Corpora.path("chinese/online_shopping_10_cats.csv"), columns: [.name("cat"), .name("label"), .name("review")])
        let recs = try readAll(r)
        #expect(recs.count == 62774)
        let cats = counts(recs.map { $0.fields[0].single! })
        #expect(cats.count == 10 && cats["平板"] == 10000 && cats["酒店"] == 10000 && cats["热水器"] == 575)
        #expect(counts(recs.map { $0.fields[1].single! }) == ["1": 31728, "0": 31046])
        #expect(counts(recs.filter { $0.fields[0].single == "热水器" }.map { $0.fields[1].single! }) == ["1": 475, "0": 100])
        #expect(recs.reduce(0) { $0 + $1.fields[2].single!.unicodeScalars.filter { $0 == "\u{FEFF}" }.count } == 20)
        #expect(recs.filter { $0.fields[2].single!.isEmpty }.count == 1)
        #expect(recs[0].locator.description == "online_shopping_10_cats.csv:2")
    }

    @Test(.enabled(if: Corpora.available, Corpora.skipMessage))
    func sst2TrainAndDev() throws {
        let train = try readAll(CSVReader(path: Corpora.path("sst2/train.tsv"), columns: [.name("sentence"), .name("label")], options: .tsv))
        #expect(train.count == 67349)
        #expect(counts(train.map { $0.fields[1].single! }) == ["1": 37569, "0": 29780])
        #expect(train.allSatisfy { $0.fields[0].single!.hasSuffix(" ") })
        #expect(try readAll(CSVReader(path: Corpora.path("sst2/dev.tsv"), columns: [.name("label")], options: .tsv)).count == 872)
    }
}
