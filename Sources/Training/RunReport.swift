import Batching
import Foundation

// `runs/NAME/report.html`: one self-contained page (inline SVG drawn here, inline CSS, a few lines
// of inline JavaScript that only mark the page as loaded; nothing is fetched) showing what the run
// folder holds: loss per task and in total, the learning rate, dev metrics per evaluation with the
// selected checkpoint marked, the loader's realized task and class shares against their targets,
// the selected checkpoint's per-task tables (per-class scores and a confusion heat map, per-type
// span scores), and, for a cross-validation run (`cv.json`), every fold's values with mean ± std.
// The trainer rewrites it after each evaluation and at the end; `mtl-train report` on demand.

// MARK: - The report

public enum RunReport {
    public static let fileName = "report.html"

    /// Writes the report of the run folder at `folder` to `output` (default `folder/report.html`)
    /// through a temporary file and a rename. `history`: the log as the trainer holds it (nil:
    /// read `log.jsonl`). Returns the path written.
    @discardableResult
    public static func write(folder: String, to output: String? = nil, history: RunHistory? = nil, now: Date = Date()) throws -> String {
        let path = output ?? folder + "/" + fileName
        let page = html(folder: folder, history: history, now: now)
        try RunFolder.writeDurably(Data(page.utf8), to: path)
        return path
    }

    /// The report of the run folder at `folder` as one HTML document.
    public static func html(folder: String, history: RunHistory? = nil, now: Date = Date()) -> String {
        var data = ReportData(folder: folder, history: history)
        data.generated = ISO8601DateFormatter().string(from: now)
        return ReportPage(data: data).render()
    }
}

/// Everything the page shows, read from the folder.
struct ReportData {
    var folder: String
    var name: String
    var history: RunHistory
    var configuration: RunConfiguration?
    var hasLog: Bool
    var bestStep: Int?
    var latest: String?
    var kept: [(step: Int, aggregate: Double?)] = []
    var selected: Evaluation?
    var cv: CrossValidationRecord?
    var cvError: String?
    var generated = ""

    init(folder: String, history: RunHistory?) {
        self.folder = folder
        name = (folder as NSString).lastPathComponent
        let fm = FileManager.default
        hasLog = history != nil || fm.fileExists(atPath: folder + "/log.jsonl")
        self.history = history ?? RunHistory(logAt: folder + "/log.jsonl")
        if let d = fm.contents(atPath: folder + "/config.json"), let c = try? JSONDecoder().decode(RunConfiguration.self, from: d) {
            configuration = c
        } else {
            configuration = self.history.configuration
        }
        if let d = fm.contents(atPath: folder + "/" + RunFolder.indexName), let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any] {
            if let b = o["best"] as? String, let s = Int(b.dropFirst("checkpoint-".count)) { bestStep = s }
            latest = o["latest"] as? String
            for c in (o["checkpoints"] as? [[String: Any]]) ?? [] {
                if let s = RunHistory.int(c["step"]) { kept.append((s, RunHistory.double(c["aggregate"]))) }
            }
        }
        if bestStep == nil { bestStep = self.history.end?.bestStep ?? self.history.evaluations.last(where: \.best)?.step }
        if let s = bestStep, let d = fm.contents(atPath: folder + "/metrics-\(s).json") {
            selected = try? JSONDecoder().decode(Evaluation.self, from: d)
        }
        // A log-less folder (the trainer always logs): the evaluations from the metrics files.
        if self.history.evaluations.isEmpty, let names = try? fm.contentsOfDirectory(atPath: folder) {
            let steps = names.compactMap { n -> Int? in
                guard n.hasPrefix("metrics-"), n.hasSuffix(".json") else { return nil }
                return Int(n.dropFirst(8).dropLast(5))
            }.sorted()
            for s in steps {
                guard let d = fm.contents(atPath: folder + "/metrics-\(s).json"), let e = try? JSONDecoder().decode(Evaluation.self, from: d) else { continue }
                let best = self.history.evaluations.map(\.aggregate).max().map { e.aggregate > $0 } ?? true
                self.history.evaluations.append(RunHistory.EvalPoint(step: s, part: e.part, aggregate: e.aggregate, best: best,
                                                                     metrics: Dictionary(uniqueKeysWithValues: e.tasks.map { ($0.task, $0.metrics) })))
            }
        }
        if let d = fm.contents(atPath: folder + "/cv.json") {
            do { cv = try JSONDecoder().decode(CrossValidationRecord.self, from: d) } catch { cvError = "\(error)" }
        }
    }

    var taskNames: [String] {
        if let c = configuration { return c.model.tasks.map(\.name) }
        var names: [String] = []
        for e in history.evaluations { for t in e.metrics.keys.sorted() where !names.contains(t) { names.append(t) } }
        for t in history.losses.keys.sorted() where !names.contains(t) { names.append(t) }
        return names
    }

    func spec(_ task: String) -> TaskSpec? { configuration?.model.tasks.first { $0.name == task } }
}

// MARK: - The page

struct ReportPage {
    var data: ReportData

