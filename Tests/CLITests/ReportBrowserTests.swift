import Foundation
import Testing

/// `report.html` in a real browser: a tiny run trained through the CLI, its report loaded by
/// headless Chromium (`--dump-dom`, `--screenshot`). The page must load without script errors or
/// console messages, lay out every chart, and show the run's own numbers. Skipped, saying so,
/// where no Chromium is installed (`.ci/run` installs Debian's `chromium`).
@Suite("The run report in a browser")
struct ReportBrowserTests {
    /// `$CHROMIUM`, else the first Chromium on the usual paths.
    static let chromium: String? = {
        let candidates = [ProcessInfo.processInfo.environment["CHROMIUM"]].compactMap { $0 } +
            ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium", "/snap/bin/chromium", "/usr/bin/google-chrome"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Runs Chromium headless on `url` with `arguments`; kills it after `timeout` seconds.
    static func browse(_ url: URL, _ arguments: [String], profile: String, timeout: Double = 90) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: chromium!)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
                       "--user-data-dir=\(profile)", "--enable-logging=stderr", "--v=0"] + arguments + [url.absoluteString]
        let dir = URL(fileURLWithPath: profile).deletingLastPathComponent()
        let out = dir.appendingPathComponent("chromium-out-\(UUID().uuidString)"), err = dir.appendingPathComponent("chromium-err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning { p.terminate(); Issue.record("chromium did not finish within \(Int(timeout)) s: \(arguments)") }
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: try Data(contentsOf: out), as: UTF8.self), String(decoding: try Data(contentsOf: err), as: UTF8.self))
    }

    /// Every `<tag …>` element's attributes, for the elements that carry all of `having`.
    static func elements(_ html: String, tag: String, having: [String: String]) -> [[String: String]] {
        var out: [[String: String]] = []
        var rest = html[...]
        while let open = rest.range(of: "<" + tag + " ") {
            let end = rest[open.upperBound...].firstIndex(of: ">") ?? rest.endIndex
            var attributes: [String: String] = [:]
            var s = rest[open.upperBound..<end]
            while let eq = s.range(of: "=\"") {
                let name = s[..<eq.lowerBound].split(separator: " ").last.map(String.init) ?? ""
                guard let close = s[eq.upperBound...].firstIndex(of: "\"") else { break }
                attributes[name] = String(s[eq.upperBound..<close])
                s = s[s.index(after: close)...]
            }
            if having.allSatisfy({ attributes[$0.key] == $0.value }) { out.append(attributes) }
            rest = rest[end...]
        }
        return out
    }

    /// The charted values against the log's: equal up to the last digits (this test reads
    /// log.jsonl with JSONSerialization, which on Linux can miss a number's last digit).
    static func same(_ a: [[String: String]], _ b: Double) -> Bool {
        guard a.count == 1, let x = a[0]["data-value"].flatMap(Double.init) else { return false }
        return abs(x - b) <= 1e-12 * max(abs(x), abs(b))
    }

    @Test func theReportLoadsInChromiumAndShowsTheRunsNumbers() throws {
        guard Self.chromium != nil else {
            print("skipped: no Chromium found (install Debian's chromium package, as .ci/run does, or set CHROMIUM)")
            return
        }
        let f = try TrainCLITests.Fixture()
        let r = try f.newRun("web", ["--steps", "24", "--eval-every", "6", "--seed", "1"])
        try #require(r.status == 0, "\(r.err)")
        let page = f.runPath("web") + "/report.html"
        try #require(FileManager.default.fileExists(atPath: page), "the trainer wrote no report.html")

        // `mtl-train report` writes the same page on demand (only the footer's time differs).
        let other = f.path("again.html")
        let again = try f.train(["report", "--run", "web", "-o", other])
        #expect(again.status == 0, "\(again.err)")
        func withoutFooter(_ path: String) throws -> String {
            let s = try String(contentsOfFile: path, encoding: .utf8)
            return s.components(separatedBy: "<footer>").first ?? s
        }
        #expect(try withoutFooter(page) == withoutFooter(other))
        let missing = try f.train(["report", "--run", "nope"])
        #expect(missing.status != 0 && missing.err.contains("no such run folder"), "\(missing.err)")

        // Load it: no script error, no console output, every chart laid out.
        let url = URL(fileURLWithPath: page)
        let profile = f.path("chromium-profile")
        let dom = try Self.browse(url, ["--dump-dom"], profile: profile)
        #expect(dom.status == 0, "chromium --dump-dom: \(dom.err.suffix(2000))")
        let html = dom.out
        let root = try #require(Self.elements(html, tag: "html", having: [:]).first, "no <html> in the dumped DOM: \(html.prefix(500))")
        #expect(root["data-report-loaded"] == "1", "the page's load handler did not run: \(root)")
        #expect(root["data-report-errors"] == nil, "script errors: \(root["data-report-errors"] ?? "")")
        let charts = Int(root["data-charts"] ?? "") ?? 0
        #expect(charts >= 8, "charts found by the browser: \(charts)")
        #expect(root["data-charts-rendered"] == root["data-charts"], "charts laid out with a size: \(root["data-charts-rendered"] ?? "?") of \(charts)")
        let console = dom.err.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
        #expect(console.isEmpty, "console messages: \(console)")
        #expect(!html.contains("http://") && !html.contains("https://"), "the page refers to the network")

        // The charts carry the run's numbers: every evaluation's aggregate and metrics, the selected checkpoint.
        let log = try f.log("web")
        let evals = log.filter { $0["type"] as? String == "eval" }
        #expect(evals.count >= 4)
        let best = try #require(log.last { $0["type"] as? String == "end" }?["best_step"] as? Int)
        for e in evals {
            let step = e["step"] as! Int
            let x = "\(Double(step))"
            let aggregate = Self.elements(html, tag: "circle", having: ["data-metric": "aggregate", "data-x": x])
            #expect(Self.same(aggregate, e["aggregate"] as! Double), "aggregate at step \(step): \(aggregate)")
            #expect(aggregate.first?["class"] == (step == best ? "point selected" : "point"), "step \(step) of \(best)")
            for (task, metrics) in e["metrics"] as! [String: [String: Double]] {
                for (name, value) in metrics {
                    let dots = Self.elements(html, tag: "circle", having: ["data-task": task, "data-metric": name, "data-x": x])
                    #expect(Self.same(dots, value), "\(task) \(name) at step \(step): \(dots)")
                }
            }
        }
        #expect(Self.elements(html, tag: "text", having: ["data-selected-step": "\(best)"]).count >= 4, "the selected checkpoint is marked on the charts")
        let bestEval = try #require(evals.first { $0["step"] as? Int == best })
        #expect(html.contains(">\(String(format: "%.4f", bestEval["aggregate"] as! Double))</text>"), "the selected aggregate is written on the chart")
        // Realized task shares as the last eval line's sampling field gives them.
        let sampling = try #require(evals.last?["sampling"] as? [String: Any], "eval lines carry the loader's shares")
        for t in sampling["tasks"] as! [[String: Any]] {
            let bars = Self.elements(html, tag: "rect", having: ["class": "bar realized", "data-label": t["task"] as! String])
            #expect(Self.same(bars, t["realized_share"] as! Double), "\(t["task"]!) realized share: \(bars)")
        }

        // A screenshot: a real PNG of a tall page (look at it when changing the page).
        let shot = f.path("report.png")
        let s = try Self.browse(url, ["--window-size=1200,4200", "--screenshot=\(shot)"], profile: profile)
        #expect(s.status == 0, "chromium --screenshot: \(s.err.suffix(2000))")
        let png = try Data(contentsOf: URL(fileURLWithPath: shot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 50_000, "screenshot: \(png.count) bytes")
        let kept = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-report-screenshot.png")
        try? FileManager.default.removeItem(at: kept)
        try? FileManager.default.copyItem(atPath: shot, toPath: kept.path)
        print("report screenshot: \(kept.path)")
    }
}
