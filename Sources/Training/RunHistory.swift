import Batching
import Foundation

// What the run report reads from a run folder's log.jsonl, condensed as the trainer writes it
// (so an evaluation does not re-read the log), and the loader's realized shares.

// MARK: - The log, condensed

/// What `log.jsonl` says, kept small enough to hold for a run of any length: step series are
/// averaged into at most `2 × maxBuckets` buckets of equal width (the width doubles as the run
/// grows), evaluations are kept whole. The trainer feeds it every line it logs, so the report
/// written at each evaluation does not re-read the log.
public struct RunHistory: Sendable {
    public static let maxBuckets = 400

    /// One value per step, averaged into buckets of `width` consecutive steps.
    public struct Series: Sendable, Equatable {
        public private(set) var width = 1
        struct Bucket: Sendable, Equatable {
            var index: Int
            var stepSum: Double
            var sum: Double
            var count: Int
        }
        var buckets: [Bucket] = []
        public private(set) var last: (step: Int, value: Double)?

        public static func == (a: Series, b: Series) -> Bool { a.width == b.width && a.buckets == b.buckets }

        mutating func add(step: Int, value: Double) {
            guard value.isFinite else { return }
            last = (step, value)
            let i = max(step - 1, 0) / width
            if let k = buckets.lastIndex(where: { $0.index <= i }), buckets[k].index == i {
                buckets[k].stepSum += Double(step); buckets[k].sum += value; buckets[k].count += 1
            } else {
                let at = buckets.firstIndex { $0.index > i } ?? buckets.endIndex
                buckets.insert(Bucket(index: i, stepSum: Double(step), sum: value, count: 1), at: at)
            }
            if buckets.count > 2 * RunHistory.maxBuckets { compact() }
        }

        mutating func compact() {
            width *= 2
            var merged: [Bucket] = []
            for b in buckets {
                let i = b.index / 2
                if let l = merged.last, l.index == i {
                    merged[merged.count - 1].stepSum += b.stepSum; merged[merged.count - 1].sum += b.sum; merged[merged.count - 1].count += b.count
                } else {
                    merged.append(Bucket(index: i, stepSum: b.stepSum, sum: b.sum, count: b.count))
                }
            }
            buckets = merged
        }

        /// (mean step, mean value) per bucket; with width 1 the logged values themselves.
        public var points: [(step: Double, value: Double)] {
            buckets.map { ($0.stepSum / Double($0.count), $0.sum / Double($0.count)) }
        }
        public var isEmpty: Bool { buckets.isEmpty }
    }

    /// One `eval` line.
    public struct EvalPoint: Sendable, Equatable {
        public var step: Int
        public var part: String
        public var aggregate: Double
        /// Whether the evaluation improved on every earlier one (the run's best at that time).
        public var best: Bool
        public var metrics: [String: [String: Double]]
    }

    /// The `end` line.
    public struct End: Sendable, Equatable {
        public var step: Int
        public var reason: String
        public var seconds: Double?
        public var examplesPerSecond: Double?
        public var dataWaitShare: Double?
        public var bestStep: Int?
    }

    public var configuration: RunConfiguration?
    public var parameters: Int?
    public var started: String?
    public var lastTime: String?
    /// Per task: its loss at each step that carried it.
    public var losses: [String: Series] = [:]
    /// Σ αᵢ Lᵢ of each step over the tasks it carried (αᵢ from static task weights, else 1).
    public var total = Series()
    public var learningRate = Series()
    public var evaluations: [EvalPoint] = []
    /// The newest `eval` line's `sampling` field.
    public var sampling: SamplingReport?
    public var end: End?
    public var resumes: [Int] = []
    public var earlyStop: Int?
    public var lastStep = 0
    public var lastEpoch = 0
    /// The first step of each epoch after the first.
    public var epochStarts: [(step: Int, epoch: Int)] = []

    public init() {}

    /// Reads a whole `log.jsonl` (lines that are not JSON objects, such as a torn last line, are skipped).
    public init(logAt path: String) {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        add(lines: data)
    }

    /// Adds every complete line of `data`.
    public mutating func add(lines data: Data) {
        var start = data.startIndex
        while start < data.endIndex {
            let end = data[start...].firstIndex(of: 0x0A) ?? data.endIndex
            if end > start { add(line: data[start..<end]) }
            start = end < data.endIndex ? end + 1 : end
        }
    }

    /// Adds one log line (JSON text). Read with `JSONDecoder`, which reads numbers back exactly
    /// (`JSONSerialization` on Linux can miss the last digit), so a report made from the log
    /// shows the values the trainer's own report showed.
    public mutating func add(line: Data) {
        guard let value = try? JSONDecoder().decode(LogValue.self, from: line), case .object = value,
              let object = value.any as? [String: Any], let type = object["type"] as? String else { return }
        add(type: type, object)
    }

