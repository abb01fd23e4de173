import Batching
import Foundation
import Store
import TestSupport
import Testing
@testable import Training

/// `report.html`: what the trainer writes after each evaluation and at the end, checked against
/// the run folder's own numbers (log.jsonl, metrics-STEP.json, checkpoints.json, cv.json).
@Suite("The run report")
struct RunReportTests {
    static func lines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static func f4(_ x: Double) -> String { String(format: "%.4f", x) }

    /// Equal up to the last digits: the tests read log.jsonl with JSONSerialization, which on
    /// Linux can miss the last digit of a number the report (read with JSONDecoder) keeps.
    static func same(_ a: [String], _ b: Double?) -> Bool {
        guard a.count == 1, let x = Double(a[0]), let b else { return false }
        return abs(x - b) <= 1e-12 * max(abs(x), abs(b))
    }
    static func has(_ a: [String], _ b: Double?) -> Bool { a.contains { same([$0], b) } }

    /// The value of `attribute` in every tag of `html` that carries all of `having` (attribute → value).
    static func attribute(_ attribute: String, in html: String, tag: String, having: [String: String]) -> [String] {
        var out: [String] = []
        var rest = html[...]
        while let open = rest.range(of: "<" + tag + " ") {
            let end = rest[open.upperBound...].firstIndex(of: ">") ?? rest.endIndex
            let element = String(rest[open.lowerBound..<end])
            if having.allSatisfy({ element.contains(" \($0.key)=\"\($0.value)\"") }),
               let a = element.range(of: " \(attribute)=\""), let close = element[a.upperBound...].firstIndex(of: "\"") {
                out.append(String(element[a.upperBound..<close]))
            }
            rest = rest[end...]
        }
        return out
    }

    /// Nothing the page would fetch: no URLs, no external scripts, styles, images or fonts.
    static func expectSelfContained(_ html: String) {
        for bad in ["http://", "https://", "src=", "<link", "@import", "url(", "//cdn", "xlink:href"] {
            #expect(!html.contains(bad), "the report refers to something outside itself: \(bad)")
        }
    }

    @Test func theTrainersReportCarriesTheRunsNumbers() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try preparedStore(dir, keywordExamples(120))
        let (m, t) = try smallRun(store: store, epochs: nil, steps: 30) { _, t in t.evalEvery = 5; t.learningRate = 0.03 }
        let folder = RunFolder(path: dir.path("runs/r"))
        let summary = try Trainer(model: m, training: t, folder: folder, resume: false).run()
        let html = try String(contentsOfFile: folder.path + "/report.html", encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("</html>"))
        Self.expectSelfContained(html)
        #expect(try !FileManager.default.contentsOfDirectory(atPath: folder.path).contains { $0.hasPrefix("report.html.tmp") }, "a temporary file was left")

