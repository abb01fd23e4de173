import ArgumentParser
import Foundation
import Yams

/// A pipeline file: one YAML document describing a whole job, read by `mtl-prep run` (the data
/// stages) and `mtl-train --pipeline` (training).
///
/// ```yaml
/// store: reviews.sqlite
/// text: {normalize: nfkc_cf, tokenize: words}        # the import's --normalize/--tokenizer/--locale
/// sources:
///   - file: Corpora/reviews.csv
///     mapping: {format: csv, text: review, tasks: {topic: {kind: classification, field: topic}}}
///   - file: ${MTL_CORPORA:-../shared/corpora}/x/test.csv
///     part: test
///     mapping: *same                                  # YAML anchors and aliases work
/// split: {name: main, ratios: "0.8,0.1,0.1", stratify: [topic], seed: 1}
/// vocab: {name: main, min-freq: 2}
/// train: {run: reviews, epochs: 10, emb: 128, head: [aspect=crf]}
/// ```
///
/// `split`, `vocab` and `train` take the long flags of `mtl-prep split`, `mtl-prep vocab build` and
/// `mtl-train` as keys (`min-freq` or `min_freq`), so their reference is those commands' `--help`
/// and the file is checked by the same parsers: a scalar is `--key value`, `true` a flag, a list the
/// flag repeated. Paths expand `${VAR}` and `${VAR:-default}`; relative paths are relative to the
/// working directory, as on the command line. Every error names the file, line and column.
public struct PipelineFile: Sendable {
    /// A problem in the file, with where it is.
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var file: String, line: Int, column: Int, message: String
        public var description: String { "\(file):\(line):\(column): \(message)" }
    }

    /// One entry of `sources`.
    public struct Source: Sendable {
        public var file: String
        public var part: String?
        /// The `mapping` section as YAML text (what `mtl-prep import --mapping` reads), with the
        /// line it starts on.
        public var mappingYAML: String
        public var mappingLine: Int
        public var onError: String?
        /// `max-record-bytes`, `max-text-node-bytes`, `max-depth`, `max-tokens-per-example`:
        /// import's flags of the same names, as written.
        public var limits: [(flag: String, value: String)] = []
    }

    /// A section of command-line flags (`split`, `vocab`, `train`) with each key's position.
    public struct FlagSection: Sendable {
        public var entries: [(key: String, value: FlagValue, line: Int, column: Int)] = []
        public var line = 0, column = 0
        public var isEmpty: Bool { entries.isEmpty }
    }
    public enum FlagValue: Sendable, Equatable {
        case scalar(String)
        case flag(Bool)
        case list([String])
    }

    public static let topKeys = ["store", "text", "sources", "split", "vocab", "train"]
    public static let sourceKeys = ["file", "part", "mapping", "on-error"] + limitKeys
    /// The import limits a source may set (`mtl-prep import`'s flags of the same names).
    public static let limitKeys = ["max-record-bytes", "max-text-node-bytes", "max-depth", "max-tokens-per-example"]
    public static let textKeys = ["normalize", "tokenize", "locale"]

    public let path: String
    /// The file as read (what a run folder records).
    public let contents: String
    public var store: String?
    public var text: [String: String] = [:]
    public var sources: [Source] = []
    public var split = FlagSection(), vocab = FlagSection(), train = FlagSection()

    public init(path: String) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw Problem(file: path, line: 0, column: 0, message: "cannot read the pipeline file (or it is not UTF-8)")
        }
        contents = text
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw Problem(file: path, line: 1, column: 1, message: "the pipeline file is empty")
            }
            root = node
        } catch let p as Problem {
            throw p
        } catch let e as YamlError {
            throw Self.yamlProblem(e, file: path)
        }
        guard let top = root.mapping else { throw problem(root, "a pipeline is a YAML mapping (store:, sources:, split:, …)") }
        for (k, v) in top {
            let key = k.string ?? ""
            switch Self.canonical(key) {
            case "store":
                guard let s = v.string else { throw problem(v, "store: expected a path") }
                store = Self.expand(s)
            case "text":
                guard let m = v.mapping else { throw problem(v, "text: expected a mapping (normalize, tokenize, locale)") }
                for (tk, tv) in m {
                    let name = Self.canonical(tk.string ?? "")
                    guard Self.textKeys.contains(name) else { throw unknown(tk, name, among: Self.textKeys, in: "text") }
                    guard let s = tv.string else { throw problem(tv, "text.\(name): expected a spec string") }
                    self.text[name] = s
                }
            case "sources":
                guard let list = v.sequence else { throw problem(v, "sources: expected a list of {file, mapping, part}") }
                for item in list { sources.append(try source(item)) }
            case "split": split = try flags(v, "split")
            case "vocab": vocab = try flags(v, "vocab")
            case "train": train = try flags(v, "train")
            default: throw unknown(k, key, among: Self.topKeys, in: "the pipeline")
            }
        }
    }

    private func source(_ node: Node) throws -> Source {
        guard let m = node.mapping else { throw problem(node, "a source is a mapping: {file: …, mapping: {…}}") }
        var file: String?, part: String?, onError: String?, mapping: Node?
        var limits: [(flag: String, value: String)] = []
        for (k, v) in m {
            let key = Self.canonical(k.string ?? "")
            switch key {
            case "file": file = v.string.map(Self.expand)
            case "part": part = v.string
            case "on-error": onError = v.string
            case "mapping": mapping = v
            case _ where Self.limitKeys.contains(key):
                guard let value = v.string else { throw problem(v, "\(key): expected a number (bytes may take K, M, G)") }
                limits.append(("--" + key, value))
            default: throw unknown(k, key, among: Self.sourceKeys, in: "a source")
            }
        }
        guard let file, !file.isEmpty else { throw problem(node, "a source needs file: (the corpus file)") }
        guard let mapping, mapping.mapping != nil else { throw problem(node, "source \(file) needs mapping: (the --mapping section: format, text, tasks, …)") }
        let yaml: String
        do { yaml = try Yams.serialize(node: mapping) } catch { throw problem(mapping, "mapping: \(error)") }
        return Source(file: file, part: part, mappingYAML: yaml, mappingLine: mapping.mark?.line ?? 0, onError: onError, limits: limits)
    }

    private func flags(_ node: Node, _ section: String) throws -> FlagSection {
        guard let m = node.mapping else { throw problem(node, "\(section): expected a mapping of flags (the command's long options)") }
        var out = FlagSection()
        out.line = node.mark?.line ?? 0; out.column = node.mark?.column ?? 0
        for (k, v) in m {
            let key = Self.canonical(k.string ?? "")
            let value: FlagValue
            if let list = v.sequence {
                value = .list(try list.map { item in
                    guard let s = item.string else { throw problem(item, "\(section).\(key): list items must be scalars") }
                    return s
                })
            } else if case .scalar(let s) = v {
                if s.style == .plain, let b = Bool(s.string.lowercased()) { value = .flag(b) } else { value = .scalar(s.string) }
            } else {
                throw problem(v, "\(section).\(key): expected a value or a list")
            }
            out.entries.append((key, value, k.mark?.line ?? 0, k.mark?.column ?? 0))
        }
        return out
    }

    /// Where a parser's error about `section`'s arguments points: `file:line:column: name.key` of the
    /// key its message names (`'--epochs <epochs>'`), else of the section.
    public func location(of message: String, in section: FlagSection, name: String) -> String {
        let entry = section.entries.first { message.contains("'--\($0.key)") || message.contains("--\($0.key) ") || message.hasSuffix("--\($0.key)") }
        return "\(path):\(entry?.line ?? section.line):\(entry?.column ?? section.column): \(name)\(entry.map { ".\($0.key)" } ?? "")"
    }

    /// The section as command-line arguments for a command whose options are `options` (long name →
    /// takes a value), checked key by key: an unknown key names the nearest known one, and a flag
    /// (no value) only takes `true`/`false`.
    public func arguments(_ section: FlagSection, name: String, options: [String: Bool], reserved: Set<String> = []) throws -> [String] {
        var args: [String] = []
        for e in section.entries {
            func fail(_ m: String) -> Problem { Problem(file: path, line: e.line, column: e.column, message: "\(name).\(e.key): \(m)") }
            if reserved.contains(e.key) { throw fail("is set by the pipeline itself; leave it out") }
            guard let takesValue = options[e.key] else {
                let near = Self.nearest(e.key, in: Array(options.keys))
                throw fail("unknown key" + (near.map { "; did you mean '\($0)'?" } ?? "") + " (keys are the long options of the command's --help)")
            }
            switch (e.value, takesValue) {
            case (.flag(let b), false): if b { args.append("--" + e.key) }
            case (.flag(let b), true): args += ["--" + e.key, String(b)]
            case (.scalar(let s), true): args += ["--" + e.key, s]
            case (.list(let l), true): for s in l { args += ["--" + e.key, s] }
            case (_, false): throw fail("is a switch: give true or false")
            }
        }
        return args
    }

    /// The long options of a command from its help (generated from the same declarations the
    /// parser uses): name → whether it takes a value.
    public static func options(help: String) -> [String: Bool] {
        var out: [String: Bool] = [:]
        for line in help.split(separator: "\n") {
            let t = line.drop { $0 == " " }
            guard t.hasPrefix("--") || t.hasPrefix("-") else { continue }
            // "-o, --output <output>" or "--[no-]mixed" or "--replace"
            for part in t.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard part.hasPrefix("--") else { continue }
                let words = part.split(separator: " ", maxSplits: 2)
                var name = String(words[0].dropFirst(2))
                let takesValue = words.count > 1 && words[1].hasPrefix("<")
                if name.hasPrefix("[no-]") {
                    name = String(name.dropFirst(5))
                    out["no-" + name] = false
                }
                if name == "help" || name == "version" { continue }
                out[name] = takesValue
            }
        }
        return out
    }

    /// `min_freq` and `min-freq` are the same key.
    public static func canonical(_ key: String) -> String { key.replacingOccurrences(of: "_", with: "-").lowercased() }

    /// `${VAR}` and `${VAR:-default}` from the environment.
    public static func expand(_ s: String) -> String {
        var out = "", rest = Substring(s)
        while let open = rest.range(of: "${") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else { out += rest[open.lowerBound...]; return out }
            let inner = rest[open.upperBound..<close]
            let (name, fallback): (Substring, Substring?) = inner.range(of: ":-").map { (inner[..<$0.lowerBound], inner[$0.upperBound...]) } ?? (inner, nil)
            let value = ProcessInfo.processInfo.environment[String(name)].flatMap { $0.isEmpty ? nil : $0 }
            out += value ?? fallback.map(String.init) ?? ""
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    /// The known key closest to `key` by edit distance, if close enough to be a typo.
    public static func nearest(_ key: String, in known: [String]) -> String? {
        // Optimal string alignment distance: a swap of neighbours (`epohcs`) costs one edit.
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            if a.isEmpty { return b.count }
            if b.isEmpty { return a.count }
            var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
            for i in 0...a.count { d[i][0] = i }
            for j in 0...b.count { d[0][j] = j }
            for i in 1...a.count {
                for j in 1...b.count {
                    d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                    if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
                }
            }
            return d[a.count][b.count]
        }
        let k = Array(key)
        let best = known.map { ($0, distance(k, Array($0))) }.min { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
        guard let best, best.1 <= max(2, key.count / 3) else { return nil }
        return best.0
    }

    private func problem(_ node: Node, _ message: String) -> Problem {
        Problem(file: path, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0, message: message)
    }

    private func unknown(_ node: Node, _ key: String, among known: [String], in place: String) -> Problem {
        let near = Self.nearest(Self.canonical(key), in: known)
        return problem(node, "unknown key '\(key)' in \(place)" + (near.map { "; did you mean '\($0)'?" } ?? "")
                       + " (known: \(known.joined(separator: ", ")))")
    }

    private static func yamlProblem(_ e: YamlError, file: String) -> Problem {
        switch e {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            return Problem(file: file, line: mark.line, column: mark.column, message: "not valid YAML: \(problem)\(context.map { " \($0.text)" } ?? "")")
        case .composer(let context, let problem, let mark, _):
            return Problem(file: file, line: mark.line, column: mark.column, message: "not valid YAML: \(problem)\(context.map { " \($0.text)" } ?? "")")
        default:
            return Problem(file: file, line: 0, column: 0, message: "not valid YAML: \(e)")
        }
    }
}