    mutating func add(type: String, _ o: [String: Any]) {
        if let t = o["time"] as? String { lastTime = t }
        switch type {
        case "start":
            started = o["time"] as? String
            parameters = Self.int(o["parameters"])
            if let c = o["config"], let d = try? JSONSerialization.data(withJSONObject: c) {
                configuration = try? JSONDecoder().decode(RunConfiguration.self, from: d)
            }
        case "step":
            guard let step = Self.int(o["step"]) else { return }
            let epoch = Self.int(o["epoch"]) ?? lastEpoch
            if epoch > lastEpoch && lastStep > 0 { epochStarts.append((step, epoch)) }
            lastStep = step; lastEpoch = epoch
            var sum = 0.0, any = false
            let alphas = staticWeights
            for (task, v) in (o["losses"] as? [String: Any]) ?? [:] {
                guard let x = Self.double(v) else { continue }
                losses[task, default: Series()].add(step: step, value: x)
                sum += (alphas[task] ?? 1) * x; any = true
            }
            if any { total.add(step: step, value: sum) }
            if let lr = Self.double(o["lr"]) { learningRate.add(step: step, value: lr) }
        case "eval":
            guard let step = Self.int(o["step"]) else { return }
            var metrics: [String: [String: Double]] = [:]
            for (task, m) in (o["metrics"] as? [String: Any]) ?? [:] {
                var row: [String: Double] = [:]
                for (k, v) in (m as? [String: Any]) ?? [:] { if let x = Self.double(v) { row[k] = x } }
                metrics[task] = row
            }
            if let sp = o["sampling"], let d = try? JSONSerialization.data(withJSONObject: sp) {
                sampling = try? JSONDecoder().decode(SamplingReport.self, from: d)
            }
            evaluations.removeAll { $0.step >= step }
            evaluations.append(EvalPoint(step: step, part: o["part"] as? String ?? "dev", aggregate: Self.double(o["aggregate"]) ?? 0,
                                         best: o["best"] as? Bool ?? false, metrics: metrics))
        case "end":
            end = End(step: Self.int(o["step"]) ?? lastStep, reason: o["reason"] as? String ?? "?", seconds: Self.double(o["seconds"]),
                      examplesPerSecond: Self.double(o["examples_per_s"]), dataWaitShare: Self.double(o["data_wait_share"]),
                      bestStep: Self.int(o["best_step"]))
        case "resume":
            if let s = Self.int(o["step"]) { resumes.append(s) }
            end = nil
        case "early_stop":
            earlyStop = Self.int(o["step"])
        default:
            break
        }
    }

    var staticWeights: [String: Double] {
        if case .weights(let w)? = configuration?.training.taskWeights { return w.mapValues(Double.init) }
        return [:]
    }

    static func double(_ v: Any?) -> Double? {
        switch v {
        case let d as Double: return d
        case let i as Int: return Double(i)
        case let n as NSNumber: return n.doubleValue
        default: return nil
        }
    }

    static func int(_ v: Any?) -> Int? {
        switch v {
        case let i as Int: return i
        case let d as Double: return d.isFinite ? Int(d) : nil
        case let n as NSNumber: return n.intValue
        default: return nil
        }
    }
}

/// Any JSON value, decoded exactly (numbers as Double).
enum LogValue: Decodable {
    case null, bool(Bool), number(Double), string(String), array([LogValue]), object([String: LogValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([LogValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: LogValue].self)) }
    }

    /// As JSONSerialization's objects: dictionaries, arrays, Double, Bool, String, NSNull.
    var any: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .number(let d): return d
        case .string(let s): return s
        case .array(let a): return a.map(\.any)
        case .object(let o): return o.mapValues(\.any)
        }
    }
}

// MARK: - Realized shares (the `eval` log line's `sampling` field)

/// The loader's realized task shares (of batches, or of examples in mixed batches) and each
/// classification task's class shares (of the examples drawn for it) since the start of the run,
/// against their targets: what `mtl-prep sample --report` prints, for the batches the run trained
/// on. Logged as the `sampling` field of each `eval` line.
public struct SamplingReport: Sendable, Codable, Equatable {
    public struct ClassShare: Sendable, Codable, Equatable {
        public var label: String
        public var trainingExamples: Int64
        public var targetShare: Double
        public var realizedShare: Double
        public var drawn: Int64
        enum CodingKeys: String, CodingKey {
            case label, drawn
            case trainingExamples = "training_examples", targetShare = "target_share", realizedShare = "realized_share"
        }
    }
    public struct TaskShare: Sendable, Codable, Equatable {
        public var task: String
        public var kind: String
        public var trainingExamples: Int64
        public var targetShare: Double
        public var realizedShare: Double
        /// Batches (homogeneous) or examples (mixed) drawn for the task.
        public var drawn: Int64
        /// Examples drawn for the task.
        public var examples: Int64
        public var classes: [ClassShare]?
        enum CodingKeys: String, CodingKey {
            case task, kind, drawn, examples, classes
            case trainingExamples = "training_examples", targetShare = "target_share", realizedShare = "realized_share"
        }
    }
    public var step: Int
    /// `batches` (homogeneous batches) or `examples` (mixed).
    public var shareOf: String
    public var strategy: String
    public var classBalancing: String
    public var tasks: [TaskShare]
    enum CodingKeys: String, CodingKey {
        case step, strategy, tasks
        case shareOf = "share_of", classBalancing = "class_balancing"
    }
}
