import ArgumentParser
import Foundation
import Splits
import Store

/// Opens an existing store read-only for `stats` and `show`.
func openExisting(_ path: String) throws -> ExampleStore {
    guard FileManager.default.fileExists(atPath: path) else { throw CLIError("\(path): no such store") }
    do { return try ExampleStore(path: path, readOnly: true) } catch { throw CLIError("\(path): \(error)") }
}

func writeJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    try StandardOutput.write(Array(data) + [0x0A])
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a store holds: examples, tasks with their kind and per-label counts, sources, rejects, splits (with their leakage check) and vocabularies.")

    @Option(help: "The store.")
    var store = "mtl.sqlite"

    @Flag(help: "Print one JSON object on standard output.")
    var json = false

    @Flag(help: "List every span imports widened to token boundaries or left out (expanded, dropped, overlapping, no_tokens, conflicting), with its record, instead of the summary.")
    var alignment = false

    func run() throws {
        if alignment { try listAlignment(); return }
        let s: StoreStats
        var reports: [SplitReport] = []
        var vocabularies: [VocabularyRecord] = []
        do {
            let db = try openExisting(store)
            s = try db.stats()
            reports = try db.splits().map { try SplitReport.make(store: db, split: $0) }
            vocabularies = try db.vocabularies()
        } catch let e as CLIError { throw e } catch { throw CLIError("\(store): \(error)") }
        let splitNames = Dictionary(uniqueKeysWithValues: reports.map { ($0.split.id, $0.split.name) })
        if json {
            try writeJSON([
                "store": store, "schema_version": s.schemaVersion, "examples": s.examples, "rejects": s.rejects,
                "sources": s.sources.map { src -> [String: Any] in
                    ["id": src.source.id, "path": src.source.info.path, "format": src.source.info.format,
                     "part": src.source.info.part ?? NSNull(), "records": src.source.records, "examples": src.examples,
                     "rejects": src.rejects, "content_sha256": src.source.info.contentSHA256, "imported_at": src.source.importedAt]
                },
                "tasks": s.tasks.map { t -> [String: Any] in
                    ["id": t.task.id, "name": t.task.name, "kind": t.task.kind.rawValue, "tag_scheme": t.task.tagScheme?.rawValue ?? NSNull(),
                     "examples": t.examples,
                     "labels": t.labels.map { ["id": Int($0.id), "name": $0.name, "count": $0.count] as [String: Any] }]
                },
                "splits": reports.map { r -> [String: Any] in
                    ["name": r.split.name, "kind": r.split.kind.rawValue, "folds": r.split.folds, "seed": r.split.seed,
                     "examples": r.split.examples, "unassigned": r.unassigned, "duplicates_across_parts": r.duplicatesAcrossParts,
                     "groups_across_parts": r.groupsAcrossParts ?? NSNull(),
                     "parts": r.parts.map { ["name": $0.name, "examples": $0.examples, "max_deviation": $0.maxDeviation, "labels": $0.labels] as [String: Any] }]
                },
                "vocabularies": vocabularies.map { v -> [String: Any] in
                    ["name": v.name, "size": v.size, "split": v.splitID.flatMap { splitNames[$0] } ?? NSNull(), "fold": v.fold ?? NSNull(),
                     "id_width": v.idWidth, "created_at": v.createdAt]
                },
            ])
            return
        }
        var out = "\(store): schema \(s.schemaVersion), \(s.examples) examples, \(s.rejects) rejects, \(s.sources.count) sources, \(s.tasks.count) tasks\n"
        out += "sources:\n"
        for src in s.sources {
            let i = src.source.info
            out += "  \(src.source.id) \(i.path) (\(i.format)\(i.part.map { ", part \($0)" } ?? "")): \(src.source.records) records, \(src.examples) examples, \(src.rejects) rejects, imported \(src.source.importedAt)\n"
        }
        out += "tasks:\n"
        for t in s.tasks {
            let sorted = t.labels.sorted(by: { $0.count != $1.count ? $0.count > $1.count : $0.id < $1.id })
            if t.task.kind == .seq2seq {
                // The labels are the target's token types: a vocabulary, shown by its head.
                let tokens = t.labels.reduce(0) { $0 + $1.count }
                out += "  \(t.task.name) (seq2seq): \(t.examples) targets, \(tokens) target tokens"
                out += String(format: " (%.1f per target)", Double(tokens) / Double(max(t.examples, 1)))
                out += ", \(t.labels.count) target token types; most frequent:\n"
                for l in sorted.prefix(20) { out += "    \(l.name)\t\(l.count)\n" }
                if sorted.count > 20 { out += "    … \(sorted.count - 20) more (--json lists every one)\n" }
                continue
            }
            if t.task.kind == .regression {
                out += "  \(t.task.name) (regression): \(t.examples) values\n"
                continue
            }
            out += "  \(t.task.name) (\(t.task.kind.rawValue)\(t.task.tagScheme.map { ", \($0.rawValue)" } ?? "")): \(t.examples) examples, \(t.labels.count) labels\n"
            for l in sorted {
                out += "    \(l.name)\t\(l.count)\n"
            }
        }
        if !reports.isEmpty { out += "splits:\n" }
        for r in reports {
            out += "  \(r.split.name) (\(r.split.kind == .kfold ? "\(r.split.folds)-fold" : "ratio"), seed \(r.split.seed)): "
            out += r.parts.map { "\($0.name) \($0.examples)" }.joined(separator: ", ")
            let worst = r.parts.flatMap { $0.maxDeviation.values }.max() ?? 0
            out += String(format: "; max label-share deviation %.2f points; %d duplicate texts across parts", worst, r.duplicatesAcrossParts)
            if let g = r.groupsAcrossParts { out += ", \(g) groups across parts" }
            if r.unassigned > 0 { out += "; \(r.unassigned) examples not in the split" }
            out += "\n"
        }
        if !vocabularies.isEmpty { out += "vocabularies:\n" }
        for v in vocabularies {
            out += "  \(v.name): \(v.size) tokens, " + (v.splitID.map { "split \(splitNames[$0] ?? "#\($0)")" + (v.fold.map { " fold \($0)" } ?? "") } ?? "all examples") + "\n"
        }
        try StandardOutput.write(Array(out.utf8))
    }
}

extension Stats {
    /// `stats --alignment`: per source and task the counts by kind, then every span with its locator.
    func listAlignment() throws {
        let rows: [ExampleStore.SpanAlignmentRecord]
        let sources: [SourceRecord]
        do {
            let db = try openExisting(store)
            rows = try db.spanAlignments()
            sources = try db.sources()
        } catch let e as CLIError { throw e } catch { throw CLIError("\(store): \(error)") }
        if json { try writeCodableJSON(rows); return }
        var out = "\(store): \(rows.count) spans not stored as written\n"
        let paths = Dictionary(uniqueKeysWithValues: sources.map { ($0.id, $0.info.path) })
        var counts: [String: Int] = [:]
        for r in rows { counts["\(r.sourceID)\t\(r.task)\t\(r.kind)", default: 0] += 1 }
        for key in counts.keys.sorted() {
            let p = key.split(separator: "\t").map(String.init)
            out += "  source \(p[0]) (\(paths[Int64(p[0]) ?? 0] ?? "?")), task \(p[1]): \(counts[key]!) \(p[2])\n"
        }
        for r in rows {
            out += "\(r.locator)\t\(r.task)\t\(r.kind)\t[\(r.start), \(r.end)) \(r.label)"
            if let a = r.storedStart, let b = r.storedEnd { out += " -> [\(a), \(b)) '\(r.storedText ?? "")'" }
            out += "\n"
        }
        try StandardOutput.write(Array(out.utf8))
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one example: provenance, original text, tokens with offsets, labels per task.")

    @Argument(help: "The example id.")
    var id: Int64

    @Option(help: "The store.")
    var store = "mtl.sqlite"

    @Flag(help: "Print one JSON object on standard output.")
    var json = false

    func run() throws {
        let detail: ExampleDetail?
        do { detail = try openExisting(store).example(id: id) } catch let e as CLIError { throw e } catch { throw CLIError("\(store): \(error)") }
        guard let d = detail else { throw CLIError("\(store): no example with id \(id)") }
        let e = d.example
        if json {
            try writeJSON([
                "id": e.id, "source_id": e.sourceID, "source_path": d.source.info.path, "locator": e.locator, "text": e.text,
                "part": e.part ?? NSNull(), "group": e.groupKey ?? NSNull(), "norm_hash": e.normHash,
                "tokens": d.tokens.spans.indices.map { i -> [String: Any] in
                    let s = d.tokens.spans[i]
                    return ["text": d.tokens.tokens[i], "start": Int(s.scalarStart), "end": Int(s.scalarEnd),
                            "byte_start": Int(s.utf8Start), "byte_end": Int(s.utf8End)]
                },
                "labels": Dictionary(uniqueKeysWithValues: d.annotations.map { a -> (String, Any) in
                    var value: Any = a.task.kind == .classification ? (a.names.first ?? "") : a.names
                    if case .number(let v) = a.value { value = Double(v) }
                    var entry: [String: Any] = ["kind": a.task.kind.rawValue, "value": value]
                    if let t = a.target {
                        entry["target"] = t.text
                        entry["target_tokens"] = t.tokens.spans.indices.map { i -> [String: Any] in
                            let s = t.tokens.spans[i]
                            return ["text": t.tokens.tokens[i], "start": Int(s.scalarStart), "end": Int(s.scalarEnd),
                                    "byte_start": Int(s.utf8Start), "byte_end": Int(s.utf8End)]
                        }
                    }
                    return (a.task.name, entry)
                }),
            ])
            return
        }
        var out = "example \(e.id) from source \(e.sourceID) (\(d.source.info.path)) at \(e.locator)"
        if let p = e.part { out += ", part \(p)" }
        if let g = e.groupKey { out += ", group \(g)" }
        out += "\ntext: \(e.text)\n"
        let tagTasks = d.annotations.filter { $0.task.kind == .tagging || $0.task.kind == .spans }
        out += "tokens (\(d.tokens.count)): index [start, end) scalars, [start, end) bytes, normalized"
        out += tagTasks.map { "\t" + $0.task.name }.joined() + "\n"
        for i in 0..<d.tokens.count {
            let s = d.tokens.spans[i]
            out += "  \(i)\t[\(s.scalarStart), \(s.scalarEnd))\t[\(s.utf8Start), \(s.utf8End))\t\(d.tokens.tokens[i])"
            for t in tagTasks { out += "\t" + (i < t.names.count ? t.names[i] : "?") }
            out += "\n"
        }
        out += "labels:\n"
        for a in d.annotations {
            switch a.task.kind {
            case .classification: out += "  \(a.task.name) (classification): \(a.names.first ?? "")\n"
            case .multilabel: out += "  \(a.task.name) (multilabel): \(a.names.joined(separator: ", "))\n"
            case .regression:
                if case .number(let v) = a.value { out += "  \(a.task.name) (regression): \(v)\n" }
            case .tagging, .spans: out += "  \(a.task.name) (\(a.task.kind.rawValue)): per token above\n"
            case .seq2seq:
                out += "  \(a.task.name) (seq2seq): \(a.target?.text ?? "")\n"
                if let t = a.target {
                    out += "    target tokens (\(t.tokens.count)): " + t.tokens.spans.indices.map { i in
                        let s = t.tokens.spans[i]
                        return "\(t.tokens.tokens[i])[\(s.scalarStart),\(s.scalarEnd))"
                    }.joined(separator: " ") + "\n"
                }
            }
        }
        try StandardOutput.write(Array(out.utf8))
    }
}
