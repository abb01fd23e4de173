import Foundation
import Store
import Testing
import Text
@testable import CorpusImport

/// A temporary store path (removed with the fixture's directory).
extension Fixture {
    func storePath(_ name: String = "t.sqlite") -> String { dir.appendingPathComponent(name).path }
}

/// Imports one file with a mapping (and default pipeline unless given).
@discardableResult
func importFile(_ path: String, into storePath: String, _ mapping: Mapping, pipeline: TextPipeline? = nil,
                threads: Int = 2, chunkSize: Int = 1024, onError: ErrorPolicy = .fail, replace: Bool = false,
                part: String? = nil, xml: XMLReading = XMLReading(), limits: ReaderLimits = ReaderLimits()) throws -> ImportSummary {
    let store = try ExampleStore(path: storePath)
    var options = ImportOptions(mapping: mapping, pipeline: try pipeline ?? TextPipeline())
    options.threads = threads
    options.chunkSize = chunkSize
    options.onError = onError
    options.replace = replace
    options.part = part
    options.xmlReading = xml
    options.limits = limits
    return try Importer(store: store, options: options).importFile(path)
}

/// Every row of every table, as text, in a fixed order: "row for row" comparisons.
func dump(_ storePath: String) throws -> [String] {
    let db = try Connection(path: storePath, readOnly: true)
    var tables: [String] = []
    try db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").forEachRow { tables.append($0.string(0)!) }
    var rows: [String] = []
    for t in tables {
        let st = try db.prepare("SELECT * FROM \(t) ORDER BY 1, 2")
        try st.forEachRow { r in rows.append(t + ": " + (0..<r.columnCount).map { "\(r.value($0))" }.joined(separator: " | ")) }
    }
    return rows
}

/// Label counts of a task as the store holds them.
func labelCounts(_ storePath: String, task: String) throws -> [String: Int64] {
    let stats = try ExampleStore(path: storePath, readOnly: true).stats()
    guard let t = stats.tasks.first(where: { $0.task.name == task }) else { return [:] }
    return Dictionary(uniqueKeysWithValues: t.labels.map { ($0.name, $0.count) })
}

/// A mapping from a YAML string.
func yamlMapping(_ text: String) throws -> Mapping { try MappingYAML.decode(text, origin: "test.yaml") }

/// The error an import throws (nil when it succeeds).
func importError(_ body: () throws -> Void) -> ImportError? {
    do { try body(); return nil } catch let e as ImportError { return e } catch { Issue.record("unexpected \(error)"); return nil }
}
