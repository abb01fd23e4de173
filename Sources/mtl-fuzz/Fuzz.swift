// The fuzzing harness of the readers and parsers (issue 18), built only by scripts/fuzz:
// `MTL_FUZZ=1` makes Package.swift declare this target, and the script builds it with the
// toolchain's libFuzzer (-sanitize=fuzzer,address), which supplies `main`. The target to fuzz
// comes from $MTL_FUZZ_TARGET: csv, tsv, jsonl, conll, conllu, xml-subset, xml-libxml2, regex,
// parallel, mapping, xpath. Every input must end in a record, an ImportError, or nothing: a
// crash, a leak (ASan) or a hang (libFuzzer's -timeout) is a finding.
import CorpusImport
import Foundation

private let target = ProcessInfo.processInfo.environment["MTL_FUZZ_TARGET"] ?? "csv"
private let scratch = "/dev/shm/mtl-fuzz-\(getpid())"

/// Reads every record of `reader`, going on after the errors a reader continues after.
private func drain(_ reader: any RecordReader) {
    for _ in 0..<100_000 {
        do throws(ImportError) {
            guard try reader.next() != nil else { return }
        } catch {
            if !error.kind.readerContinues { return }
        }
    }
}

private func write(_ bytes: UnsafeRawBufferPointer, to path: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return }
    if let base = bytes.baseAddress { _ = Glibc.write(fd, base, bytes.count) }
    close(fd)
}

// SwiftPM links an executable's entry point as `<module>_main`; libFuzzer's own `main` is then
// not pulled from its archive, so this one hands the arguments to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(_ argc: UnsafeMutablePointer<Int32>,
                       _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                       _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("mtl_fuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var vector = argv
    return runDriver(&count, &vector) { data, size in fuzz(data, size) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let file = scratch + ".in"
    switch target {
    case "mapping":
        _ = try? Mapping.decode(yaml: String(decoding: bytes, as: UTF8.self), origin: "fuzz")
        return 0
    case "xpath":
        var m = Mapping(format: .xml, text: String(decoding: bytes, as: UTF8.self))
        m.record = "r"
        _ = m.firstXPathProblem()
        return 0
    case "parallel":
        // The input split at its first NUL into the two files.
        let cut = bytes.firstIndex(of: 0) ?? size / 2
        write(UnsafeRawBufferPointer(rebasing: bytes[..<cut]), to: file)
        write(UnsafeRawBufferPointer(rebasing: bytes[min(cut + 1, size)...]), to: file + "2")
        if let r = try? ParallelLineReader(sourcePath: file, targetPath: file + "2", fields: ["source", "target", "line"], hashing: true) { drain(r) }
        return 0
    default:
        break
    }
    write(bytes, to: file)
    let reader: (any RecordReader)?
    switch target {
    case "csv": reader = try? CSVReader(path: file, columns: [.name("text"), .name("label"), .index(2)], options: .csv, hashing: true)
    case "tsv": reader = try? CSVReader(path: file, columns: [.index(0), .index(1)], options: .tsv, hashing: true)
    case "jsonl": reader = try? JSONLReader(path: file, fields: ["text", "labels.*", "spans.*.start", "a.b"], hashing: true, blockSize: 64)
    case "conll": reader = try? CoNLLReader(path: file, fields: [.column(0), .column(1)], options: .conll, hashing: true)
    case "conllu": reader = try? CoNLLReader(path: file, fields: [.column(1), .column(3), .comment("text")],
                                             options: CoNLLOptions(dialect: .conllu, sentenceFor: .column(1)), hashing: true)
    case "xml-subset", "xml-libxml2":
        let reading = XMLReading(subsetParser: target == "xml-subset", blockSize: 61)
        reader = try? reading.makeReader(path: file, fields: ["text", "@id", "a/b/@c", "w"], options: XMLOptions(recordElement: "s"),
                                         displayName: nil, hashing: true)
    case "regex":
        reader = try? RegexLineReader(path: file, pattern: #"^(?<word>[^\s(]+)(?:\((?<v>\d+)\))? (?<phones>[^#]+?)(?:\s+#.*)?$"#,
                                      fields: ["word", "phones", "v"], options: RegexLineOptions(commentPrefix: ";;;"), hashing: true)
    default:
        fatalError("unknown MTL_FUZZ_TARGET '\(target)'")
    }
    if let reader { drain(reader) }
    return 0
}
