import Foundation
import Testing
@testable import Text

/// The real corpora: `$MTL_CORPORA`, else `../shared/corpora` beside the package.
enum Corpora {
    static let root: URL = {
        if let path = ProcessInfo.processInfo.environment["MTL_CORPORA"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/corpora")
    }()
    static var available: Bool { FileManager.default.fileExists(atPath: root.appendingPathComponent("INDEX.md").path) }
    static let skipMessage = "real corpora not found at \(root.path): set MTL_CORPORA to run the real-corpus tests"

    /// Every corpus file (not the index), relative paths sorted.
    static func files() throws -> [URL] {
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
        return enumerator.compactMap { $0 as? URL }
            .filter { !$0.hasDirectoryPath && $0.lastPathComponent != "INDEX.md" && !$0.lastPathComponent.hasPrefix(".")
                && !$0.lastPathComponent.lowercased().contains("licen") && !$0.lastPathComponent.lowercased().hasPrefix("readme") }
            .sorted { $0.path < $1.path }
    }
}

func tokens(_ text: String, normalize: String = "nfkc_cf", tokenize: String = "words", locale: String = "") throws -> [String] {
    try TextPipeline(normalize: normalize, tokenize: tokenize, locale: locale).makeProcessor()
        .tokenize(text).tokenTexts.map(String.init)
}

/// Checks the offset guarantee for every token of `result`.
func expectOffsetsHold(_ result: TokenizedText, _ processor: TextProcessor, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let scalars = Array(result.original.unicodeScalars)
    var previousEnd: Int32 = 0
    for token in result.tokens {
        let slice = String(result.originalText(of: token))
        let fromScalars = String(String.UnicodeScalarView(scalars[token.scalarRange]))
        #expect(slice == fromScalars, "scalar and UTF-8 offsets disagree for \(token)", sourceLocation: sourceLocation)
        #expect(token.utf8Start >= previousEnd, "tokens overlap or go backwards", sourceLocation: sourceLocation)
        previousEnd = token.utf8End
        let renormalized = try processor.normalize(slice)
        if renormalized != String(result.text(of: token)) {
            Issue.record("normalize(\(slice.debugDescription)) = \(renormalized.debugDescription) but token is \(String(result.text(of: token)).debugDescription) in \(result.original.debugDescription)", sourceLocation: sourceLocation)
            return
        }
    }
}
