import ArgumentParser
import Foundation

/// `mtl-bench import`: `mtl-prep import` end to end (read, tokenize, write the store, commit)
/// against ../shared/bench/import_py.py (csv/lxml + PyICU + sqlite3, one transaction) on the
/// same files in the same run: the Chinese reviews CSV, SST-2 TSV and the SemEval restaurants
/// XML, each repeated to about `--megabytes` MB in a temporary directory. Two memory cases
/// follow (no Python peer): `huge-records`, records of 10 MB each up to `--megabytes`, and
/// `huge-field`, one 50 MB field; their peak RSS is the figure to watch (chunks are bounded by
/// bytes, not only by record count).
struct ImportBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Import throughput against the Python reference script.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Size each input is repeated to, in MB.")
    var megabytes = 100

    @Option(help: "Threads for mtl-prep import.")
    var threads = 2

    @Option(help: "Only these corpora (chinese, sst2, xml, huge-records, huge-field; comma-separated).")
    var only: String?

    struct Case {
        var name: String, file: URL, ours: [String], python: [String]?, target: Double
    }

    func run() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-bench-import-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let corpora = URL(fileURLWithPath: options.corpora)
        let target = megabytes * 1_000_000
        let chinese = try Repeat.lines(corpora.appendingPathComponent("chinese/online_shopping_10_cats.csv"), header: 1, to: target, into: work.appendingPathComponent("chinese.csv"))
        let sst2 = try Repeat.lines(corpora.appendingPathComponent("sst2/train.tsv"), header: 1, to: target, into: work.appendingPathComponent("sst2.tsv"))
        let xml = try Repeat.xml(corpora.appendingPathComponent("semeval14/Restaurants_Train_v2.xml"), record: "<sentence ", close: "</sentences>", to: target, into: work.appendingPathComponent("rest.xml"))
        var cases = [
            // The Chinese file has one empty review: both sides keep it (the script stores "").
            Case(name: "chinese", file: chinese, ours: ["--text", "review", "--label", "label=label", "--allow-empty-text"], python: ["csv", chinese.path, "review", "label"], target: 2.5),
            Case(name: "sst2", file: sst2, ours: ["--text", "sentence", "--label", "label=label"], python: ["csv", sst2.path, "sentence", "label"], target: 5),
            Case(name: "xml", file: xml, ours: ["--record", "sentence", "--text", "text"], python: ["xml", xml.path, "sentence", "text"], target: 5),
        ]
        let words = "the food was great but the service slow "   // 40 bytes, ASCII words
        let tenMB = String(repeating: words, count: 250_000)
        let hugeRecords = work.appendingPathComponent("huge-records.csv"), hugeField = work.appendingPathComponent("huge-field.csv")
        let keep = only.map { Set($0.split(separator: ",").map(String.init)) }
        if keep?.contains("huge-records") ?? true {
            try Data(("text,label\n" + (0..<max(1, megabytes / 10)).map { "\(tenMB),\($0 % 2)\n" }.joined()).utf8).write(to: hugeRecords)
        }
        if keep?.contains("huge-field") ?? true {
            try Data(("text,label\n" + String(repeating: words, count: 1_250_000) + ",1\nsmall,0\n").utf8).write(to: hugeField)
        }
        cases += [
            // Millions of tokens per record: the default --max-tokens-per-example (2^20) would refuse them.
            Case(name: "huge-records", file: hugeRecords, ours: ["--text", "text", "--label", "label=label", "--max-tokens-per-example", "100000000"], python: nil, target: 0),
            Case(name: "huge-field", file: hugeField, ours: ["--text", "text", "--label", "label=label", "--max-tokens-per-example", "100000000"], python: nil, target: 0),
        ]
        if let only { let keep = Set(only.split(separator: ",").map(String.init)); cases = cases.filter { keep.contains($0.name) } }
        let prep = options.mtlPrepPath
        let script = options.peerScript("import_py.py")
        for c in cases {
            let mb = Double((try FileManager.default.attributesOfItem(atPath: c.file.path)[.size] as? Int) ?? 0) / 1e6
            let db = work.appendingPathComponent("\(c.name).sqlite").path
            func clean() { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + s) } }
            var rss: [Double] = []
            let ours = try medianSeconds(repeats: options.repeats) {
                clean()
                rss.append(try Measured.run(prep, ["import", c.file.path, "--store", db, "--threads", "\(threads)"] + c.ours))
            }
            clean()
            emit(["bench": "import", "corpus": c.name, "impl": "mtl-prep-import", "threads": threads, "mb": mb,
                  "mb_per_s": mb / ours, "seconds_median": ours, "peak_rss_mb_median": median(rss)])
            guard let python = c.python else { continue }
            var figure: [String: Any] = ["bench": "import", "corpus": c.name, "figure": "ratios", "target_vs_import_py": c.target]
            if let script {
                let pyDB = work.appendingPathComponent("\(c.name)-py.sqlite").path
                do {
                    let py = try medianSeconds(repeats: options.repeats) {
                        _ = try Measured.run(options.python, [script] + python + [pyDB])
                    }
                    emit(["bench": "import", "corpus": c.name, "impl": "import_py.py", "threads": 1, "mb": mb,
                          "mb_per_s": mb / py, "seconds_median": py])
                    figure["ours_vs_import_py"] = py / ours
                    figure["meets_target"] = py / ours >= c.target
                } catch {
                    // A Python without PyICU or lxml: say so instead of aborting the run.
                    figure["import_py_error"] = "\(error) (--python must have PyICU and lxml)"
                }
                try? FileManager.default.removeItem(atPath: pyDB)
            }
            emit(figure)
        }
    }
}

