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
        subcommands: [TokenizeBench.self, ImportBench.self, TrainStepBench.self]
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

    var peerScriptDirectory: String {
        peerScripts ?? URL(fileURLWithPath: corpora).deletingLastPathComponent().appendingPathComponent("bench").path
    }
}

/// One figure, printed as a JSON object on its own line.
func emit(_ fields: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    FileHandle.standardOutput.write(data + Data([0x0A]))
}

/// Median seconds of `repeats` runs of `body`.
func medianSeconds(repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<max(1, repeats) {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    times.sort()
    return times[times.count / 2]
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
