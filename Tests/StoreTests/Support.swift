import Foundation
@testable import Store

/// A fresh directory for one test's store, removed by `cleanup()`.
struct TempDir {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-store-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// A token blob for whitespace-separated tokens (offsets computed from the text).
func whitespaceTokens(_ text: String) -> [UInt8] {
    var b = TokenBlob.Builder()
    var scalar: Int32 = 0, utf8: Int32 = 0
    var start: (Int32, Int32)? = nil
    var current = ""
    for s in text.unicodeScalars {
        if s == " " {
            if let st = start { b.append(TokenSpan(scalarStart: st.0, scalarEnd: scalar, utf8Start: st.1, utf8End: utf8), normalized: current.lowercased()) }
            start = nil; current = ""
        } else {
            if start == nil { start = (scalar, utf8) }
            current.unicodeScalars.append(s)
        }
        scalar += 1; utf8 += Int32(String(s).utf8.count)
    }
    if let st = start { b.append(TokenSpan(scalarStart: st.0, scalarEnd: scalar, utf8Start: st.1, utf8End: utf8), normalized: current.lowercased()) }
    return b.finish()
}

func info(_ path: String = "a.csv", sha: String = String(repeating: "a", count: 64), part: String? = nil) -> SourceInfo {
    SourceInfo(path: path, format: "csv", contentSHA256: sha, mappingJSON: #"{"text":"review"}"#, pipelineJSON: #"{"tokenizer":"ws"}"#, part: part)
}

func session(_ store: ExampleStore, _ info: SourceInfo, mode: ExampleStore.ImportMode = .skipExisting) throws -> ImportSession {
    guard case .started(let s) = try store.beginImport(info, mode: mode) else { throw StoreError(kind: .misuse, message: "already imported") }
    return s
}

/// Imports three reviews with a topic and a sentiment task; returns the result.
@discardableResult
func importReviews(_ store: ExampleStore, _ info: SourceInfo, texts: [String] = ["Good book", "Bad hotel room", "好 酒店"]) throws -> ImportResult {
    let s = try session(store, info)
    let topic = try s.task("topic", kind: .classification)
    let sentiment = try s.task("sentiment", kind: .classification)
    let topics = ["book", "hotel", "hotel"], labels = ["1", "0", "1"]
    for (i, t) in texts.enumerated() {
        try s.add(NewExample(locator: "\(info.path):\(i + 2)", text: t, tokens: whitespaceTokens(t), normHash: StableHash.fnv1a64(t.lowercased()),
                             annotations: [(topic.id, .label(try s.labelID(topics[i % 3], task: topic.id))),
                                           (sentiment.id, .label(try s.labelID(labels[i % 3], task: sentiment.id)))]))
    }
    return try s.commit()
}
