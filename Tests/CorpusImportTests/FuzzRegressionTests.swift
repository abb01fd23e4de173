import Foundation
import Store
import Testing
@testable import CorpusImport

/// Inputs the fuzzing harness (scripts/fuzz) found crashing, hanging or leaking a reader: each
/// must now end in records or a clean ImportError.
@Suite("Fuzzing findings (issue 18)")
struct FuzzRegressionTests {
    static let findings = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/fuzz-findings").standardized.path

    /// Reads every record, going on after the errors a reader continues after; returns what it saw.
    func drain(_ reader: any RecordReader) -> (records: Int, errors: [ImportError]) {
        var records = 0, errors: [ImportError] = []
        for _ in 0..<10_000 {
            do throws(ImportError) {
                guard try reader.next() != nil else { break }
                records += 1
            } catch {
                errors.append(error)
                if !error.kind.readerContinues { break }
            }
        }
        return (records, errors)
    }

    /// A CoNLL-U sentence whose `# text` holds invalid UTF-8 while its words are read for the text
    /// (fuzzing, conllu target): the reader crashed building the sentence's word offsets.
    @Test func conlluTextCommentWithInvalidUTF8() throws {
        let path = Self.findings + "/conllu-invalid-utf8-text"
        let reader = try CoNLLReader(path: path, fields: [.column(1), .column(3), .comment("text")],
                                     options: CoNLLOptions(dialect: .conllu, sentenceFor: .column(1)), hashing: true)
        let (records, errors) = drain(reader)
        #expect(records + errors.count >= 1)
        #expect(errors.allSatisfy { $0.locator.file == "conllu-invalid-utf8-text" }, "\(errors)")
    }

    /// A mapping whose key is itself a mapping (`{kind: …}` as a key): Yams's constructor crashed on it.
    @Test func mappingKeyThatIsAMapping() throws {
        let text = try String(contentsOfFile: Self.findings + "/mapping-key-is-a-mapping", encoding: .utf8)
        do {
            _ = try Mapping.decode(yaml: text, origin: "m.yaml")
            Issue.record("accepted")
        } catch {
            #expect(error.kind == .invalidMapping && error.message.contains("a key must be a plain name"), "\(error)")
        }
        #expect(throws: ImportError.self) { try Mapping.decode(yaml: "? [a, b]\n: 1\n", origin: "m.yaml") }
    }

    /// A base-60 number (`-1111111111110111111:0`, YAML 1.1's sexagesimal): Yams's constructor
    /// overflowed (a crash) converting it (fuzzing, mapping target).
    @Test func mappingSexagesimalNumber() throws {
        let text = try String(contentsOfFile: Self.findings + "/mapping-sexagesimal-overflow", encoding: .utf8)
        for yaml in [text, "format: csv\ntext: t\ntasks:\n  a: {kind: seq2seq, field: x, max_length: -99999999999999999999:10}\n"] {
            do {
                _ = try Mapping.decode(yaml: yaml, origin: "m.yaml")
                Issue.record("accepted: \(yaml)")
            } catch {
                #expect(error.kind == .invalidMapping && error.message.contains("base-60 number"), "\(error)")
            }
        }
        // A quoted one is a string, and a time-like label still imports as text.
        #expect(try Mapping.decode(yaml: "format: csv\ntext: t\ntasks:\n  a: {kind: classification, field: \"1:30\"}\n", origin: "m.yaml").tasks["a"]?.field == "1:30")
    }
}
