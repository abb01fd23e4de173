import ArgumentParser
import Foundation

/// `mtl-bench`: benchmarks for release builds. Each prints one JSON object per figure on stdout,
/// measured beside its reference in the same run (the machine is shared and noisy: compare
/// ratios, not absolute times between runs).
@main
struct MtlBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mtl-bench",
        abstract: "Benchmarks: print one JSON object per figure, with ratios to references measured in the same run.",
        subcommands: [TokenizeBench.self, ImportBench.self, VocabBench.self, SplitBench.self, BatchBench.self, TrainStepBench.self, TrainBench.self, PredictBench.self, Seq2SeqBench.self]
    )
}

/// Options every benchmark shares.
struct BenchOptions: ParsableArguments {
    @Option(help: "Directory of the real corpora (default: $MTL_CORPORA, else ../shared/corpora).")
    var corpora: String = ProcessInfo.processInfo.environment["MTL_CORPORA"] ?? "../shared/corpora"

    @Option(help: "Repetitions per figure; the median is reported.")
    var repeats = 5

    @Option(help: "Python with the peer packages installed (skip the peers if absent).")
    var python: String = "/tmp/peers/bin/python"

    @Option(help: "Directory of the peer scripts (default: beside the corpora, ../bench).")
    var peerScripts: String?

    @Option(help: "Path to mtl-prep, timed end to end (default: beside mtl-bench).")
    var mtlPrep: String?

    @Flag(help: "Skip the Python peers.")
    var noPeers = false

    var mtlPrepPath: String {
        mtlPrep ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("mtl-prep").path
    }

    /// The path of a peer script when the peers are to run: not `--no-peers`, and both the
    /// Python and the script exist.
    func peerScript(_ name: String) -> String? {
        let script = URL(fileURLWithPath: peerScriptDirectory).appendingPathComponent(name).path
        guard !noPeers, FileManager.default.isExecutableFile(atPath: python), FileManager.default.fileExists(atPath: script) else { return nil }
        return script
    }

    var peerScriptDirectory: String {
        peerScripts ?? URL(fileURLWithPath: corpora).deletingLastPathComponent().appendingPathComponent("bench").path
    }
}

/// One figure, printed as a JSON object on its own line.
func emit(_ fields: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    FileHandle.standardOutput.write(data + Data([0x0A]))
}

/// The median of a non-empty list (the mean of the middle two for an even count).
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Median seconds of `repeats` runs of `body`.
func medianSeconds(repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<max(1, repeats) {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return median(times)
}

/// Runs a program, returns its standard output; standard error passes through.
func runProgram(_ path: String, _ arguments: [String], environment: [String: String] = [:], stdoutTo file: String? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    process.environment = env
    let pipe = Pipe()
    if let file {
        process.standardOutput = FileHandle(forWritingAtPath: file)
    } else {
        process.standardOutput = pipe
    }
    try process.run()
    let data = file == nil ? pipe.fileHandleForReading.readDataToEndOfFile() : Data()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ValidationError("\(path) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
}