    func render() -> String {
        var body = header()
        var nav: [(String, String)] = []
        var sections = ""
        if data.cv != nil || data.cvError != nil { sections += cvSection(); nav.append(("cv", "Cross-validation")) }
        let training = trainingSection()
        if !training.isEmpty { sections += training; nav.append(("training", "Training curves")) }
        let dev = devSection()
        if !dev.isEmpty { sections += dev; nav.append(("dev", "Evaluations")) }
        let sampling = samplingSection()
        if !sampling.isEmpty { sections += sampling; nav.append(("sampling", "Sampling")) }
        let final = finalSection()
        if !final.isEmpty { sections += final; nav.append(("final", "Selected checkpoint")) }
        if nav.count > 1 { body += "<nav>" + nav.map { "<a href=\"#\($0.0)\">\(esc($0.1))</a>" }.joined() + "</nav>" }
        if sections.isEmpty && data.cv == nil {
            sections = "<section><p class=\"empty\">Nothing to show yet: this folder has no log, evaluations or cv.json.</p></section>"
        }
        body += sections
        body += "<footer>Written by mtl-train at \(esc(data.generated)) from \(esc(data.folder)) (config.json, log.jsonl, metrics-STEP.json, checkpoints.json\(data.cv != nil ? ", cv.json" : "")). Self-contained: no network, no external scripts.</footer>"
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="mtl-train report">
            <title>\(esc(data.name)) · mtl-train run report</title>
            <style>\(Self.css)</style>
            <script>\(Self.script)</script>
            </head><body>
            \(body)
            </body></html>

            """
    }

    static let css = """
        :root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#fff;--panel:#f6f8fa;--accent:#0969da;--sel:#e15759}
        *{box-sizing:border-box}
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans",sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1100px;padding:20px 28px 40px}
        h1{font-size:24px;margin:0 0 2px}h1 code{font-size:23px}
        h2{font-size:19px;margin:34px 0 10px;padding-bottom:5px;border-bottom:1px solid var(--line)}
        h3{font-size:15px;margin:22px 0 8px}
        code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px;background:var(--panel);padding:1px 4px;border-radius:4px}
        .status{color:var(--muted);margin:0 0 12px}.status b{color:var(--fg)}
        .badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#dafbe1;color:#116329;margin-left:6px;vertical-align:2px}
        .badge.running{background:#fff8c5;color:#7d4e00}.badge.stopped{background:#ffebe9;color:#a40e26}
        dl.summary{display:grid;grid-template-columns:150px 1fr;gap:3px 14px;margin:0;background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:10px 14px}
        dl.summary dt{color:var(--muted)}dl.summary dd{margin:0}
        nav{margin:14px 0 0;display:flex;gap:14px;flex-wrap:wrap}nav a{color:var(--accent);text-decoration:none}nav a:hover{text-decoration:underline}
        .note{color:var(--muted);font-size:13px;margin:4px 0 10px}
        .empty{color:var(--muted);font-style:italic}
        figure.chart-box{margin:10px 0 18px}figcaption{font-weight:600;margin:0 0 4px}
        svg.chart{width:100%;height:auto;display:block;font-family:inherit}
        .heat svg.chart{width:auto;max-width:100%}
        svg .grid{stroke:#eaeef2;stroke-width:1}svg .axis{stroke:#8c959f;stroke-width:1}svg .xtick{stroke:#8c959f}
        svg .tick{font-size:11px;fill:#57606a}svg .axis-title{font-size:12px;fill:#424a53}
        svg .legend{font-size:12px;fill:#24292f}svg .value{font-size:11.5px;font-weight:600}svg text.value.target{fill:#6e7781}svg text.value.realized{fill:#24292f}
        svg .bar-label{font-size:12.5px;fill:#24292f}svg .bar-label.winner{font-weight:700;fill:var(--sel)}
        svg .mark.selected{stroke:var(--sel);stroke-width:1.6;stroke-dasharray:5 3}svg .mark.epoch{stroke:#d0d7de;stroke-dasharray:2 3}svg .mark.resume{stroke:#bf8700;stroke-dasharray:6 2}
        svg .mark-label{font-size:10.5px;fill:#8c959f}svg .mark-label.selected{font-size:11.5px;font-weight:700;fill:var(--sel)}
        svg .cell-count{font-size:12px}
        .charts2{display:grid;grid-template-columns:1fr;gap:0}
        table{border-collapse:collapse;margin:6px 0 16px;font-size:13px}
        th,td{padding:3px 10px;border-bottom:1px solid #eaeef2;text-align:left;white-space:nowrap}
        th{background:var(--panel);font-weight:600;border-bottom:1px solid var(--line)}
        td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
        td.bar{background-image:linear-gradient(to right,#7fb0ea calc(var(--v)*100%),#e6ebf0 calc(var(--v)*100%));background-repeat:no-repeat;background-position:10px calc(100% - 3px);background-size:calc(100% - 20px) 3px}
        tr.selected td{background-color:#fff1f0}
        tr.avg td{color:#424a53;border-top:1px solid var(--line)}tr.mean td{font-weight:600;border-top:2px solid var(--line)}
        .star{color:var(--sel);font-weight:700}
        .scroll{overflow-x:auto}
        .tasks{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:8px 28px;align-items:start}
        footer{margin-top:40px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:8px}
        a{color:var(--accent)}
        """

    /// Marks the page loaded, counts the charts the browser laid out, and records script errors:
    /// what the browser test reads back from the DOM. Nothing is fetched.
    static let script = """
        (function(){var d=document.documentElement,errors=[];
        window.addEventListener('error',function(e){errors.push(String(e.message||e));d.setAttribute('data-report-errors',errors.join(' | '));});
        document.addEventListener('DOMContentLoaded',function(){var svgs=document.querySelectorAll('svg.chart'),n=0;
        for(var i=0;i<svgs.length;i++){var r=svgs[i].getBoundingClientRect();if(r.width>0&&r.height>0&&svgs[i].childElementCount>0)n++;}
        d.setAttribute('data-charts',String(svgs.length));d.setAttribute('data-charts-rendered',String(n));d.setAttribute('data-report-loaded','1');});})();
        """

    // MARK: Header

    func header() -> String {
        let h = data.history
        var s = "<header><h1>Run <code>\(esc(data.name))</code></h1>"
        var status = ""
        if let e = h.end {
            let badge = e.reason == "interrupted" ? "<span class=\"badge stopped\">interrupted</span>" : "<span class=\"badge\">finished</span>"
            status = "\(badge) stopped by <b>\(esc(e.reason))</b> at step <b>\(e.step)</b>"
            if h.lastStep > 0 { status += " (in epoch \(h.lastEpoch + 1))" }
            if let sec = e.seconds { status += ", \(Fmt.seconds(sec))" }
            if let x = e.examplesPerSecond { status += ", \(Fmt.int(Int64(x.rounded()))) examples/s" }
            if let w = e.dataWaitShare { status += String(format: ", %.1f%% waiting for data", w * 100) }
        } else if data.hasLog && h.lastStep > 0 {
            status = "<span class=\"badge running\">in progress</span> step <b>\(h.lastStep)</b>, epoch \(h.lastEpoch + 1)"
        } else if let cv = data.cv {
            status = cv.complete == false ? "<span class=\"badge running\">in progress</span> cross-validation" : "<span class=\"badge\">finished</span> cross-validation"
        }
        if !h.resumes.isEmpty { status += "; resumed from step \(h.resumes.map(String.init).joined(separator: ", "))" }
        if let es = h.earlyStop { status += "; early stopping at step \(es)" }
        if let t = h.started { status += " · started \(esc(t))" }
        if !status.isEmpty { s += "<p class=\"status\">\(status)</p>" }
        var rows: [(String, String)] = []
        if let c = data.configuration {
            let m = c.model, t = c.training
            rows.append(("tasks", m.tasks.map { task -> String in
                var d = "<b>\(esc(task.name))</b> (\(task.kind.rawValue), \(task.labels.count) \(task.isTokenLevel ? "tags" : "labels")"
                if task.isTokenLevel { d += ", \(task.head.rawValue) head" }
                return d + ")"
            }.joined(separator: ", ")))
            var model = "embedding \(m.embeddingSize)\(m.embeddings.map { " (\(esc($0))\(m.freezeEmbeddings ? ", frozen" : ""))" } ?? ""), "
            model += "\(m.bidirectional ? "BiLSTM" : "LSTM") \(m.hiddenSize) × \(m.layers) layer\(m.layers == 1 ? "" : "s"), pooling \(m.pooling.rawValue), "
            model += "head hidden \(m.headHidden), dropout \(m.dropout)"
            if let p = h.parameters { model += "; \(Fmt.int(p)) parameters" }
            rows.append(("model", model))
            var opt = "\(t.optimizer.rawValue), lr \(t.learningRate) (\(t.schedule.rawValue)\(t.warmup > 0 ? ", warm-up \(t.warmup)" : "")), clip \(t.clip)"
            if t.weightDecay > 0 { opt += ", weight decay \(t.weightDecay)" }
            var length: [String] = []
            if let e = t.epochs { length.append("\(e) epochs") }
            if let st = t.steps { length.append("\(st) steps") }
            opt += "; " + length.joined(separator: " or ") + ", seed \(t.seed)"
            rows.append(("optimisation", esc(opt)))
            let l = t.loader
            var batches = "\(l.homogeneous ? "homogeneous" : "mixed") batches of \(l.batchSize)\(l.maxTokens.map { " (≤ \($0) tokens)" } ?? ""), "
            batches += "\(l.taskSampling.name) task sampling, class balancing \(Self.balancingName(l.classBalancing)), max length \(l.maxLength)"
            rows.append(("batches", esc(batches)))
            var loss = "task weights \(t.taskWeights.name), class weights \(Self.classWeightsName(t.classWeights))"
            if !t.losses.isEmpty {
                loss += "; " + t.losses.keys.sorted().map { k -> String in
                    let x = t.losses[k]!
                    var parts: [String] = []
                    if x.focalGamma > 0 { parts.append("focal(\(x.focalGamma))") }
                    if x.labelSmoothing > 0 { parts.append("smoothing(\(x.labelSmoothing))") }
                    return "\(k)=\(parts.isEmpty ? "ce" : parts.joined(separator: "+"))"
                }.joined(separator: ", ")
            }
            rows.append(("loss", esc(loss)))
            var eval = "on \(t.evalPart)"
            eval += t.evalEvery > 0 ? " every \(t.evalEvery) steps and at epoch ends" : " at epoch ends"
            eval += "; select <code>\(esc(t.select))</code>"
            if t.patience > 0 { eval += ", patience \(t.patience)" }
            rows.append(("evaluation", eval))
            rows.append(("data", "store <code>\(esc(t.store))</code>, split <code>\(esc(t.split))</code> fold \(t.fold), vocabulary <code>\(esc(t.vocabulary))</code>"))
        }
        if let b = data.bestStep {
            let agg = data.selected?.aggregate ?? data.history.evaluations.first { $0.step == b }?.aggregate
            rows.append(("selected checkpoint", "<span class=\"star\">★</span> <code>checkpoint-\(b)</code>\(agg.map { " (aggregate \(Fmt.f4($0)))" } ?? "")" +
                         (data.latest.map { ", latest <code>\(esc($0))</code>" } ?? "") +
                         (data.kept.isEmpty ? "" : "; kept: " + data.kept.map { "\($0.step)" }.joined(separator: ", "))))
        }
        if !rows.isEmpty {
            s += "<dl class=\"summary\">" + rows.map { "<dt>\(esc($0.0))</dt><dd>\($0.1)</dd>" }.joined() + "</dl>"
        }
        return s + "</header>"
    }

    static func balancingName(_ b: ClassBalancing) -> String {
        switch b {
        case .none: return "none"
        case .inverseFrequency: return "inverse"
        case .effectiveNumber(let beta): return "effective(β=\(beta))"
        }
    }

    static func classWeightsName(_ w: ClassWeighting) -> String {
        switch w {
        case .none: return "none"
        case .inverse: return "inverse"
        case .effective(let b): return "effective(\(b))"
        }
    }

    // MARK: Training curves

    func trainingSection() -> String {
        let h = data.history
        guard !h.total.isEmpty || !h.learningRate.isEmpty else { return "" }
        var s = "<section id=\"training\"><h2>Training curves</h2>"
        let tasks = data.taskNames.filter { h.losses[$0] != nil } + h.losses.keys.sorted().filter { !data.taskNames.contains($0) }
        var lines: [Chart.Line] = []
        // Long series: the values faint, a moving average over them bold (the legend keeps the last value).
        func add(_ name: String, _ color: String, _ series: RunHistory.Series, width: Double = 1.8, dashed: Bool = false) {
            let pts = series.points.map { (x: $0.step, y: $0.value) }
            if pts.count > 60 {
                lines.insert(Chart.Line(name: name, color: color, points: pts, width: 1, opacity: 0.3, inLegend: false), at: 0)
                let k = max(2, pts.count / 40)
                var smooth: [(x: Double, y: Double)] = []
                var sum = 0.0
                for (i, p) in pts.enumerated() {
                    sum += p.y
                    if i >= k { sum -= pts[i - k].y }
                    if i >= k - 1 { smooth.append((pts[i + 1 - k..<i + 1].map(\.x).reduce(0, +) / Double(k), sum / Double(k))) }
                }
                lines.append(Chart.Line(name: name, color: color, points: smooth, width: width, dashed: dashed, lastValue: series.last?.value))
            } else {
                lines.append(Chart.Line(name: name, color: color, points: pts, width: width, dashed: dashed, lastValue: series.last?.value))
            }
        }
        for (i, t) in tasks.enumerated() { add(t, Chart.color(i), h.losses[t]!) }
        let weighted = !h.staticWeights.isEmpty
        let totalName = weighted ? "total (Σ αᵢ Lᵢ)" : "total (Σ Lᵢ)"
        add(totalName, "#24292f", h.total, width: 2.2, dashed: true)
        var marks: [Chart.Mark] = []
        if h.epochStarts.count <= 40 { marks += h.epochStarts.map { Chart.Mark(x: Double($0.step), label: "e\($0.epoch + 1)", kind: "epoch") } }
        marks += h.resumes.map { Chart.Mark(x: Double($0), label: "resumed at step \($0)", kind: "resume") }
        if let b = data.bestStep { marks.append(Chart.Mark(x: Double(b), label: "★ selected \(b)", kind: "selected")) }
        let w = h.total.width
        var note = "Training loss of each task at each step that carried it, and their sum"
        note += weighted ? " weighted by the static task weights" : ""
        note += w > 1 ? "; each point is the mean over \(w) steps" : "; one point per step"
        note += h.total.points.count > 60 ? " (faint), with a moving average over \(max(2, h.total.points.count / 40)) points (bold); the legend gives the last logged value." : "."
        note += " Dotted lines: epoch starts (e2 = the second epoch); dashed red: the selected checkpoint."
        if case .uncertainty? = data.configuration?.training.taskWeights { note += " (Uncertainty weighting: the total shown is the plain sum, not the learned objective.)" }
        s += "<p class=\"note\">\(esc(note))</p>"
        s += Chart.lines(id: "chart-loss", title: "Training loss per task and total", lines: lines, xLabel: "step", yLabel: "loss", yZero: true, marks: marks)
        if !h.learningRate.isEmpty {
            s += Chart.lines(id: "chart-lr", title: "Learning rate", lines: [Chart.Line(name: "lr", color: "#59a14f", points: h.learningRate.points.map { ($0.step, $0.value) })],
                             xLabel: "step", yLabel: "learning rate", yZero: true, marks: marks.filter { $0.kind != "epoch" }, height: 220)
        }
        return s + "</section>"
    }

    // MARK: Evaluations

    static let metricOrder = ["accuracy", "f1", "micro_f1", "macro_f1", "weighted_f1", "precision", "recall", "token_accuracy", "samples_f1", "subset_accuracy", "loss"]

    static func orderedMetrics(_ keys: some Sequence<String>) -> [String] {
        let set = Set(keys)
        return metricOrder.filter(set.contains) + set.subtracting(metricOrder).sorted()
    }

    func devSection() -> String {
        let evals = data.history.evaluations
        guard !evals.isEmpty else { return "" }
        let part = evals.last!.part
        let best = data.bestStep
        var s = "<section id=\"dev\"><h2>Evaluations on \(esc(part))</h2>"
        s += "<p class=\"note\">\(evals.count) evaluation\(evals.count == 1 ? "" : "s"); the selected checkpoint (best by <code>\(esc(data.configuration?.training.select ?? data.selected?.select ?? "the --select aggregate"))</code>) is the ringed point with its value written, on the dashed red line.</p>"
        let marks = best.map { [Chart.Mark(x: Double($0), label: "★ selected step \($0)", kind: "selected")] } ?? []
        let highlight = best.map(Double.init)
        let markers = evals.count <= 300
        s += Chart.lines(id: "chart-aggregate", title: "Selection aggregate", lines: [
            Chart.Line(name: "aggregate", color: "#24292f", points: evals.map { (Double($0.step), $0.aggregate) }, markers: markers,
                       attributes: [("data-metric", "aggregate")], tooltip: "aggregate")
        ], xLabel: "step", yLabel: "aggregate", marks: marks, highlight: highlight, height: 240)
        s += "<div class=\"charts2\">"
        let tasks = data.taskNames.filter { t in evals.contains { $0.metrics[t] != nil } }
        for (ti, t) in tasks.enumerated() {
            let keys = Self.orderedMetrics(evals.flatMap { $0.metrics[t]?.keys ?? [:].keys }).filter { $0 != "loss" }
            var lines: [Chart.Line] = []
            for (i, k) in keys.enumerated() {
                let pts = evals.compactMap { e in e.metrics[t]?[k].map { (Double(e.step), $0) } }
                lines.append(Chart.Line(name: k, color: Chart.color(i), points: pts, markers: markers,
                                        attributes: [("data-task", t), ("data-metric", k)], tooltip: "\(t) \(k)"))
            }
            s += Chart.lines(id: "chart-dev-\(ti)", title: "\(t): \(part) metrics", lines: lines, xLabel: "step", yLabel: "score",
                             yUnit: true, marks: marks, highlight: highlight)
        }
        let lossLines = tasks.enumerated().compactMap { (i, t) -> Chart.Line? in
            let pts = evals.compactMap { e in e.metrics[t]?["loss"].map { (Double(e.step), $0) } }
            return pts.isEmpty ? nil : Chart.Line(name: t, color: Chart.color(i), points: pts, markers: markers,
                                                  attributes: [("data-task", t), ("data-metric", "loss")], tooltip: "\(t) \(part) loss")
        }
        if !lossLines.isEmpty {
            s += Chart.lines(id: "chart-dev-loss", title: "\(part.capitalized) loss per task", lines: lossLines, xLabel: "step", yLabel: "loss",
                             yZero: true, marks: marks, highlight: highlight, height: 260)
        }
        s += "</div>"
        // The table: every evaluation, every metric.
        var columns: [(String, String)] = []
        for t in tasks {
            for k in Self.orderedMetrics(evals.flatMap { $0.metrics[t]?.keys ?? [:].keys }) { columns.append((t, k)) }
        }
        s += "<h3>Every evaluation</h3><div class=\"scroll\"><table class=\"evals\"><thead><tr><th>step</th><th class=\"num\">aggregate</th>"
        for t in tasks {
            let n = columns.filter { $0.0 == t }.count
            s += "<th colspan=\"\(n)\" style=\"text-align:center\">\(esc(t))</th>"
        }
        s += "</tr><tr><th></th><th></th>" + columns.map { "<th class=\"num\">\(esc($0.1))</th>" }.joined() + "</tr></thead><tbody>"
        for e in evals {
            let sel = e.step == best
            s += "<tr class=\"\(sel ? "selected" : "")\" data-step=\"\(e.step)\"><td>\(sel ? "<span class=\"star\">★</span> " : "")\(e.step)\(e.best && !sel ? " <span title=\"improved on every earlier evaluation\">↑</span>" : "")</td>"
            s += "<td class=\"num\">\(Fmt.f4(e.aggregate))</td>"
            for (t, k) in columns {
                if let v = e.metrics[t]?[k] {
                    let bar = k != "loss" && v >= 0 && v <= 1
                    s += "<td class=\"num\(bar ? " bar" : "")\"\(bar ? " style=\"--v:\(String(format: "%.4f", v))\"" : "")>\(Fmt.f4(v))</td>"
                } else {
                    s += "<td class=\"num\">–</td>"
                }
            }
            s += "</tr>"
        }
        s += "</tbody></table></div>"
        s += "<p class=\"note\">★ the selected checkpoint; ↑ an evaluation that improved on every earlier one.</p>"
        return s + "</section>"
    }

    // MARK: Sampling

    func samplingSection() -> String {
        guard let r = data.history.sampling else { return "" }
        var s = "<section id=\"sampling\"><h2>Sampling: realized against target shares</h2>"
        s += "<p class=\"note\">What the loader drew in the \(r.step) steps up to the latest evaluation: task shares of \(esc(r.shareOf)) (strategy \(esc(r.strategy))), and each classification task's class shares of the examples drawn for it (class balancing: \(esc(r.classBalancing))). Targets are the strategy's probabilities (averaged over the epochs the draws fell in) and the balancing's class shares.</p>"
        s += Chart.shares(id: "chart-task-shares", title: "Task shares (of \(r.shareOf))", items: r.tasks.map {
            ($0.task, $0.targetShare, $0.realizedShare, "\(Fmt.int($0.trainingExamples)) training examples")
        }, color: "#4e79a7")
        s += "<div class=\"scroll\"><table class=\"shares\"><thead><tr><th>task</th><th class=\"num\">training examples</th><th class=\"num\">drawn (\(esc(r.shareOf)))</th><th class=\"num\">examples drawn</th><th class=\"num\">target</th><th class=\"num\">realized</th></tr></thead><tbody>"
        for t in r.tasks {
            s += "<tr><td>\(esc(t.task))</td><td class=\"num\">\(Fmt.int(t.trainingExamples))</td><td class=\"num\">\(Fmt.int(t.drawn))</td><td class=\"num\">\(Fmt.int(t.examples))</td><td class=\"num\">\(Fmt.f4(t.targetShare))</td><td class=\"num\">\(Fmt.f4(t.realizedShare))</td></tr>"
        }
        s += "</tbody></table></div>"
        for (i, t) in r.tasks.enumerated() {
            guard let classes = t.classes, !classes.isEmpty else { continue }
            let n = classes.map(\.drawn).reduce(0, +)
            s += Chart.shares(id: "chart-class-shares-\(i)", title: "Class shares in \(t.task) (of its \(Fmt.int(n)) examples drawn)", items: classes.map {
                ($0.label, $0.targetShare, $0.realizedShare, "\(Fmt.int($0.trainingExamples)) training")
            }, color: Chart.color(i + 1))
        }
        return s + "</section>"
    }

    // MARK: Final tables

    func finalSection() -> String {
        guard let e = data.selected else { return "" }
        var s = "<section id=\"final\"><h2><span class=\"star\">★</span> Selected checkpoint: step \(e.step)</h2>"
        s += "<p class=\"note\">metrics-\(e.step).json: evaluation on \(esc(e.part)), <code>\(esc(e.select))</code> = \(Fmt.f4(e.aggregate))"
        if e.emptyExamples > 0 { s += "; \(e.emptyExamples) examples without tokens" }
        s += ".</p>"
        for (ti, t) in e.tasks.enumerated() {
            s += "<h3>\(esc(t.task)) <span class=\"note\">(\(t.kind.rawValue), \(Fmt.int(t.examples)) examples: \(esc(t.mainMetric)) \(Fmt.f4(t.main))\(t.metrics["loss"].map { ", loss \(Fmt.f4($0))" } ?? ""))</span></h3>"
            switch t.report {
            case .classification(let r):
                s += "<div class=\"tasks\"><div>" + classTable(r, task: t.task, accuracyName: "accuracy") + "</div><div>"
                s += (r.labels.count <= 40 ? Chart.confusion(id: "chart-confusion-\(ti)", title: "\(t.task): confusion matrix", labels: r.labels, matrix: r.confusion)
                      : "<p class=\"note\">\(r.labels.count) labels: confusion matrix left out (in metrics-\(e.step).json).</p>")
                s += "</div></div>"
            case .tokens(let r):
                s += "<div class=\"tasks\"><div>" + classTable(r, task: t.task, accuracyName: "token accuracy") + "</div><div>"
                s += (r.labels.count <= 30 ? Chart.confusion(id: "chart-confusion-\(ti)", title: "\(t.task): confusion matrix (tokens)", labels: r.labels, matrix: r.confusion)
                      : "<p class=\"note\">\(r.labels.count) tags: confusion matrix left out (in metrics-\(e.step).json).</p>")
                s += "</div></div>"
            case .spans(let r):
                s += spanTable(r, task: t.task)
            case .multilabel(let r):
                s += multilabelTable(r, task: t.task)
            case .sequences(let r):
                s += sequenceTable(r, task: t.task)
            case .regression(let r):
                s += "<table class=\"report\" data-task=\"\(esc(t.task))\"><thead><tr><th>metric</th><th class=\"num\">value</th></tr></thead><tbody>"
                for (name, v) in [("Pearson r", r.pearson), ("Spearman ρ", r.spearman), ("RMSE", r.rmse), ("MAE", r.mae), ("MSE", r.mse)] {
                    s += "<tr><td>\(name)</td><td class=\"num\">\(Fmt.f4(v))</td></tr>"
                }
                s += "</tbody></table><p class=\"note\">\(Fmt.int(r.count)) values.</p>"
            }
        }
        return s + "</section>"
    }

    /// A seq2seq task's scores, BLEU and chrF with sacrebleu's signatures (what they are comparable with).
    func sequenceTable(_ r: SequenceMetrics, task: String) -> String {
        var s = "<table class=\"report\" data-task=\"\(esc(task))\"><thead><tr><th>metric</th><th class=\"num\">value</th><th>what</th></tr></thead><tbody>"
        let rows: [(String, Double, String)] = [
            ("sequence accuracy", r.sequenceAccuracy, "outputs equal to their reference"),
            ("sequence error rate", r.sequenceErrorRate, "1 − sequence accuracy (WER in grapheme-to-phoneme papers)"),
            ("token error rate", r.tokenErrorRate, "edit distance / reference tokens (PER for phonemes)"),
            ("BLEU", r.bleu, r.bleuDetails.signature),
            ("chrF", r.chrF, r.chrFDetails.signature),
        ]
        for (name, v, what) in rows {
            s += "<tr><td>\(name)</td><td class=\"num\">\(name == "BLEU" || name == "chrF" ? String(format: "%.2f", v) : Fmt.f4(v))</td><td class=\"note\">\(esc(what))</td></tr>"
        }
        return s + "</tbody></table><p class=\"note\">\(Fmt.int(r.count)) targets decoded.</p>"
    }

    func scoreCells(_ p: Double, _ r: Double, _ f: Double) -> String {
        [p, r, f].map { "<td class=\"num bar\" style=\"--v:\(String(format: "%.4f", $0))\">\(Fmt.f4($0))</td>" }.joined()
    }

    func classTable(_ r: ClassificationReport, task: String, accuracyName: String) -> String {
        var s = "<table class=\"report\" data-task=\"\(esc(task))\"><thead><tr><th>\(accuracyName == "accuracy" ? "class" : "tag")</th><th class=\"num\">precision</th><th class=\"num\">recall</th><th class=\"num\">F1</th><th class=\"num\">support</th></tr></thead><tbody>"
        for c in r.perClass {
            s += "<tr data-label=\"\(esc(c.label))\"><td>\(esc(c.label))</td>" + scoreCells(c.precision, c.recall, c.f1) + "<td class=\"num\">\(Fmt.int(c.support))</td></tr>"
        }
        s += "<tr class=\"avg\"><td>\(accuracyName)</td><td></td><td></td><td class=\"num\">\(Fmt.f4(r.accuracy))</td><td class=\"num\">\(Fmt.int(r.support))</td></tr>"
        s += "<tr class=\"avg\"><td>macro avg</td>" + scoreCells(r.macro.precision, r.macro.recall, r.macro.f1) + "<td class=\"num\">\(Fmt.int(r.macro.support))</td></tr>"
        s += "<tr class=\"avg\"><td>weighted avg</td>" + scoreCells(r.weighted.precision, r.weighted.recall, r.weighted.f1) + "<td class=\"num\">\(Fmt.int(r.weighted.support))</td></tr>"
        return s + "</tbody></table>"
    }

    func spanTable(_ r: SpanReport, task: String) -> String {
        var s = "<p class=\"note\">\(Fmt.int(r.tokens)) tokens, \(Fmt.int(r.goldSpans)) gold spans, \(Fmt.int(r.predictedSpans)) predicted, \(Fmt.int(r.correctSpans)) correct; token accuracy \(Fmt.f4(r.tokenAccuracy)).</p>"
        s += "<table class=\"report spans\" data-task=\"\(esc(task))\"><thead><tr><th>span type</th><th class=\"num\">precision</th><th class=\"num\">recall</th><th class=\"num\">F1</th><th class=\"num\">predicted</th><th class=\"num\">support</th></tr></thead><tbody>"
        for (i, c) in r.perType.enumerated() {
            let predicted = i < r.perTypePredicted.count ? Fmt.int(r.perTypePredicted[i]) : "–"
            s += "<tr data-label=\"\(esc(c.label))\"><td>\(esc(c.label))</td>" + scoreCells(c.precision, c.recall, c.f1) + "<td class=\"num\">\(predicted)</td><td class=\"num\">\(Fmt.int(c.support))</td></tr>"
        }
        s += "<tr class=\"avg\"><td>all spans (micro)</td>" + scoreCells(r.precision, r.recall, r.f1) + "<td class=\"num\">\(Fmt.int(r.predictedSpans))</td><td class=\"num\">\(Fmt.int(r.goldSpans))</td></tr>"
        s += "<tr class=\"avg\"><td>macro avg</td>" + scoreCells(r.macro.precision, r.macro.recall, r.macro.f1) + "<td></td><td class=\"num\">\(Fmt.int(r.macro.support))</td></tr>"
        s += "<tr class=\"avg\"><td>weighted avg</td>" + scoreCells(r.weighted.precision, r.weighted.recall, r.weighted.f1) + "<td></td><td class=\"num\">\(Fmt.int(r.weighted.support))</td></tr>"
        return s + "</tbody></table>"
    }

    func multilabelTable(_ r: MultilabelReport, task: String) -> String {
        var s = "<table class=\"report\" data-task=\"\(esc(task))\"><thead><tr><th>label</th><th class=\"num\">precision</th><th class=\"num\">recall</th><th class=\"num\">F1</th><th class=\"num\">support</th></tr></thead><tbody>"
        for c in r.perLabel {
            s += "<tr data-label=\"\(esc(c.label))\"><td>\(esc(c.label))</td>" + scoreCells(c.precision, c.recall, c.f1) + "<td class=\"num\">\(Fmt.int(c.support))</td></tr>"
        }
        for (name, a) in [("micro avg", r.micro), ("macro avg", r.macro), ("weighted avg", r.weighted), ("samples avg", r.samples)] {
            s += "<tr class=\"avg\"><td>\(name)</td>" + scoreCells(a.precision, a.recall, a.f1) + "<td class=\"num\">\(Fmt.int(a.support))</td></tr>"
        }
        s += "<tr class=\"avg\"><td>subset accuracy</td><td></td><td></td><td class=\"num\">\(Fmt.f4(r.subsetAccuracy))</td><td></td></tr>"
        return s + "</tbody></table>"
    }

    // MARK: Cross-validation

    func cvSection() -> String {
        var s = "<section id=\"cv\"><h2>Cross-validation</h2>"
        guard let cv = data.cv else {
            return s + "<p class=\"empty\">cv.json could not be read: \(esc(data.cvError ?? "?"))</p></section>"
        }
        var facts: [String] = []
        facts.append("split <code>\(esc(cv.split))</code>")
        facts.append("folds \(cv.folds.map(String.init).joined(separator: ", "))")
        facts.append("selection <code>\(esc(cv.select))</code>")
        facts.append("\(cv.settings.count) setting\(cv.settings.count == 1 ? "" : "s")")
        if !cv.complete { facts.append("<b>incomplete</b>: folds still to run") }
        if let w = cv.winner, w >= 0, w < cv.settings.count { facts.append("winner <span class=\"star\">★ \(esc(cv.settings[w].name))</span>") }
        s += "<p class=\"note\">\(facts.joined(separator: " · ")). Values are each fold's selected checkpoint; mean ± std over the folds.</p>"
        let rows = cv.settings.enumerated().map { (i, st) in
            let values = st.folds.map { ($0.fold, $0.aggregate) }
            let (m, sd) = Self.meanStd(values.map(\.1))
            return (label: st.name, values: values, mean: st.aggregateMean ?? m, std: st.aggregateStd ?? sd, winner: cv.winner == i)
        }
        s += Chart.foldDots(id: "chart-cv", title: "Aggregate per fold and setting", rows: rows)
        for (i, st) in cv.settings.enumerated() {
            let winner = cv.winner == i
            s += "<h3 data-setting=\"\(i)\">\(winner ? "<span class=\"star\">★</span> " : "")setting <code>\(esc(st.name))</code>"
            if let w = st.taskWeights { s += " <span class=\"note\">(task weights \(esc(w.keys.sorted().map { "\($0)=\(Self.short(w[$0]!))" }.joined(separator: ", "))))</span>" }
            s += "</h3>"
            var tasks: [String] = []
            for f in st.folds { for t in f.metrics.keys.sorted() where !tasks.contains(t) { tasks.append(t) } }
            for t in st.mean.keys.sorted() where !tasks.contains(t) { tasks.append(t) }
            let order = data.taskNames
            tasks.sort { (order.firstIndex(of: $0) ?? Int.max, $0) < (order.firstIndex(of: $1) ?? Int.max, $1) }
            var columns: [(String, String)] = []
            for t in tasks {
                let keys = st.folds.flatMap { Array($0.metrics[t]?.keys ?? [:].keys) } + Array(st.mean[t]?.keys ?? [:].keys)
                for k in Self.orderedMetrics(keys) { columns.append((t, k)) }
            }
            s += "<div class=\"scroll\"><table class=\"cv\" data-setting=\"\(i)\"><thead><tr><th>fold</th><th>run</th><th class=\"num\">step</th><th class=\"num\">aggregate</th>"
            for t in tasks { s += "<th colspan=\"\(columns.filter { $0.0 == t }.count)\" style=\"text-align:center\">\(esc(t))</th>" }
            s += "</tr><tr><th></th><th></th><th></th><th></th>" + columns.map { "<th class=\"num\">\(esc($0.1))</th>" }.joined() + "</tr></thead><tbody>"
            for f in st.folds {
                s += "<tr data-fold=\"\(f.fold)\"><td>\(f.fold)</td><td>"
                s += "<a href=\"\(esc(Self.relativeLink(f.run)))/report.html\">\(esc(f.run))</a>"
                s += "</td><td class=\"num\">\(f.step)</td><td class=\"num\">\(Fmt.f4(f.aggregate))</td>"
                for (t, k) in columns { s += "<td class=\"num\">\(f.metrics[t]?[k].map(Fmt.f4) ?? "–")</td>" }
                s += "</tr>"
            }
            let aggs = st.folds.map(\.aggregate)
            let (am, asd) = Self.meanStd(aggs)
            s += "<tr class=\"mean\"><td colspan=\"3\">mean ± std</td><td class=\"num\">\(Self.pm(st.aggregateMean ?? am, st.aggregateStd ?? asd))</td>"
            for (t, k) in columns {
                let vals = st.folds.compactMap { $0.metrics[t]?[k] }
                let (m, sd) = Self.meanStd(vals)
                let mean = st.mean[t]?[k] ?? m, std = st.std[t]?[k] ?? sd
                s += "<td class=\"num\" data-task=\"\(esc(t))\" data-metric=\"\(esc(k))\">\(Self.pm(mean, std))</td>"
            }
            s += "</tr></tbody></table></div>"
        }
        return s + "</section>"
    }

    /// A fold run's folder as a link relative to this page (only relative paths are linked).
    static func relativeLink(_ run: String) -> String {
        run.split(separator: "/").map { String($0).addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? String($0) }.joined(separator: "/")
    }

    static func pm(_ m: Double, _ s: Double) -> String {
        guard m.isFinite else { return "–" }
        return "\(Fmt.f4(m)) ± \(s.isFinite ? Fmt.f4(s) : "–")"
    }

    static func short(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e9 ? String(Int(x)) : "\(x)" }

    /// Mean and sample standard deviation (n − 1; 0 for one value).
    static func meanStd(_ v: [Double]) -> (Double, Double) {
        guard !v.isEmpty else { return (.nan, .nan) }
        let m = v.reduce(0, +) / Double(v.count)
        guard v.count > 1 else { return (m, 0) }
        return (m, (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot())
    }
}
