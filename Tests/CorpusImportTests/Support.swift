import Foundation
import Testing
@testable import CorpusImport

/// Writes small inputs to a temporary directory.
final class Fixture {
    let dir: URL
    init() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-import-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: dir) }

    func file(_ name: String, _ text: String) -> String { file(name, bytes: Array(text.utf8)) }
    func file(_ name: String, bytes: [UInt8]) -> String {
        let url = dir.appendingPathComponent(name)
        FileManager.default.createFile(atPath: url.path, contents: Data(bytes))
        return url.path
    }
}

func readAll(_ reader: some RecordReader) throws -> [RawRecord] {
    var out: [RawRecord] = []
    while let r = try reader.next() { out.append(r) }
    return out
}

/// Reads every record and returns the error that stopped the reader.
func firstError(_ reader: () throws -> any RecordReader) -> ImportError? {
    do {
        let r = try reader()
        while try r.next() != nil {}
        return nil
    } catch let e as ImportError { return e } catch { return nil }
}

/// The real corpora: `$MTL_CORPORA`, else `../shared/corpora` next to the package.
enum Corpora {
    static let root: String? = {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["MTL_CORPORA"], !env.isEmpty {
            return fm.fileExists(atPath: env) ? env : nil
        }
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let p = package.appendingPathComponent("../shared/corpora").standardized.path
        return fm.fileExists(atPath: p) ? p : nil
    }()
    static var available: Bool { root != nil }
    static func path(_ relative: String) -> String { root! + "/" + relative }
    static let skipMessage: Comment = "real corpora not found: set MTL_CORPORA to the shared corpora folder (default ../shared/corpora)"
}

func counts(_ values: [String]) -> [String: Int] { values.reduce(into: [:]) { $0[$1, default: 0] += 1 } }