        let log = try Self.lines(folder.logPath)
        // The selected checkpoint: the one checkpoints.json names, marked on the charts and in the table.
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.path + "/checkpoints.json"))) as! [String: Any]
        let best = try #require(summary.bestStep)
        #expect(index["best"] as? String == "checkpoint-\(best)")
        #expect(html.contains("data-selected-step=\"\(best)\""), "the selected checkpoint is not marked on a chart")
        #expect(html.contains("<tr class=\"selected\" data-step=\"\(best)\">"), "the selected checkpoint's row is not marked")
        #expect(html.contains("Selected checkpoint: step \(best)"))

        // Every evaluation: the aggregate and each task's metrics, in the charts (exact) and the table (4 digits).
        let evals = log.filter { $0["type"] as? String == "eval" }
        #expect(Set([5, 10, 15, 20, 25, 30]).isSubset(of: evals.map { $0["step"] as! Int }), "evaluations every 5 steps (and at epoch ends)")
        for e in evals {
            let step = e["step"] as! Int, aggregate = e["aggregate"] as! Double
            let charted = Self.attribute("data-value", in: html, tag: "circle", having: ["data-metric": "aggregate", "data-x": "\(Double(step))"])
            #expect(Self.same(charted, aggregate), "aggregate at step \(step): \(charted) vs \(aggregate)")
            #expect(html.contains("<td class=\"num\">\(Self.f4(aggregate))</td>"))
            for (task, metrics) in e["metrics"] as! [String: [String: Double]] {
                for (name, value) in metrics {
                    let v = Self.attribute("data-value", in: html, tag: "circle", having: ["data-task": task, "data-metric": name, "data-x": "\(Double(step))"])
                    #expect(Self.same(v, value), "\(task) \(name) at step \(step): \(v) vs \(value)")
                }
            }
        }
        // The selected checkpoint's value is written on the chart.
        let bestAggregate = try #require(summary.bestAggregate)
        #expect(html.contains(">\(Self.f4(bestAggregate))</text>"))

        // Training loss: at most one point per step here, so the last value of each task's line is its last logged loss.
        let steps = log.filter { $0["type"] as? String == "step" }
        #expect(steps.count == 30)
        for task in ["sentiment", "topic"] {
            let last = try #require(steps.last { ($0["losses"] as? [String: Double])?[task] != nil })
            let value = (last["losses"] as! [String: Double])[task]!
            let shown = Self.textOf(html, tag: "text", having: ["class": "value last", "data-series": task])
            #expect(shown.contains(Self.f4(value)), "last \(task) loss \(value): \(shown)")
        }
        #expect(html.contains("id=\"chart-lr\""))

        // Sampling shares: the last eval line's sampling field, as the bars' values.
        let sampling = try #require(log.last { $0["type"] as? String == "eval" }?["sampling"] as? [String: Any])
        #expect(sampling["step"] as? Int == 30)
        let tasks = sampling["tasks"] as! [[String: Any]]
        #expect(tasks.map { $0["drawn"] as! Int }.reduce(0, +) == 30, "homogeneous batches: one draw per step")
        for task in tasks {
            let name = task["task"] as! String
            let realized = Self.attribute("data-value", in: html, tag: "rect", having: ["class": "bar realized", "data-label": name])
            #expect(Self.has(realized, task["realized_share"] as? Double), "\(name) realized share")
            let target = Self.attribute("data-value", in: html, tag: "rect", having: ["class": "bar target", "data-label": name])
            #expect(Self.has(target, task["target_share"] as? Double), "\(name) target share")
            let classes = task["classes"] as! [[String: Any]]
            #expect(classes.map { $0["drawn"] as! Int }.reduce(0, +) == task["examples"] as! Int)
            for c in classes {
                let r = Self.attribute("data-value", in: html, tag: "rect", having: ["class": "bar realized", "data-label": c["label"] as! String])
                #expect(Self.has(r, c["realized_share"] as? Double), "\(name)/\(c["label"]!) realized share")
            }
        }

        // The final tables: the selected checkpoint's per-class scores and confusion counts.
        let e = try JSONDecoder().decode(Evaluation.self, from: Data(contentsOf: URL(fileURLWithPath: folder.metricsPath(step: best))))
        for task in e.tasks {
            guard case .classification(let r) = task.report else { Issue.record("\(task.task) is not classification"); continue }
            for c in r.perClass {
                let row = Self.row(html, task: task.task, label: c.label)
                for x in [c.precision, c.recall, c.f1] { #expect(row.contains(">\(Self.f4(x))</td>"), "\(task.task)/\(c.label): \(row)") }
                #expect(row.contains(">\(c.support)</td>"))
            }
            for (i, gold) in r.labels.enumerated() {
                for (j, predicted) in r.labels.enumerated() {
                    let count = Self.attribute("data-count", in: html, tag: "rect", having: ["data-gold": gold, "data-predicted": predicted])
                    #expect(count.contains(String(r.confusion[i][j])), "\(task.task) confusion[\(gold)][\(predicted)]")
                }
            }
        }
    }

    /// Texts of the elements `<tag …>text</tag>` that carry the attributes.
    static func textOf(_ html: String, tag: String, having: [String: String]) -> [String] {
        var out: [String] = []
        var rest = html[...]
        while let open = rest.range(of: "<" + tag + " ") {
            guard let gt = rest[open.upperBound...].firstIndex(of: ">") else { break }
            let element = rest[open.lowerBound..<gt]
            let after = rest.index(after: gt)
            if having.allSatisfy({ element.contains(" \($0.key)=\"\($0.value)\"") }), let close = rest[after...].range(of: "</" + tag + ">") {
                out.append(String(rest[after..<close.lowerBound]))
            }
            rest = rest[after...]
        }
        return out
    }

    /// The table row of one class in one task's final table.
    static func row(_ html: String, task: String, label: String) -> String {
        guard let table = html.range(of: "data-task=\"\(esc(task))\"><thead>"),
              let start = html[table.upperBound...].range(of: "<tr data-label=\"\(esc(label))\">"),
              let end = html[start.upperBound...].range(of: "</tr>") else { return "" }
        return String(html[start.lowerBound..<end.upperBound])
    }

    @Test func spanTasksGetPerTypeTables() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let run = dir.path("runs/ner")
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        var spans = SpanMetrics()
        spans.add(gold: ["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"], predicted: ["B-PER", "I-PER", "O", "B-ORG", "O", "B-ORG"])
        spans.add(gold: ["O", "B-LOC", "I-LOC", "O"], predicted: ["O", "B-LOC", "I-LOC", "B-PER"])
        let r = spans.report()
        let task = TaskEvaluation(task: "ner", kind: .spans, examples: 2, mainMetric: "f1",
                                  metrics: ["f1": r.f1, "precision": r.precision, "recall": r.recall, "token_accuracy": r.tokenAccuracy, "macro_f1": r.macro.f1, "loss": 0.25],
                                  report: .spans(r))
        let e = Evaluation(step: 7, part: "dev", tasks: [task], aggregate: r.f1, select: "mean", emptyExamples: 0)
        try JSONEncoder().encode(e).write(to: URL(fileURLWithPath: run + "/metrics-7.json"))
        try Data(#"{"best":"checkpoint-7","latest":"checkpoint-7","checkpoints":[{"step":7,"aggregate":\#(r.f1)}]}"#.utf8)
            .write(to: URL(fileURLWithPath: run + "/checkpoints.json"))
        let html = RunReport.html(folder: run)
        Self.expectSelfContained(html)
        #expect(html.contains("<table class=\"report spans\" data-task=\"ner\">"))
        for (i, c) in r.perType.enumerated() {
            let row = Self.row(html, task: "ner", label: c.label)
            #expect(row.contains(">\(Self.f4(c.precision))</td>") && row.contains(">\(Self.f4(c.recall))</td>") && row.contains(">\(Self.f4(c.f1))</td>"), "\(c.label): \(row)")
            #expect(row.contains(">\(r.perTypePredicted[i])</td><td class=\"num\">\(c.support)</td>"), "\(c.label): \(row)")
        }
        #expect(Set(r.perType.map(\.label)) == ["LOC", "ORG", "PER"])
        #expect(html.contains("all spans (micro)"))
        #expect(html.contains(Self.f4(r.f1)))
        // No log: the evaluation comes from metrics-7.json, marked as selected.
        #expect(html.contains("data-selected-step=\"7\""))
    }

    @Test func crossValidationFoldsWithMeanAndStd() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let run = dir.path("runs/cv")
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        let cv = """
            {"kind":"cv","split":"main","folds":[0,1,2],"vocabularies":{"0":"main","1":"main-f1","2":"main-f2"},"select":"mean","complete":true,
             "settings":[
              {"name":"default","taskWeights":null,
               "folds":[{"fold":0,"run":"setting-0/fold-0","step":30,"aggregate":0.43,"metrics":{"sentiment":{"accuracy":0.56,"macro_f1":0.36,"loss":1.2},"topic":{"accuracy":0.3,"macro_f1":0.15,"loss":1.1}}},
                        {"fold":1,"run":"setting-0/fold-1","step":24,"aggregate":0.39,"metrics":{"sentiment":{"accuracy":0.5,"macro_f1":0.33,"loss":1.3},"topic":{"accuracy":0.28,"macro_f1":0.14,"loss":1.2}}},
                        {"fold":2,"run":"setting-0/fold-2","step":36,"aggregate":0.41,"metrics":{"sentiment":{"accuracy":0.52,"macro_f1":0.34,"loss":1.25},"topic":{"accuracy":0.3,"macro_f1":0.16,"loss":1.15}}}],
               "mean":{"sentiment":{"accuracy":0.5266666,"macro_f1":0.3433333,"loss":1.25},"topic":{"accuracy":0.2933333,"macro_f1":0.15,"loss":1.15}},
               "std":{"sentiment":{"accuracy":0.0305505,"macro_f1":0.0152753,"loss":0.05},"topic":{"accuracy":0.0115470,"macro_f1":0.01,"loss":0.05}},
               "aggregateMean":0.41,"aggregateStd":0.02},
              {"name":"topic=0.5,sentiment=1","taskWeights":{"topic":0.5,"sentiment":1},
               "folds":[{"fold":0,"run":"setting-1/fold-0","step":30,"aggregate":0.47,"metrics":{"sentiment":{"accuracy":0.6,"macro_f1":0.4,"loss":1.0},"topic":{"accuracy":0.34,"macro_f1":0.2,"loss":1.0}}},
                        {"fold":1,"run":"setting-1/fold-1","step":30,"aggregate":0.45,"metrics":{"sentiment":{"accuracy":0.58,"macro_f1":0.38,"loss":1.1},"topic":{"accuracy":0.32,"macro_f1":0.19,"loss":1.05}}},
                        {"fold":2,"run":"setting-1/fold-2","step":30,"aggregate":0.46,"metrics":{"sentiment":{"accuracy":0.59,"macro_f1":0.39,"loss":1.05},"topic":{"accuracy":0.33,"macro_f1":0.21,"loss":1.02}}}],
               "mean":{"sentiment":{"accuracy":0.59,"macro_f1":0.39,"loss":1.05},"topic":{"accuracy":0.33,"macro_f1":0.2,"loss":1.0233333}},
               "std":{"sentiment":{"accuracy":0.01,"macro_f1":0.01,"loss":0.05},"topic":{"accuracy":0.01,"macro_f1":0.01,"loss":0.0251661}},
               "aggregateMean":0.46,"aggregateStd":0.01}],
             "winner":1}
            """
        try Data(cv.utf8).write(to: URL(fileURLWithPath: run + "/cv.json"))
        #expect(try CrossValidation.read(RunFolder(path: run)) != nil, "the test's cv.json is what mtl-train cv writes")
        let path = try RunReport.write(folder: run)
        #expect(path == run + "/report.html")
        let html = try String(contentsOfFile: path, encoding: .utf8)
        Self.expectSelfContained(html)
        #expect(html.contains("<section id=\"cv\">"))
        // Per fold: aggregate and each metric; per setting: mean ± std as cv.json gives them.
        #expect(html.contains("<td class=\"num\">0.4300</td>") && html.contains("<td class=\"num\">0.3900</td>"))
        #expect(html.contains(">0.4100 ± 0.0200</td>") && html.contains(">0.4600 ± 0.0100</td>"))
        #expect(html.contains("data-task=\"sentiment\" data-metric=\"accuracy\">0.5267 ± 0.0306</td>"))
        #expect(html.contains("data-task=\"topic\" data-metric=\"loss\">1.0233 ± 0.0252</td>"))
        // The fold dots carry the exact aggregates; the winner is starred; folds link to their own reports.
        for v in ["0.43", "0.39", "0.41", "0.47", "0.45", "0.46"] { #expect(html.contains("data-value=\"\(v)\""), "fold aggregate \(v)") }
        #expect(html.contains("★ topic=0.5,sentiment=1"))
        #expect(html.contains("<h3 data-setting=\"1\"><span class=\"star\">★</span>"))
        #expect(html.contains("href=\"setting-1/fold-2/report.html\""))
        #expect(html.contains("task weights sentiment=1, topic=0.5"))
    }

    @Test func longRunsAreAveragedIntoBoundedBuckets() {
        var h = RunHistory()
        for step in 1...100_000 {
            h.add(type: "step", ["step": step, "epoch": step / 30_000, "losses": ["a": 1.0 + Double(step % 2)], "lr": 0.001])
        }
        let points = h.losses["a"]!.points
        #expect(points.count <= 2 * RunHistory.maxBuckets && points.count >= RunHistory.maxBuckets)
        // Alternating 1 and 2: every bucket of an even width averages to 1.5.
        #expect(points.dropLast().allSatisfy { abs($0.value - 1.5) < 1e-9 })
        #expect(h.epochStarts.map(\.epoch) == [1, 2, 3])
        #expect(h.total.points.count == points.count)
        #expect(h.lastStep == 100_000)
    }

    /// A report that cannot be written is warned about once and the run goes on.
    @Test func aReportThatCannotBeWrittenDoesNotStopTheRun() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try preparedStore(dir, keywordExamples(60))
        let (m, t) = try smallRun(store: store, epochs: nil, steps: 12) { _, t in t.evalEvery = 3 }
        let folder = RunFolder(path: dir.path("runs/blocked"))
        // A directory where the page should go: every rename onto it fails.
        try FileManager.default.createDirectory(atPath: folder.path + "/report.html/x", withIntermediateDirectories: true)
        let observer = Messages()
        let summary = try Trainer(model: m, training: t, folder: folder, resume: false, observer: observer).run()
        #expect(summary.steps == 12 && summary.stopReason == "steps")
        let warnings = observer.lines.filter { $0.contains("report.html") }
        #expect(warnings.count == 1, "\(observer.lines)")
        #expect(warnings.first?.contains("training goes on") == true)
        #expect(folder.checkpointSteps().contains(12))
    }

    /// The shares count every batch once across a stop and a resume, as in an uninterrupted run.
    @Test func samplingSharesSurviveAResume() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let store = try preparedStore(dir, keywordExamples(120))
        let (m, t) = try smallRun(store: store, epochs: nil, steps: 20) { _, t in
            t.evalEvery = 6; t.loader.classBalancing = .inverseFrequency; t.loader.taskSampling = .temperature(2)
        }
        _ = try Trainer(model: m, training: t, folder: RunFolder(path: dir.path("runs/whole")), resume: false).run()
        let first = try Trainer(model: m, training: t, folder: RunFolder(path: dir.path("runs/split")), resume: false)
        first.stopAfterSteps = 15
        _ = try first.run()
        _ = try Trainer(model: m, training: t, folder: RunFolder(path: dir.path("runs/split")), resume: true).run()
        func samplingLines(_ name: String) throws -> [String] {
            try Self.lines(dir.path("runs/\(name)/log.jsonl")).filter { $0["type"] as? String == "eval" }.map {
                String(decoding: try JSONSerialization.data(withJSONObject: $0["sampling"] as Any, options: [.sortedKeys]), as: UTF8.self)
            }
        }
        let whole = try samplingLines("whole"), split = try samplingLines("split")
        #expect(whole.count == 4)   // steps 6, 12, 18, 20
        #expect(whole == split)
        let report = try String(contentsOfFile: dir.path("runs/split/report.html"), encoding: .utf8)
        #expect(report.contains("resumed from step 12"))
        #expect(report.contains("class balancing: inverse"))
    }
}

final class Messages: TrainingObserver {
    var lines: [String] = []
    func message(_ text: String) { lines.append(text) }
    func progress(step: Int, totalSteps: Int?, epoch: Int, examplesPerSecond: Double, losses: [String: Float]) {}
    func evaluated(_ evaluation: Evaluation, isBest: Bool) {}
}
