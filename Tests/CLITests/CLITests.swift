import Foundation
import Testing

/// Runs a built executable of this package; returns (exit status, stdout, stderr).
func run(_ tool: String, _ arguments: [String], stdin: Data = Data(), environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = productsDirectory.appendingPathComponent(tool)
    process.arguments = arguments
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    // Files, not pipes, for all three streams: a child blocked on a full pipe would deadlock the test.
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let (inURL, outURL, errURL) = (directory.appendingPathComponent("in"), directory.appendingPathComponent("out"), directory.appendingPathComponent("err"))
    try stdin.write(to: inURL)
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    process.standardInput = try FileHandle(forReadingFrom: inURL)
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    try process.run()
    process.waitUntilExit()
    let out = try Data(contentsOf: outURL), err = try Data(contentsOf: errURL)
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

/// The directory holding the built products (the test bundle sits beside them).
let productsDirectory: URL = {
    var url = Bundle.main.bundleURL
    while !FileManager.default.fileExists(atPath: url.appendingPathComponent("mtl-prep").path) && url.path != "/" {
        url = url.deletingLastPathComponent()
    }
    return url
}()

@Suite("mtl-prep tokenize, run as a user would")
struct TokenizeCLITests {
    @Test func textFormatPrintsNormalizedTokensPerLine() throws {
        let result = try run("mtl-prep", ["tokenize"], stdin: Data("Ｔｈｅ ＣＡＴ sat.\n我正在写这本书\r\n\nlast".utf8))
        #expect(result.status == 0)
        #expect(result.out == "the cat sat .\n我 正在 写 这 本 书\n\nlast\n")
        #expect(result.err.isEmpty)
    }

    @Test func jsonlCarriesBothOffsetKinds() throws {
        let result = try run("mtl-prep", ["tokenize", "--format", "jsonl", "--tokenizer", "words(punct=drop)"], stdin: Data("é ｘ!\n".utf8))
        #expect(result.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as! [String: Any]
        let tokens = object["tokens"] as! [[String: Any]]
        #expect(tokens.map { $0["text"] as! String } == ["é", "x"])
        #expect(tokens[1]["start"] as! Int == 2)
        #expect(tokens[1]["byte_start"] as! Int == 3)
        #expect(tokens[1]["byte_end"] as! Int == 6)
    }

    @Test func sameOutputWithOneOrTwoThreads() throws {
        // > 1 MB: several 256 KB chunks, so that out-of-order output would show.
        let input = Data((0..<40_000).map { "line \($0): 我正在写这本书 ＡＢＣ" }.joined(separator: "\n").utf8)
        let one = try run("mtl-prep", ["tokenize", "--threads", "1"], stdin: input)
        let two = try run("mtl-prep", ["tokenize", "--threads", "2"], stdin: input)
        #expect(one.status == 0 && two.status == 0)
        #expect(input.count > 1_000_000)
        #expect(one.out.split(separator: "\n").count == 40_000)
        #expect(one.out == two.out)
    }

    @Test func invalidUTF8NamesFileLineAndByte() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-cli-\(getpid())-bad.txt")
        try (Data("fine\nbad \u{e9}".utf8) + Data([0xFF]) + Data("\n".utf8)).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let failed = try run("mtl-prep", ["tokenize", file.path])
        #expect(failed.status != 0)
        #expect(failed.err.contains("\(file.path):2: invalid UTF-8 at byte 6 of the line"))
        let replaced = try run("mtl-prep", ["tokenize", "--invalid-utf8", "replace", file.path])
        #expect(replaced.status == 0)
        #expect(replaced.out == "fine\nbad é \u{FFFD}\n")
    }

    @Test func badSpecsAreClearErrors() throws {
        let result = try run("mtl-prep", ["tokenize", "--normalize", "nfkc,transform(No-Such)"])
        #expect(result.status != 0)
        #expect(result.err.contains("unknown or invalid transform ID 'No-Such'"))
        let missing = try run("mtl-prep", ["tokenize", "/no/such/file"])
        #expect(missing.status != 0)
        #expect(missing.err.contains("/no/such/file: cannot open"))
    }

    @Test func writeFailuresAndBadOptionsExitNonZero() throws {
        let full = Process()
        full.executableURL = productsDirectory.appendingPathComponent("mtl-prep")
        full.arguments = ["tokenize"]
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("mtl-cli-\(getpid())-in.txt")
        try Data(String(repeating: "some words here\n", count: 100_000).utf8).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        full.standardInput = try FileHandle(forReadingFrom: input)
        full.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: "/dev/full"))
        full.standardError = FileHandle.nullDevice
        try full.run()
        full.waitUntilExit()
        #expect(full.terminationStatus != 0, "writing to /dev/full must fail loudly")
        let zero = try run("mtl-prep", ["tokenize", "--threads", "0"])
        #expect(zero.status != 0)
        #expect(zero.err.contains("--threads must be at least 1"))
    }

    @Test func helpAndVersion() throws {
        let help = try run("mtl-prep", ["tokenize", "--help"])
        #expect(help.status == 0)
        for option in ["--normalize", "--tokenizer", "--locale", "--threads", "--format", "--invalid-utf8"] {
            #expect(help.out.contains(option), "\(option) missing from --help")
        }
        let version = try run("mtl-prep", ["--version"])
        #expect(version.status == 0)
        #expect(version.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
        #expect(try run("mtl-train", ["--help"]).status == 0)
        #expect(try run("mtl-bench", ["--help"]).status == 0)
    }
}
