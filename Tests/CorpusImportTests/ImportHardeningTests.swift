import Foundation
import Store
import Testing
import Text
@testable import CorpusImport

/// Issue 18, "Defects".
@Suite("Import hardening (issue 18)")
struct ImportHardeningTests {
    let fx = Fixture()

    static let sentences = """
        <sentences><sentence id="1"><text>The food was great</text></sentence></sentences>

        """

    @Test func anInvalidExpressionAfterAValidOneIsAnErrorNotACrash() throws {
        // The second expression failed to compile after the first had compiled: the reader freed
        // the first one, then its deinit freed it again.
        let path = fx.file("s.xml", Self.sentences)
        let e = firstError { try XMLRecordReader(path: path, fields: ["text", "t["], options: XMLOptions(recordElement: "sentence")) }
        #expect(e?.kind == .invalidXPath)
        #expect(e?.message == "invalid XPath 't[' at character 3 (end of the expression): Invalid expression")
    }

    @Test func mappingValidationNamesTheKeyAndPosition() throws {
        var m = Mapping(format: .xml, text: "text", tasks: ["l": TaskMapping(kind: .classification, field: "a/string(b)/c")])
        m.record = "sentence"
        let e = importError { try m.validate(origin: "mapping") }
        #expect(e?.kind == .invalidXPath)
        #expect(e?.description.hasPrefix("mapping: tasks.l.field: invalid XPath 'a/string(b)/c' at character") == true, "\(String(describing: e))")
        // Expressions that are not node-sets are fine where a value is expected.
        m.tasks["l"] = TaskMapping(kind: .classification, field: "concat(@a, '-', @b)")
        #expect(importError { try m.validate(origin: "mapping") } == nil)
        m.tasks["l"] = TaskMapping(kind: .classification, field: "x:y/@z")   // a prefix the document may declare
        #expect(importError { try m.validate(origin: "mapping") } == nil)
    }

    @Test func aMappingFileNamesTheLineOfTheBadExpression() throws {
        let e = importError {
            _ = try yamlMapping("""
                format: xml
                record: sentence
                text: text
                tasks:
                  a.b:
                    kind: spans
                    items: aspectTerms/aspectTerm
                    start: "@from"
                    end: "@to]"
                    label: "@polarity"
                """)
        }
        #expect(e?.kind == .invalidXPath)
        #expect(e?.locator.line == 9, "\(String(describing: e))")
        #expect(e?.message.hasPrefix("tasks.a.b.end: invalid XPath 'aspectTerms/aspectTerm/@to]'") == true, "\(String(describing: e))")
    }
}
