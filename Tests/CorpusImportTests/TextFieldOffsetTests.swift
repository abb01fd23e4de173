import Foundation
import Testing
import Text
@testable import CorpusImport

/// The text pipeline's offset guarantee on every text field of every corpus file, read by the
/// importers' own readers: for every token, normalizing the original field text at the token's
/// offsets gives the token (TextTests checks the same over whole lines).
@Suite("Offsets hold on every text field", .enabled(if: Corpora.available, Corpora.skipMessage))
struct TextFieldOffsetTests {
    /// Every corpus file with a reader for all of its text fields.
    static let files: [(String, @Sendable (String) throws -> any RecordReader)] = [
        ("chinese/online_shopping_10_cats.csv", { try CSVReader(path: $0, columns: [.name("cat"), .name("label"), .name("review")]) }),
        ("sst2/train.tsv", { try CSVReader(path: $0, columns: [.name("sentence"), .name("label")], options: .tsv) }),
        ("sst2/dev.tsv", { try CSVReader(path: $0, columns: [.name("sentence"), .name("label")], options: .tsv) }),
        ("semeval14/Restaurants_Train_v2.xml", semeval), ("semeval14/Restaurants_Test_Gold.xml", semeval),
        ("semeval14/Laptop_Train_v2.xml", semeval), ("semeval14/Laptops_Test_Gold.xml", semeval),
        ("wikidump/enwiki-excerpt.xml", {
            try XMLRecordReader(path: $0, fields: ["title", "revision/text", "revision/comment", "revision/contributor/username"],
                                options: XMLOptions(recordElement: "page", namespaceURI: "http://www.mediawiki.org/xml/export-0.10/"))
        }),
        ("wnut17/wnut17train.conll", conll), ("wnut17/emerging.dev.conll", conll), ("wnut17/emerging.test.annotated", conll),
        ("ud/en_ewt-ud-dev.conllu", conllu), ("ud/en_ewt-ud-test.conllu", conllu),
    ]
    static let semeval: @Sendable (String) throws -> any RecordReader = {
        try XMLRecordReader(path: $0, fields: ["text", "aspectTerms/aspectTerm/@term", "aspectTerms/aspectTerm/@polarity",
                                               "aspectCategories/aspectCategory/@category"],
                            options: XMLOptions(recordElement: "sentence"))
    }
    static let conll: @Sendable (String) throws -> any RecordReader = { try CoNLLReader(path: $0, fields: [.column(0), .column(1)]) }
    static let conllu: @Sendable (String) throws -> any RecordReader = {
        try CoNLLReader(path: $0, fields: [.column(1), .column(2), .comment("text"), .surfaceForms], options: .conllu)
    }

    @Test(arguments: 0..<files.count)
    func offsetsHold(index: Int) throws {
        let (relative, open) = Self.files[index]
        let processors = try [("nfkc_cf", "words", ""), ("clean,nfkc,casefold(tr),collapse_ws", "words(punct=drop)", "tr"),
                              ("nfd,strip_accents,width", "regex(\\p{L}+|\\p{N}+|\\S)", "")]
            .map { try TextPipeline(normalize: $0.0, tokenize: $0.1, locale: $0.2).makeProcessor() }
        let reader = try open(Corpora.path(relative))
        var fields = 0, tokens = 0
        while let record = try reader.next() {
            for field in record.fields {
                // A CoNLL column is one field per sentence: its words joined, as the importer's text.
                let text = field.strings.joined(separator: " ")
                fields += 1
                for processor in processors {
                    let result = try processor.tokenize(text)
                    tokens += result.tokens.count
                    for token in result.tokens {
                        let slice = String(result.originalText(of: token))
                        let expected = String(result.text(of: token))
                        if try processor.normalize(slice) != expected {
                            Issue.record("\(record.locator): normalize(\(slice.debugDescription)) != \(expected.debugDescription) under \(processor.pipeline.normalizerSpec)")
                            return
                        }
                    }
                }
            }
        }
        #expect(fields > 0 && tokens > 0, "\(relative): nothing read")
    }
}
