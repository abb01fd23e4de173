import Foundation
import NN
import Store
#if canImport(Glibc)
import Glibc
#endif

/// A run's folder, `runs/NAME/`: checkpoints, the JSON-lines log, per-evaluation metrics and
/// the checkpoint index. Its layout is a public interface (README, "The run folder").
///
/// A checkpoint is complete only once its folder has been renamed into place: files are written
/// into `.checkpoint-STEP.partial-PID` beside the target, each `fsync`ed, the manifest (SHA-256
/// and size of every file) last, the folder `fsync`ed, then renamed to `checkpoint-STEP` and
/// the run folder `fsync`ed. A crash leaves either the whole checkpoint or a `.partial` folder
/// that nothing reads (and the next writer removes).
public struct RunFolder: Sendable {
    public let path: String
    /// Called with each file's name before it is written (tests inject write failures here).
    var beforeWrite: (@Sendable (String) throws -> Void)?

    public static let manifestName = "MANIFEST.json"
    public static let indexName = "checkpoints.json"

    public init(path: String) { self.path = path }

    public var logPath: String { path + "/log.jsonl" }
    public func checkpointPath(step: Int) -> String { path + "/" + Self.checkpointName(step: step) }
    public func metricsPath(step: Int) -> String { path + "/metrics-\(step).json" }
    public static func checkpointName(step: Int) -> String { "checkpoint-\(step)" }

    public var exists: Bool { FileManager.default.fileExists(atPath: path) }