/// Runs a program with standard output discarded; returns its peak RSS in MB (from
/// `/usr/bin/time -f %M` when available, else 0). Fails on a non-zero exit.
enum Measured {
    static func run(_ path: String, _ arguments: [String]) throws -> Double {
        let time = "/usr/bin/time"
        let rssFile = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-bench-rss-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: rssFile) }
        let useTime = FileManager.default.isExecutableFile(atPath: time)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: useTime ? time : path)
        process.arguments = useTime ? ["-f", "%M", "-o", rssFile, path] + arguments : arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("\(path) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
        guard useTime, let text = try? String(contentsOfFile: rssFile, encoding: .utf8),
              let kb = text.split(separator: "\n").last.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) else { return 0 }
        return kb / 1024
    }
}

/// Benchmark inputs: a corpus repeated to a size.
enum Repeat {
    /// The header lines once, then the rest of the file repeated.
    static func lines(_ source: URL, header: Int, to size: Int, into file: URL) throws -> URL {
        let data = try Data(contentsOf: source)
        var cut = data.startIndex
        for _ in 0..<header { cut = data[cut...].firstIndex(of: 0x0A)! + 1 }
        var body = Data(data[cut...])
        if body.last != 0x0A { body.append(0x0A) }
        return try write(head: Data(data[..<cut]), body: body, tail: Data(), to: size, into: file)
    }

    /// The records between the first `record` opening and the root's `close` repeated.
    static func xml(_ source: URL, record: String, close: String, to size: Int, into file: URL) throws -> URL {
        let data = try Data(contentsOf: source)
        let start = data.range(of: Data(record.utf8))!.lowerBound
        let end = data.range(of: Data(close.utf8), options: .backwards)!.lowerBound
        return try write(head: Data(data[..<start]), body: Data(data[start..<end]), tail: Data(data[end...]), to: size, into: file)
    }

    private static func write(head: Data, body: Data, tail: Data, to size: Int, into file: URL) throws -> URL {
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        handle.write(head)
        for _ in 0..<max(1, (size + body.count - 1) / body.count) { handle.write(body) }
        handle.write(tail)
        try handle.close()
        return file
    }
}
