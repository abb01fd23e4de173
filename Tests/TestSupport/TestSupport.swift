import Foundation
import Store
import Text
import CorpusImport

// Shared by the test targets of the later stages (splits, vocabularies, batching): temporary
// stores, small synthetic stores, and the real corpora.

/// A fresh directory for one test, removed by `cleanup()`.
public struct TempDir: Sendable {
    public let url: URL
    public init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    public func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// The real corpora: `$MTL_CORPORA`, else `../shared/corpora` next to the package.
public enum Corpora {
    public static let root: String? = {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["MTL_CORPORA"], !env.isEmpty {
            return fm.fileExists(atPath: env) ? env : nil
        }
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let p = package.appendingPathComponent("../shared/corpora").standardized.path
        return fm.fileExists(atPath: p) ? p : nil
    }()
    public static var available: Bool { root != nil }
    public static func path(_ relative: String) -> String { root! + "/" + relative }
    public static let skipMessage = "real corpora not found: set MTL_CORPORA to the shared corpora folder (default ../shared/corpora)"
}

/// One synthetic example: its text (tokens are its lowercased whitespace-separated words)
/// and its labels by task name.
public struct SyntheticExample: Sendable {
    public var text: String
    public var labels: [String: String]
    public var group: String?
    public init(_ text: String, _ labels: [String: String] = [:], group: String? = nil) {
        self.text = text; self.labels = labels; self.group = group
    }
}

/// Adds `examples` as one source (classification tasks created on first use), through the
/// store's import session, with whitespace tokens and the lowercased text's hash.
@discardableResult
public func addSource(_ store: ExampleStore, path: String, part: String? = nil, _ examples: [SyntheticExample]) throws -> ImportResult {
    let sha = String(StableHash.fnv1a64(path + "\(examples.count)" + (examples.first?.text ?? "")).magnitude, radix: 16)
    let info = SourceInfo(path: path, format: "synthetic", contentSHA256: String(repeating: "0", count: max(0, 64 - sha.count)) + sha,
                          part: part)
    guard case .started(let s) = try store.beginImport(info) else { throw StoreError(kind: .misuse, message: "already imported") }
    var tasks: [String: Int64] = [:]
    for (i, e) in examples.enumerated() {
        var annotations: [(taskID: Int64, value: AnnotationValue)] = []
        for (task, label) in e.labels.sorted(by: { $0.key < $1.key }) {
            if tasks[task] == nil { tasks[task] = try s.task(task, kind: .classification).id }
            annotations.append((tasks[task]!, .label(try s.labelID(label, task: tasks[task]!))))
        }
        try s.add(NewExample(locator: "\(path):\(i + 1)", text: e.text, tokens: whitespaceTokens(e.text),
                             normHash: StableHash.fnv1a64(e.text.lowercased()), groupKey: e.group, annotations: annotations))
    }
    return try s.commit(records: Int64(examples.count))
}

/// A token blob for whitespace-separated tokens, normalized by lowercasing.
public func whitespaceTokens(_ text: String) -> [UInt8] {
    var b = TokenBlob.Builder()
    var scalar: Int32 = 0, utf8: Int32 = 0
    var start: (Int32, Int32)? = nil
    var current = ""
    for u in text.unicodeScalars {
        if u == " " {
            if let st = start { b.append(TokenSpan(scalarStart: st.0, scalarEnd: scalar, utf8Start: st.1, utf8End: utf8), normalized: current.lowercased()) }
            start = nil; current = ""
        } else {
            if start == nil { start = (scalar, utf8) }
            current.unicodeScalars.append(u)
        }
        scalar += 1; utf8 += Int32(String(u).utf8.count)
    }
    if let st = start { b.append(TokenSpan(scalarStart: st.0, scalarEnd: scalar, utf8Start: st.1, utf8End: utf8), normalized: current.lowercased()) }
    return b.finish()
}

/// Imports a real corpus file with the default text pipeline (NFKC_Casefold + ICU words).
@discardableResult
public func importCorpus(_ relative: String, into store: ExampleStore, text: String, labels: [String: String],
                         part: String? = nil) throws -> ImportSummary {
    var tasks: [String: TaskMapping] = [:]
    for (task, field) in labels { tasks[task] = TaskMapping(kind: .classification, field: field) }
    var mapping = Mapping(format: Mapping.Format.guess(path: relative) ?? .csv, text: text, tasks: tasks)
    mapping.allowEmptyText = true
    var options = ImportOptions(mapping: mapping, pipeline: try TextPipeline())
    options.part = part
    return try Importer(store: store, options: options).importFile(Corpora.path(relative))
}

/// Every row of the given tables, as text, in a fixed order (byte-identical comparisons).
public func dumpTables(_ storePath: String, _ tables: [String]) throws -> [String] {
    let db = try Connection(path: storePath, readOnly: true)
    var rows: [String] = []
    for t in tables {
        let st = try db.prepare("SELECT * FROM \(t) ORDER BY 1, 2")
        try st.forEachRow { r in rows.append(t + ": " + (0..<r.columnCount).map { "\(r.value($0))" }.joined(separator: " | ")) }
    }
    return rows
}
