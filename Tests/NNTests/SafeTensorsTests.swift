import Foundation
import Testing
@testable import NN

extension NNTests {
    static func scratchDirectory(_ tag: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nn-tests-\(tag)-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A safetensors file with the given header text followed by `dataBytes` zero bytes.
    static func writeRaw(header: String, dataBytes: Int = 8, to path: String) throws {
        let h = Array(header.utf8)
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(h.count) >> (8 * UInt64($0))) }
        bytes += h + [UInt8](repeating: 0, count: dataBytes)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Hostile headers must be reported as `NNError`, never trap (overflow, surrogate arithmetic, stack).
    @Test func hostileSafeTensorsHeadersThrow() throws {
        let dir = try Self.scratchDirectory("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("h.safetensors").path
        func tensor(_ shape: String, _ offsets: String = "[0,4]", dtype: String = "F32", extra: String = "") -> String {
            "{\"a\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)\(extra)}}"
        }
        // Control: the same construction with sane values reads.
        try Self.writeRaw(header: tensor("[1]", extra: ",\"z\":[true,false,null,-1.5e3,\"\\ud83d\\ude00\\u00e9\\/\"]"), to: path)
        let ok = try SafeTensors.read(path)
        #expect(ok.tensors["a"]?.shape == [1])

        let hostile: [(String, String)] = [
            ("shape product overflows", tensor("[4294967296,4294967296,4]", "[0,0]")),
            ("shape product overflows before a zero", tensor("[4294967296,4294967296,4,0]", "[0,0]")),
            ("count × width overflows (F32)", tensor("[2305843009213693952]", "[0,0]")),
            ("count × width overflows (F64)", tensor("[1152921504606846976]", "[0,0]", dtype: "F64")),
            ("high surrogate + non-surrogate", "{\"a\\ud800\\u0041\":{}}"),
            ("lone high surrogate", "{\"a\\ud800\":{}}"),
            ("lone low surrogate", "{\"a\\udc00\":{}}"),
            ("signed hex digits", "{\"a\\u+041\":{}}"),
            ("unknown escape", "{\"a\\q\":{}}"),
            ("raw control character", "{\"a\u{01}\":{}}"),
            ("bad true", tensor("[1]", extra: ",\"z\":txyz")),
            ("bad false", tensor("[1]", extra: ",\"z\":fxxxx")),
            ("bad null", tensor("[1]", extra: ",\"z\":nope")),
            ("truncated literal", "{\"z\":tr"),
            ("plus sign", tensor("[1]", "[+0,4]")),
            ("leading zero", tensor("[1]", "[00,4]")),
            ("bare minus", tensor("[1]", extra: ",\"z\":-")),
            ("deep nesting", "{\"z\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"),
            ("negative dimension", tensor("[-1]", "[0,0]")),
            ("offsets past the data", tensor("[4]", "[0,16]")),
        ]
        for (what, header) in hostile {
            try Self.writeRaw(header: header, to: path)
            #expect(throws: NNError.self, "\(what)") { try SafeTensors.read(path) }
        }
        // A directory is not a safetensors file.
        #expect(throws: NNError.self) { try SafeTensors.read(dir.path) }
    }

    /// Step counts beyond 2^24 are not representable in Float; they must survive a checkpoint exactly.
    @Test func optimizerStepCountRoundTripsExactly() throws {
        let dir = try Self.scratchDirectory("steps")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("ckpt.safetensors").path
        let p = Parameter(name: "w", shape: [3])
        p.grad.fill(0.5)
        let big = (1 << 24) + 1
        for n in [0, 3, big, (1 << 40) + 12_345] {
            let adam = Adam(learningRate: 1e-2), sgd = SGD(learningRate: 0.1, momentum: 0.9)
            adam.step([p]); sgd.step([p])
            adam.stepCount = n; sgd.stepCount = n
            for opt in [adam, sgd] as [any Optimizer] {
                try Checkpoint.save(parameters: [p], optimizer: opt, to: path)
                let fresh: any Optimizer = opt is Adam ? Adam(learningRate: 1e-2) : SGD(learningRate: 0.1, momentum: 0.9)
                try Checkpoint.load(parameters: [p], optimizer: fresh, from: path)
                #expect(fresh.stepCount == n, "\(type(of: opt)) step \(n)")
            }
        }
        // Written through a temporary file that does not stay behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["ckpt.safetensors"])

        // Older checkpoints (Float `optimizer.step` only) still load.
        let m = Tensor(shape: [3]), v = Tensor(shape: [3])
        let step = try Tensor(shape: [1], values: [7])
        try SafeTensors.write([("w", p.value), ("optimizer.step", step), ("optimizer.exp_avg.w", m), ("optimizer.exp_avg_sq.w", v)], to: path)
        let old = Adam()
        try Checkpoint.load(parameters: [p], optimizer: old, from: path)
        #expect(old.stepCount == 7)
        // A corrupt exact count is an error, not a wrong resume.
        let bad = try Tensor(shape: [2], values: [0.5, 1])
        try SafeTensors.write([("w", p.value), ("optimizer.step", step), ("optimizer.step_exact", bad),
                               ("optimizer.exp_avg.w", m), ("optimizer.exp_avg_sq.w", v)], to: path)
        #expect(throws: NNError.self) { try Checkpoint.load(parameters: [p], optimizer: Adam(), from: path) }
    }
}