    public func create() throws(TrainingError) {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw TrainingError(.io, "cannot create the run folder: \(error.localizedDescription)", path: path)
        }
    }

    // MARK: - Writing a checkpoint

    /// One file of a checkpoint: bytes, or tensors written as safetensors.
    public enum CheckpointFile {
        case data(Data)
        case tensors([(String, Tensor)], metadata: [String: String])
    }

    /// Writes `files` as `checkpoint-STEP` whole or not at all. On failure the partial folder is
    /// removed and every earlier checkpoint is untouched.
    public func writeCheckpoint(step: Int, files: [(name: String, file: CheckpointFile)]) throws(TrainingError) {
        try writeFolder(name: Self.checkpointName(step: step), step: step, files: files, replace: true)
    }

    /// Writes `files` as the folder `name` inside this one, whole or not at all (see the type's
    /// comment); the manifest records `step` (the checkpoint's, or the exported one's). `replace`: a folder already there is moved aside (a checkpoint that failed
    /// verification); otherwise it is an error.
    func writeFolder(name: String, step: Int, files: [(name: String, file: CheckpointFile)], replace: Bool) throws(TrainingError) {
        let target = path + "/" + name
        let partial = path + "/.\(name).partial-\(getpid())"
        if !replace && FileManager.default.fileExists(atPath: target) {
            throw TrainingError(.io, "\(name) already exists: choose another output or remove it", path: path)
        }
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        removePartials()
        try? FileManager.default.removeItem(atPath: partial)
        do {
            try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: false)
        } catch {
            throw TrainingError(.io, "cannot create \(partial): \(error.localizedDescription)", path: path)
        }
        do {
            var manifest: [String: ManifestEntry] = [:]
            for (fileName, file) in files {
                try beforeWrite?(fileName)
                let filePath = partial + "/" + fileName
                switch file {
                case .data(let d): try Self.writeDurably(d, to: filePath)
                case let .tensors(t, metadata): try SafeTensors.write(t, metadata: metadata, to: filePath)
                }
                manifest[fileName] = ManifestEntry(bytes: try Self.size(of: filePath), sha256: try SHA256.hexDigest(ofFile: filePath))
            }
            try beforeWrite?(Self.manifestName)
            try Self.writeDurably(try Self.json(Manifest(step: step, files: manifest)), to: partial + "/" + Self.manifestName)
            try Self.syncDirectory(partial)
            if FileManager.default.fileExists(atPath: target) {
                // Only a checkpoint that failed verification can be in the way (a resume starts after
                // the newest good one): keep it aside for inspection rather than delete evidence.
                var aside = target + ".rejected-\(Int(Date().timeIntervalSince1970))-\(getpid())"
                var n = 1
                while FileManager.default.fileExists(atPath: aside) { aside = target + ".rejected-\(Int(Date().timeIntervalSince1970))-\(getpid())-\(n)"; n += 1 }
                try FileManager.default.moveItem(atPath: target, toPath: aside)
            }
            guard rename(partial, target) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            try Self.syncDirectory(path)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw TrainingError(.io, "could not write \(name)\(replace ? " (earlier checkpoints are intact)" : ""): \(Self.describe(error))", path: path)
        }
    }

    /// Removes `.partial` folders that dead writers left behind.
    func removePartials() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return }
        for n in names where n.hasPrefix(".checkpoint-") && n.contains(".partial-") {
            if let pid = Int32(n.split(separator: "-").last ?? ""), pid != getpid(), kill(pid, 0) == 0 { continue }
            try? FileManager.default.removeItem(atPath: path + "/" + n)
        }
    }

    // MARK: - Reading checkpoints

    public struct ManifestEntry: Codable, Sendable, Equatable { public var bytes: Int; public var sha256: String }
    public struct Manifest: Codable, Sendable, Equatable { public var step: Int; public var files: [String: ManifestEntry] }

    /// The steps of every `checkpoint-STEP` folder, newest first (verified or not).
    public func checkpointSteps() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.compactMap { n -> Int? in
            guard n.hasPrefix("checkpoint-") else { return nil }
            return Int(n.dropFirst("checkpoint-".count))
        }.sorted(by: >)
    }

    /// Checks a checkpoint against its manifest: every file present, of the recorded size and
    /// SHA-256. Throws a message naming the first problem.
    public func verify(step: Int) throws(TrainingError) -> Manifest {
        try Self.verifyFolder(checkpointPath(step: step))
    }

    /// Checks any folder written by `writeFolder` (a checkpoint, an exported model) against its manifest.
    public static func verifyFolder(_ dir: String) throws(TrainingError) -> Manifest {
        let name = (dir as NSString).lastPathComponent, parent = (dir as NSString).deletingLastPathComponent
        guard let data = FileManager.default.contents(atPath: dir + "/" + Self.manifestName) else {
            throw TrainingError(.checkpoint, "\(name): no \(Self.manifestName) (incomplete checkpoint)", path: parent)
        }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw TrainingError(.checkpoint, "\(name): \(Self.manifestName) is not valid JSON", path: parent)
        }
        for file in manifest.files.keys.sorted() {
            let entry = manifest.files[file]!, filePath = dir + "/" + file
            guard let size = try? Self.size(of: filePath) else {
                throw TrainingError(.checkpoint, "\(name): \(file) is missing", path: parent)
            }
            guard size == entry.bytes else {
                throw TrainingError(.checkpoint, "\(name): \(file) has \(size) bytes, the manifest says \(entry.bytes) (truncated or changed)", path: parent)
            }
            guard let digest = try? SHA256.hexDigest(ofFile: filePath), digest == entry.sha256 else {
                throw TrainingError(.checkpoint, "\(name): \(file) does not match its SHA-256 in the manifest (corrupted)", path: parent)
            }
        }
        return manifest
    }

    /// The newest checkpoint that verifies, and a message for every newer one that does not.
    public func newestVerifiedCheckpoint() -> (step: Int?, skipped: [String]) {
        var skipped: [String] = []
        for step in checkpointSteps() {
            do { _ = try verify(step: step); return (step, skipped) } catch { skipped.append(error.description) }
        }
        return (nil, skipped)
    }

    /// Deletes checkpoint folders (after a new one is in place).
    func delete(step: Int) {
        try? FileManager.default.removeItem(atPath: checkpointPath(step: step))
    }

    // MARK: - Small files

    /// Writes `data` to `path` through a temporary file that is `fsync`ed and renamed.
    public static func writeDurably(_ data: Data, to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var ok = true
        data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; ok = false; return }
                off += n
            }
        }
        let savedErrno = errno
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok else { unlink(tmp); throw POSIXError(POSIXErrorCode(rawValue: savedErrno == 0 ? EIO : savedErrno) ?? .EIO) }
        guard rename(tmp, path) == 0 else { unlink(tmp); throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    static func syncDirectory(_ dir: String) throws {
        let fd = open(dir, O_RDONLY)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        guard fsync(fd) == 0 || errno == EINVAL else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    static func size(of path: String) throws -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ENOENT) }
        return Int(st.st_size)
    }

    static func json<T: Encodable>(_ value: T) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try e.encode(value)
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? POSIXError { return String(cString: strerror(e.code.rawValue)) }
        if let e = error as? NNError { return e.description }
        if let e = error as? TrainingError { return e.message }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return ns.localizedDescription
    }
}
