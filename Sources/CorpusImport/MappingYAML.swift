import Foundation
import Store
import Yams

/// Decoding a `Mapping` from YAML with errors that name the file and the key.
enum MappingYAML {
    static let topKeys = Set(Mapping.CodingKeys.allCases.map(\.rawValue))
    static let taskKeys: Set<String> = ["kind", "field", "separator", "labels", "optional", "items", "start", "end",
                                        "label", "unit", "scheme", "unaligned", "duplicates", "pair", "text_part",
                                        "target", "max_length", "too_long", "count"]
    static let pipelineKeys: Set<String> = ["normalize", "tokenize", "locale"]

    /// The line of the first mapping key anywhere in `node` that is not a scalar.
    static func firstNonScalarKey(_ node: Node) -> Int? {
        switch node {
        case .mapping(let m):
            for (k, v) in m {
                if k.scalar == nil { return k.mark?.line ?? 0 }
                if let l = firstNonScalarKey(v) { return l }
            }
        case .sequence(let q):
            for v in q { if let l = firstNonScalarKey(v) { return l } }
        default: break
        }
        return nil
    }

    /// The line of the first scalar that YAML 1.1 reads as a base-60 number (`1:30`, `-3:25:45`)
    /// anywhere in `node`: Yams's constructor overflows (a crash) on long ones, which the fuzzing
    /// harness found; no mapping value is such a number, so they are refused before construction.
    static func firstSexagesimal(_ node: Node) -> Int? {
        switch node {
        case .scalar(let s):
            // The tag the constructor will resolve (a composed plain scalar's own tag is implicit).
            let tag = Resolver.default.resolveTag(of: node)
            return (tag == .int || tag == .float) && s.string.contains(":") ? (node.mark?.line ?? 0) : nil
        case .mapping(let m):
            for (k, v) in m { if let l = firstSexagesimal(k) ?? firstSexagesimal(v) { return l } }
        case .sequence(let q):
            for v in q { if let l = firstSexagesimal(v) { return l } }
        default: break
        }
        return nil
    }

    static func decode(_ text: String, origin: String) throws(ImportError) -> Mapping {
        func bad(_ message: String) -> ImportError { ImportError(.invalidMapping, RecordLocator(file: origin), message) }
        let tree: Any?
        do {
            // Yams's constructor force-unwraps a key that is not a scalar (`{a: 1}: x`), a crash the
            // fuzzing harness found: such keys are refused here, on the composed nodes, first.
            if let node = try Yams.compose(yaml: text) {
                if let line = firstNonScalarKey(node) { throw bad("line \(line): a key must be a plain name, not a list or a mapping") }
                if let line = firstSexagesimal(node) {
                    throw bad("line \(line): a base-60 number (digits with ':', YAML 1.1) is not a mapping value; quote it if it is a name")
                }
            }
            tree = try Yams.load(yaml: text)
        } catch let e as ImportError {
            throw e
        } catch {
            throw bad("not valid YAML: \(error)")
        }
        guard let top = tree as? [String: Any] else { throw bad("the mapping must be a YAML mapping (key: value)") }
        try checkKeys(top, allowed: topKeys, at: "", origin: origin)
        if let tasks = top["tasks"] {
            guard let tasks = tasks as? [String: Any] else { throw bad("tasks: must map task names to task settings") }
            for (name, value) in tasks {
                guard let t = value as? [String: Any] else { throw bad("tasks.\(name): must be a mapping with at least 'kind'") }
                try checkKeys(t, allowed: taskKeys, at: "tasks.\(name).", origin: origin)
                if let target = t["target"] as? [String: Any] {
                    try checkKeys(target, allowed: pipelineKeys, at: "tasks.\(name).target.", origin: origin)
                }
                if let kind = t["kind"] as? String, TaskKind(rawValue: kind) == nil {
                    throw bad("tasks.\(name).kind: unknown task kind '\(kind)' (expected \(TaskKind.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
            }
        }
        if let p = top["pipeline"] as? [String: Any] { try checkKeys(p, allowed: pipelineKeys, at: "pipeline.", origin: origin) }
        if let f = top["format"] as? String, Mapping.Format(rawValue: f) == nil {
            throw bad("format: unknown format '\(f)' (expected \(Mapping.Format.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var yaml = text
        if top["tasks"] == nil { yaml += "\ntasks: {}\n" }
        let mapping: Mapping
        do {
            mapping = try YAMLDecoder().decode(Mapping.self, from: yaml)
        } catch let error as DecodingError {
            throw bad(describe(error))
        } catch {
            throw bad("\(error)")
        }
        if let (key, expression, problem) = mapping.firstXPathProblem() {
            // The line of the value (a span field joined to its items: the field's own line).
            var node = try? Yams.compose(yaml: text)
            var path = [key]
            if key.hasPrefix("tasks."), let dot = key.lastIndex(of: ".") {   // a task name may hold dots
                path = ["tasks", String(key[key.index(key.startIndex, offsetBy: 6)..<dot]), String(key[key.index(after: dot)...])]
            }
            for k in path { node = node?[k] }
            let mark = node?.mark
            throw ImportError(.invalidXPath, RecordLocator(file: origin, line: mark?.line, column: mark?.column),
                              "\(key): \(problem.describe(expression))")
        }
        return mapping
    }

    private static func checkKeys(_ map: [String: Any], allowed: Set<String>, at prefix: String, origin: String) throws(ImportError) {
        for key in map.keys.sorted() where !allowed.contains(key) {
            throw ImportError(.invalidMapping, RecordLocator(file: origin),
                              "\(prefix)\(key): unknown key (expected one of \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ p: [any CodingKey]) -> String {
            p.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let c): return "\(path(c.codingPath + [key])): missing"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return "\(path(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
