import Foundation
import Store
import Testing
@testable import CorpusImport

@Suite struct ParallelLineReaderTests {
    let f = Fixture()

    private func reader(_ src: String, _ tgt: String, fields: [String] = ["source", "target"], hashing: Bool = false) throws(ImportError) -> ParallelLineReader {
        try ParallelLineReader(sourcePath: f.file("src.txt", src), targetPath: f.file("tgt.txt", tgt), fields: fields, hashing: hashing)
    }

    @Test func pairsLinesInLockstep() throws {
        let src = "Guten Morgen\r\nDanke schön\n\n你好\n"
        let tgt = "Good morning\nThank you\r\n\nhello"
        var options = ParallelLineOptions()
        options.blockSize = 16
        let r = try ParallelLineReader(sourcePath: f.file("train.de", src), targetPath: f.file("train.en", tgt),
                                       fields: ["target", "line", "source"], options: options, hashing: true)
        let recs = try readAll(r)
        #expect(recs.map(\.locator.description) == ["train.de:1", "train.de:2", "train.de:3", "train.de:4"])
        #expect(recs.map(\.fields) == [
            [.string("Good morning"), .string("1"), .string("Guten Morgen")],
            [.string("Thank you"), .string("2"), .string("Danke schön")],
            [.string(""), .string("3"), .string("")],
            [.string("hello"), .string("4"), .string("你好")],
        ])
        #expect(try r.next() == nil)
        #expect(r.bytesRead == Int64(src.utf8.count + tgt.utf8.count))
        #expect(r.totalBytes == Int64(src.utf8.count + tgt.utf8.count))
        // The pair's hash: SHA-256 of the two files' hex digests, source first.
        let s = try SHA256.hexDigest(ofFile: f.dir.appendingPathComponent("train.de").path)
        let t = try SHA256.hexDigest(ofFile: f.dir.appendingPathComponent("train.en").path)
        var h = SHA256()
        h.update(Array((s + t).utf8))
        #expect(r.contentSHA256 == h.finalizeHex())
        #expect(r.contentSHA256 != s && r.contentSHA256 != t)
        let swapped = try ParallelLineReader(sourcePath: f.dir.appendingPathComponent("train.en").path,
                                             targetPath: f.dir.appendingPathComponent("train.de").path, fields: ["source"], hashing: true)
        _ = try readAll(swapped)
        #expect(swapped.contentSHA256 != nil && swapped.contentSHA256 != r.contentSHA256)
    }

    @Test func moreSourceLinesIsFatalWithBothTrueCounts() throws {
        let r = try reader("a\nb\nc\nd\ne\n", "A\nB\n")
        #expect(try r.next()?.fields == [.string("a"), .string("A")])
        #expect(try r.next()?.fields == [.string("b"), .string("B")])
        do {
            _ = try r.next()
            Issue.record("unequal line counts went unnoticed")
        } catch {
            #expect(error.kind == .unalignedFiles)
            #expect(!error.kind.readerContinues)
            #expect(error.description == "src.txt:3: src.txt has 5 lines, tgt.txt has 2 lines: a parallel corpus needs one target line per source line (line 3 of src.txt has no counterpart)")
        }
        #expect(throws: ImportError.self) { try r.next() } // and stays stopped
    }

    @Test func moreTargetLinesIsFatalWithBothTrueCounts() {
        let e = firstError { try reader("one\ntwo", "uno\ndos\ntres\ncuatro") }
        #expect(e?.description == "src.txt:3: src.txt has 2 lines, tgt.txt has 4 lines: a parallel corpus needs one target line per source line (line 3 of tgt.txt has no counterpart)")
        let one = firstError { try reader("", "x\n") }
        #expect(one?.kind == .unalignedFiles)
        #expect(one?.message.hasPrefix("src.txt has 0 lines, tgt.txt has 1 line:") == true)
        let bigger = String(repeating: "line\n", count: 120)
        #expect(firstError { try reader(bigger, String(repeating: "line\n", count: 119)) }?.message.hasPrefix("src.txt has 120 lines, tgt.txt has 119 lines:") == true)
    }

    @Test func invalidUTF8NamesItsFileAndLineAndKeepsTheFilesInStep() throws {
        let src = f.file("s.txt", bytes: Array("ok\nfine\nbad ".utf8) + [0xFF] + Array("\nlast\n".utf8))
        let tgt = f.file("t.txt", bytes: Array("ok\nfi".utf8) + [0xC3, 0x28] + Array("ne\nbad\nlast\n".utf8))
        let r = try ParallelLineReader(sourcePath: src, targetPath: tgt, fields: ["source", "target"])
        var recs: [RawRecord] = [], errors: [ImportError] = []
        while true {
            do {
                guard let rec = try r.next() else { break }
                recs.append(rec)
            } catch {
                #expect(error.kind.readerContinues)
                errors.append(error)
            }
        }
        #expect(errors.map(\.description) == ["t.txt:2:3: invalid UTF-8 at byte offset 5", "s.txt:3:5: invalid UTF-8 at byte offset 12"])
        #expect(recs.map(\.fields) == [[.string("ok"), .string("ok")], [.string("last"), .string("last")]])
        #expect(recs.map(\.locator.description) == ["s.txt:1", "s.txt:4"])
    }

    @Test func emptyFilesAndUnknownFields() throws {
        let r = try reader("", "", hashing: true)
        #expect(try r.next() == nil)
        #expect(try r.next() == nil)
        #expect(r.noRecordsExplanation() == "both files are empty")
        #expect(r.contentSHA256 != nil)
        do {
            _ = try reader("a\n", "b\n", fields: ["source", "translation"])
            Issue.record("an unknown field was accepted")
        } catch {
            #expect(error.kind == .unknownColumn)
            #expect(error.description == "src.txt: unknown field 'translation' of a parallel corpus (its fields are 'source', 'target' and 'line')")
        }
        // Only the fields asked for are decoded: invalid UTF-8 in an unread side is no error.
        let s = f.file("s2.txt", "a\n"), t = f.file("t2.txt", bytes: [0xFF, 0x0A])
        #expect(try readAll(ParallelLineReader(sourcePath: s, targetPath: t, fields: ["source", "line"])).map(\.fields) == [[.string("a"), .string("1")]])
    }
}
