import Foundation
import Store
import Testing
@testable import CorpusImport

/// Reads to the end, collecting records and the errors after which the reader went on.
private func readAllContinuing(_ reader: some RecordReader) throws -> (records: [RawRecord], errors: [ImportError]) {
    var records: [RawRecord] = [], errors: [ImportError] = []
    while true {
        do {
            guard let r = try reader.next() else { break }
            records.append(r)
        } catch let e as ImportError {
            guard e.kind.readerContinues else { throw e }
            errors.append(e)
        }
    }
    return (records, errors)
}

@Suite struct RegexLineReaderTests {
    let f = Fixture()
    static let cmu = #"^(?<word>[^\s(]+)(?:\((?<variant>\d+)\))? (?<phones>[^#]+?)(?:\s+#.*)?$"#

    @Test func namedGroupsOptionalGroupCommentsBlankLinesAndCRLF() throws {
        let p = f.file("d.dict", ";;; header comment\r\nabc AE1 B\r\n\r\n  \t \nabc(2) EY1 B IY1 S IY1 # letters\r\n;;;another\nx X\n")
        var options = RegexLineOptions(commentPrefix: ";;;")
        options.blockSize = 16
        let r = try RegexLineReader(path: p, pattern: Self.cmu, fields: ["word", "phones", "variant"], options: options)
        #expect(r.groupNames == ["word", "variant", "phones"])
        let recs = try readAll(r)
        #expect(recs.map(\.locator.description) == ["d.dict:2", "d.dict:5", "d.dict:7"])
        #expect(recs.map(\.fields) == [
            [.string("abc"), .string("AE1 B"), .missing],
            [.string("abc"), .string("EY1 B IY1 S IY1"), .string("2")],
            [.string("x"), .string("X"), .missing],
        ])
        #expect(r.skippedLines == 4)
        #expect(r.mismatchedLines == 0)
    }

    @Test func blankLinesAreMismatchesWhenNotSkipped() throws {
        let p = f.file("b.txt", "a 1\n\nb 2\n")
        var options = RegexLineOptions()
        options.skipBlankLines = false
        let r = try RegexLineReader(path: p, pattern: #"(?<k>\w+) (?<v>\d+)"#, fields: ["v"], options: options)
        let (recs, errors) = try readAllContinuing(r)
        #expect(recs.map(\.fields) == [[.string("1")], [.string("2")]])
        #expect(errors.map(\.description) == ["b.txt:2: line does not match the pattern: ''"])
    }

    @Test func nonMatchingLineIsAPerLineErrorAndTheReaderContinues() throws {
        let p = f.file("m.txt", "good 1\nbad line here\ngood 3\nalso-bad\n")
        let r = try RegexLineReader(path: p, pattern: #"(?<w>[a-z]+) (?<n>\d+)"#, fields: ["w", "n"])
        let (recs, errors) = try readAllContinuing(r)
        #expect(recs.map(\.locator.description) == ["m.txt:1", "m.txt:3"])
        #expect(recs.map(\.fields) == [[.string("good"), .string("1")], [.string("good"), .string("3")]])
        #expect(errors.map(\.kind) == [.patternMismatch, .patternMismatch])
        #expect(errors.map(\.description) == ["m.txt:2: line does not match the pattern: 'bad line here'",
                                              "m.txt:4: line does not match the pattern: 'also-bad'"])
        #expect(r.mismatchedLines == 2)
        // A full match, not a search: "good 1 extra" contains a match but is not one.
        let q = f.file("full.txt", "good 1 extra\n")
        #expect(firstError { try RegexLineReader(path: q, pattern: #"(?<w>[a-z]+) (?<n>\d+)"#, fields: ["w"]) }?.kind == .patternMismatch)
    }

    @Test func invalidPatternNamesICUsPositionAndErrorName() {
        func err(_ pattern: String) -> ImportError? {
            do { _ = try RegexLineReader(path: "/nonexistent/never-opened.txt", pattern: pattern, fields: []); return nil } catch { return error }
        }
        let unclosed = err(#"(?<word>[a-z]+"#)
        #expect(unclosed?.kind == .invalidMapping)
        #expect(unclosed?.description == "pattern: invalid regular expression at line 1, offset 14 (after '(?<word>[a-z]+'): U_REGEX_MISMATCHED_PAREN")
        let badClass = err(#"(?<w>\w+) [z-a]"#)
        #expect(badClass?.description.hasPrefix("pattern: invalid regular expression at line 1, offset 14") == true)
        #expect(badClass?.description.hasSuffix("U_REGEX_INVALID_RANGE") == true)
        // A free-spacing pattern over several lines: ICU names the line.
        let multi = err("(?x) (?<w> \\w+ ) \n  (?<n> \\d+ \n  [b-a] )")
        #expect(multi?.description.hasPrefix("pattern: invalid regular expression at line 3, offset") == true)
        var options = RegexLineOptions()
        options.patternOrigin = "mapping"
        do {
            _ = try RegexLineReader(path: "/nonexistent", pattern: "a)", fields: [], options: options)
            Issue.record("an unbalanced pattern compiled")
        } catch {
            #expect(error.description == "mapping: invalid regular expression at line 1, offset 2 (after 'a'): U_REGEX_MISMATCHED_PAREN")
        }
        #expect(throws: ImportError.self) { try RegexLineReader.validate(pattern: "(", fields: []) }
    }

    @Test func unknownFieldNamesTheGroupsThatExist() throws {
        do {
            _ = try RegexLineReader(path: "/nonexistent", pattern: Self.cmu, fields: ["word", "phone"])
            Issue.record("an unknown group was accepted")
        } catch {
            #expect(error.kind == .unknownColumn)
            #expect(error.description == "pattern: field 'phone' is not a named group of the pattern (its named groups are 'word', 'variant', 'phones')")
        }
        // Lookbehinds, escaped parentheses, \Q…\E and bracket expressions do not open named groups.
        let tricky = #"(?<=x)\(?<no1>\Q(?<no2>\E[(?<no3>)](?<!y)(?<yes>a)(?<also2>b)?"#
        #expect(try RegexLineReader.validate(pattern: tricky, fields: ["yes", "also2"]) == ["yes", "also2"])
        do {
            try RegexLineReader.validate(pattern: #"(\w+) (\d+)"#, fields: ["w"])
            Issue.record("a field was accepted from a pattern without named groups")
        } catch {
            #expect(error.message == "field 'w' is not a named group of the pattern (the pattern has no named groups)")
        }
    }

    @Test func multiByteUTF8GroupsAreCutAtTheRightBytes() throws {
        let p = f.file("zh.tsv", "你好世界\thello world\n中文，标点\t😀 emoji\n日本語テキスト\tja\n")
        let r = try RegexLineReader(path: p, pattern: #"(?<zh>[\p{Han}\p{Hiragana}\p{Katakana}，]+?)(?<tail>[\p{Katakana}]*)\t(?<en>.+)"#,
                                    fields: ["en", "zh", "tail"])
        let recs = try readAll(r)
        #expect(recs.map(\.fields) == [
            [.string("hello world"), .string("你好世界"), .string("")],
            [.string("😀 emoji"), .string("中文，标点"), .string("")],
            [.string("ja"), .string("日本語"), .string("テキスト")],
        ])
        let q = f.file("chars.txt", "😀日x本\n")
        let one = try readAll(RegexLineReader(path: q, pattern: #"(?<a>.)(?<b>.)(?<c>x)(?<d>.)(?<e>z)?"#, fields: ["a", "b", "c", "d", "e"]))
        #expect(one.map(\.fields) == [[.string("😀"), .string("日"), .string("x"), .string("本"), .missing]])
    }

    @Test func invalidUTF8IsReportedAtItsColumnAndTheReaderGoesOn() throws {
        let p = f.file("u.txt", bytes: Array("ok 1\nbad ".utf8) + [0xE4, 0xBD] + Array(" 2\nok 3\n".utf8))
        let r = try RegexLineReader(path: p, pattern: #"(?<w>\S+) (?<n>\d+)"#, fields: ["n"])
        let (recs, errors) = try readAllContinuing(r)
        #expect(recs.map(\.fields) == [[.string("1")], [.string("3")]])
        #expect(errors.map(\.description) == ["u.txt:2:5: invalid UTF-8 at byte offset 9"])
    }

    @Test func emptyFileHashAndProgress() throws {
        let e = f.file("empty.txt", "")
        let r = try RegexLineReader(path: e, pattern: "(?<a>.*)", fields: ["a"], hashing: true)
        #expect(try r.next() == nil)
        #expect(r.contentSHA256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let c = f.file("comments.txt", "# a\n\n# b\n")
        let rc = try RegexLineReader(path: c, pattern: "(?<a>.*)", fields: ["a"], options: RegexLineOptions(commentPrefix: "#"))
        #expect(try rc.next() == nil)
        #expect(rc.noRecordsExplanation() == "no lines to match (3 blank or comment lines skipped)")
        let text = "α 1\nβ 2\n"
        let p = f.file("h.txt", text)
        let rh = try RegexLineReader(path: p, pattern: #"(?<x>\S+) (?<n>\d)"#, fields: ["x"], hashing: true)
        #expect(try readAll(rh).map(\.fields) == [[.string("α")], [.string("β")]])
        #expect(rh.contentSHA256 == (try SHA256.hexDigest(ofFile: p)))
        #expect(rh.bytesRead == Int64(text.utf8.count) && rh.totalBytes == Int64(text.utf8.count))
    }

    @Test(.enabled(if: Corpora.available, Corpora.skipMessage))
    func cmudictImportsEveryEntry() throws {
        let path = Corpora.path("cmudict/cmudict.dict")
        // The expected count, independently: lines that are neither blank nor `#` comments.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let expected = text.split(separator: "\n", omittingEmptySubsequences: false).filter {
            !$0.allSatisfy(\.isWhitespace) && !$0.hasPrefix("#")
        }.count
        let r = try RegexLineReader(path: path, pattern: Self.cmu, fields: ["word", "variant", "phones"],
                                    options: RegexLineOptions(commentPrefix: "#"), hashing: true)
        let (recs, errors) = try readAllContinuing(r)
        #expect(errors.isEmpty, "\(errors.prefix(3))")
        #expect(recs.count == expected)
        #expect(recs.count > 130_000)
        let byLine = Dictionary(recs.map { ($0.fields[0].single! + ($0.fields[1].single.map { "(\($0))" } ?? ""), $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byLine["'bout"]?.fields == [.string("'bout"), .missing, .string("B AW1 T")])
        #expect(byLine["aalborg"]?.fields == [.string("aalborg"), .missing, .string("AO1 L B AO0 R G")]) // `# place, danish` dropped
        #expect(byLine["aalborg"]?.locator.description == "cmudict.dict:29")
        #expect(byLine["abkhazian(4)"]?.fields == [.string("abkhazian"), .string("4"), .string("AE0 B K AE1 Z Y AH0 N")])
        #expect(byLine["read(2)"]?.fields[2] == .string("R IY1 D"))
        #expect(byLine["tomato(2)"]?.fields[2] == .string("T AH0 M AA1 T OW2"))
        #expect(recs.last?.fields == [.string("zywicki"), .missing, .string("Z IH0 W IH1 K IY0")])
        #expect(!recs.contains { $0.fields[2].single!.contains("#") })
        #expect(r.contentSHA256 == (try SHA256.hexDigest(ofFile: path)))
        print("cmudict: \(recs.count) records from \(r.bytesRead) bytes, \(r.skippedLines) lines skipped")
    }
}
