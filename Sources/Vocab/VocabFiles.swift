import Foundation
import Store

/// Reading and writing vocabularies in the formats other tools use.
///
/// - `vocab.txt`: one token per line, id = line number from 0 (BERT, fastText, torchtext).
///   A token holding a line break cannot be written in it (use JSON).
/// - `vocab.json`: `{"token": id, …}` (Hugging Face tokenizers' `WordLevel` model file).
public enum VocabFile {
    public enum Format: String, Sendable, CaseIterable { case txt, json }

    /// The file's bytes for `tokens` (index = id).
    public static func export(_ tokens: [String], format: Format) throws(VocabError) -> [UInt8] {
        switch format {
        case .txt:
            var out: [UInt8] = []
            for (i, t) in tokens.enumerated() {
                if t.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
                    throw VocabError("token \(i) contains a line break and cannot be written to vocab.txt; export as json")
                }
                out.append(contentsOf: t.utf8); out.append(0x0A)
            }
            return out
        case .json:
            // Written by hand to keep id order (JSONSerialization would sort or shuffle keys).
            var s = "{"
            for (i, t) in tokens.enumerated() { s += (i == 0 ? "" : ",") + "\n  " + jsonString(t) + ": \(i)" }
            s += tokens.isEmpty ? "}\n" : "\n}\n"
            return Array(s.utf8)
        }
    }

    /// Tokens by id from a file's bytes; `name` is used in error messages.
    public static func read(_ bytes: [UInt8], format: Format, name: String) throws(VocabError) -> [String] {
        switch format {
        case .txt:
            guard let text = String(validating: bytes, as: UTF8.self) else { throw VocabError("\(name): not valid UTF-8") }
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
            if lines.last == "" { lines.removeLast() }
            for (i, l) in lines.enumerated() where l.isEmpty { throw VocabError("\(name):\(i + 1): empty token") }
            return lines
        case .json:
            let object: Any
            do { object = try JSONSerialization.jsonObject(with: Data(bytes)) } catch { throw VocabError("\(name): not valid JSON (\(error.localizedDescription))") }
            guard let map = object as? [String: Any] else { throw VocabError("\(name): expected an object {\"token\": id, …}") }
            var byID: [Int: String] = [:]
            for (token, value) in map.sorted(by: { $0.key < $1.key }) {
                guard let n = value as? NSNumber, let id = Int(exactly: n.doubleValue), id >= 0 else {
                    throw VocabError("\(name): id of '\(token)' is not a non-negative integer")
                }
                if let other = byID.updateValue(token, forKey: id) { throw VocabError("\(name): id \(id) is given to both '\(other)' and '\(token)'") }
            }
            guard byID.count == map.count, byID.keys.max().map({ $0 == byID.count - 1 }) ?? true else {
                let missing = (0..<(byID.keys.max() ?? 0)).first { byID[$0] == nil } ?? 0
                throw VocabError("\(name): ids are not dense 0…\(map.count - 1) (id \(missing) is missing)")
            }
            return (0..<byID.count).map { byID[$0]! }
        }
    }
}
