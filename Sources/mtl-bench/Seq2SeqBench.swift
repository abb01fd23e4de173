import ArgumentParser
import Batching
import Foundation
import NN
import Training

/// `mtl-bench seq2seq`: the seq2seq task of the multi-task model (BiLSTM encoder, LSTM decoder
/// with Luong `general` attention and input feeding, Adam) against `../shared/bench/seq2seq_torch.py`
/// on CMUdict grapheme-to-phoneme, at the same sizes, data, split, batch, epochs and threads:
/// training examples/s, greedy and beam decoding examples/s, and the test metrics of both.
///
/// The data is read as the reference reads it (first pronunciation per word, variants and
/// comments dropped; characters in, space-separated phonemes out; CRC32 of the word mod 20 = 0
/// test, = 1 dev) so that the two train on the same examples; the model and the step are the
/// trainer's own (`MultiTaskModel`, `TrainingStep`).
struct Seq2SeqBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seq2seq",
        abstract: "Seq2seq training and decoding speed and quality against the PyTorch reference (CMUdict G2P).")

    @Option(help: "CMUdict's dict file (default: $MTL_CORPORA or ../shared/corpora, cmudict/cmudict.dict).") var data: String?
    @Option(help: "Use the first N words (0: all), as seq2seq_torch.py --limit.") var limit = 0
    @Option(help: "Training epochs.") var epochs = 1
    @Option(help: "Embedding size (source and target).") var emb = 64
    @Option(help: "Hidden size: the decoder's, and the BiLSTM encoder's output (each direction half).") var hid = 256
    @Option(help: "Batch size.") var batch = 64
    @Option(help: "Threads (BLAS) for both implementations.") var threads = 2
    @Option(help: "Beam size of the beam decoding run.") var beam = 5
    @Option(help: "Length normalisation α of beam scores (score / len^α).") var alpha: Float = 1
    @Option(name: .customLong("decode-limit"), help: "Decode the first N test words.") var decodeLimit = 2000
    @Option(name: .customLong("max-len"), help: "Tokens kept per side, as the reference's --max-len.") var maxLen = 64
    @Option(help: "Python with torch installed; when given, seq2seq_torch.py runs in the same run.") var torchPython: String?
    @Option(help: "Path of seq2seq_torch.py (default: ../shared/bench/seq2seq_torch.py).") var torchScript = "../shared/bench/seq2seq_torch.py"
    @Option(help: "Learning rate (Adam).") var lr: Float = 1e-3
    @Flag(name: .customLong("decode-with-targets"),
          help: "Decode from batches with targets, so the timed forward before decoding also runs the teacher-forced decoder (the loss an evaluation reports). Default: sources only, as the reference's decoding loop (no teacher-forced pass).")
    var decodeWithTargets = false

    func run() throws {
        TrainStepBench.reexecWithSkylakeXIfNeeded(nil)
        let path = data ?? ((ProcessInfo.processInfo.environment["MTL_CORPORA"] ?? "../shared/corpora") + "/cmudict/cmudict.dict")
        guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no CMUdict at \(path) (--data or $MTL_CORPORA)") }
        BLAS.setThreads(threads)
        let parts = try CMUdictSplit(path: path, limit: limit, maxLen: maxLen)
        FileHandle.standardError.write("pairs train/dev/test=\(parts.train.count)/\(parts.dev.count)/\(parts.test.count) src_vocab=\(parts.sourceVocab.count) tgt_vocab=\(parts.targetVocab.count)\n".data(using: .utf8)!)

        // The model: shared embedding + BiLSTM (hid/2 per direction) → attention decoder of hid.
        var spec = TaskSpec(name: "g2p", kind: .seq2seq, labels: parts.targetNames, tagScheme: nil, head: .decoder)
        spec.targetIDs = nil   // the batches below carry decoder ids already
        var config = ModelConfig(vocabularySize: parts.sourceVocab.count, padID: 0, tasks: [spec])
        config.embeddingSize = emb; config.hiddenSize = hid / 2; config.bidirectional = true; config.dropout = 0
        var d = DecoderConfig(); d.attention = "general"; d.inputFeeding = true; d.initFromEncoder = true
        d.embeddingSize = emb; d.beamSize = 1
        config.decoder = d
        let model = try MultiTaskModel(config: config)
        let adam = Adam(learningRate: lr)
        let step = TrainingStep(model: model, optimizer: adam, weighting: .equal, losses: [TaskLoss()], classWeights: [nil], clip: 0, seed: 0)

        var rates: [Double] = []
        var rng = SplitMix64(seed: 0)
        var k = 0
        for epoch in 0..<epochs {
            var order = Array(parts.train.indices)
            order.shuffle(using: &rng)
            var examples = 0, lossSum = 0.0, batches = 0
            let t0 = Clock.now()
            for i in stride(from: 0, to: order.count, by: batch) {
                let rows = order[i..<min(i + batch, order.count)].map { parts.train[$0] }
                let input = try ModelInput(batch: parts.batch(rows))
                k += 1
                let loss = try step(input, learningRate: lr, step: k)[0] ?? .nan
                lossSum += Double(loss); batches += 1; examples += rows.count
            }
            let dt = Clock.now() - t0
            rates.append(Double(examples) / dt)
            FileHandle.standardError.write("mtl epoch \(epoch): \(Int(Double(examples) / dt)) ex/s, mean loss \(String(format: "%.4f", lossSum / Double(max(batches, 1))))\n".data(using: .utf8)!)
            emit(["bench": "seq2seq", "impl": "mtl", "epoch": epoch, "train_examples_per_s": Int((Double(examples) / dt).rounded()),
                  "mean_loss": (lossSum / Double(max(batches, 1)) * 1e4).rounded() / 1e4])
        }

        // Decoding: greedy in batches of `batch`, then the beam.
        let test = Array(parts.test.prefix(decodeLimit))
        var results: [String: (rate: Double, metrics: SequenceMetrics)] = [:]
        for (name, k) in [("greedy", 1), ("beam", beam)] {
            var counts = SequenceMetricCounts()
            let t0 = Clock.now()
            for i in stride(from: 0, to: test.count, by: batch) {
                let rows = Array(test[i..<min(i + batch, test.count)])
                let b = parts.batch(rows, withTargets: decodeWithTargets)
                let input = try ModelInput(batch: b)
                let outputs = try model.forward(input, training: false, allHeads: true)
                guard let out = outputs[0] else { continue }
                let decoded = try model.predictedSequences(task: 0, out, beam: k)
                for (j, r) in input.encodedRows.enumerated() {
                    let hyp = decoded[j].first?.tokens.map { parts.targetNames[Int($0)] } ?? []
                    counts.add(hypothesis: hyp, reference: rows[r].targetTokens)
                }
            }
            let dt = Clock.now() - t0
            let m = counts.metrics
            results[name] = (Double(test.count) / dt, m)
            emit(["bench": "seq2seq", "impl": "mtl", "decode": name, "beam": k, "examples": test.count,
                  "examples_per_s": Int((Double(test.count) / dt).rounded()), "seq_error": r4(m.sequenceErrorRate),
                  "token_error": r4(m.tokenErrorRate), "bleu": r2(m.bleu), "chrf": r2(m.chrF)])
        }

        guard let python = torchPython else { return }
        var args = [torchScript, "--data", path, "--format", "cmudict", "--emb", "\(emb)", "--hid", "\(hid)", "--batch", "\(batch)",
                    "--epochs", "\(epochs)", "--threads", "\(threads)", "--beam", "\(beam)", "--alpha", "\(alpha)",
                    "--decode-limit", "\(decodeLimit)", "--max-len", "\(maxLen)", "--lr", "\(lr)"]
        if limit > 0 { args += ["--limit", "\(limit)"] }
        let output = try runProgram(python, args)
        FileHandle.standardError.write(output.data(using: .utf8)!)
        var torchTrain: [Double] = []
        var torchDecode: [String: [String: Double]] = [:]
        for line in output.split(separator: "\n") {
            if line.hasPrefix("epoch"), let v = Self.value(line, "train examples/s=") { torchTrain.append(v) }
            for name in ["greedy", "beam"] where line.hasPrefix("decode \(name)") {
                var f: [String: Double] = [:]
                for key in ["examples/s", "seq_error", "token_error", "BLEU", "chrF"] { f[key] = Self.value(line, key + "=") }
                torchDecode[name] = f
            }
        }
        for (e, v) in torchTrain.enumerated() {
            emit(["bench": "seq2seq", "impl": "torch", "epoch": e, "train_examples_per_s": Int(v.rounded())])
        }
        if !torchTrain.isEmpty {
            emit(["bench": "seq2seq", "ratio": "train", "mtl_over_torch": r2(median(rates) / median(torchTrain)),
                  "mtl_median": Int(median(rates).rounded()), "torch_median": Int(median(torchTrain).rounded())])
        }
        for name in ["greedy", "beam"] {
            guard let t = torchDecode[name], let mine = results[name] else { continue }
            var fields: [String: Any] = ["bench": "seq2seq", "impl": "torch", "decode": name]
            for (k, v) in t { fields[k == "examples/s" ? "examples_per_s" : k.lowercased()] = v }
            emit(fields)
            if let rate = t["examples/s"], rate > 0 {
                emit(["bench": "seq2seq", "ratio": "decode-\(name)", "mtl_over_torch": r2(mine.rate / rate),
                      "seq_error_mtl": r4(mine.metrics.sequenceErrorRate), "seq_error_torch": t["seq_error"] ?? -1,
                      "seq_error_difference_points": r2(100 * (mine.metrics.sequenceErrorRate - (t["seq_error"] ?? 0)))])
            }
        }
    }

    static func value(_ line: Substring, _ key: String) -> Double? {
        guard let r = line.range(of: key) else { return nil }
        return Double(line[r.upperBound...].prefix { "0123456789.-e".contains($0) })
    }

    func r2(_ x: Double) -> Double { (x * 100).rounded() / 100 }
    func r4(_ x: Double) -> Double { (x * 10000).rounded() / 10000 }
}

/// CMUdict read and split as `seq2seq_torch.py` does, with its vocabularies (first-seen order
/// over the training part, `<pad> <unk> <bos> <eos>` first).
struct CMUdictSplit {
    struct Pair { var source: [Int32]; var target: [Int32]; var targetTokens: [String] }
    var train: [Pair] = [], dev: [Pair] = [], test: [Pair] = []
    var sourceVocab: [String: Int32] = ["<pad>": 0, "<unk>": 1, "<bos>": 2, "<eos>": 3]
    var targetVocab: [String: Int32] = ["<pad>": 0, "<unk>": 1, "<bos>": 2, "<eos>": 3]
    var targetNames = TaskSpec.targetSpecials

    init(path: String, limit: Int, maxLen: Int) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var raw: [(String, [String], [String])] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard !content.isEmpty else { continue }
            let word: Substring, phones: Substring
            if let space = content.firstIndex(of: " ") {
                word = content[..<space]; phones = content[content.index(after: space)...]
            } else {
                word = Substring(content); phones = ""
            }
            if word.hasSuffix(")") && word.contains("(") { continue }
            raw.append((String(word), word.map(String.init), phones.split(separator: " ").map(String.init)))
            if limit > 0 && raw.count == limit { break }
        }
        var parts: [[(String, [String], [String])]] = [[], [], []]
        for r in raw {
            let c = CRC32.checksum(Array(r.0.utf8)) % 20
            parts[c == 0 ? 2 : c == 1 ? 1 : 0].append((r.0, Array(r.1.prefix(maxLen)), Array(r.2.prefix(maxLen))))
        }
        for (_, s, t) in parts[0] {
            for w in s where sourceVocab[w] == nil { sourceVocab[w] = Int32(sourceVocab.count) }
            for w in t where targetVocab[w] == nil { targetVocab[w] = Int32(targetVocab.count); targetNames.append(w) }
        }
        func pair(_ p: (String, [String], [String])) -> Pair {
            Pair(source: p.1.map { sourceVocab[$0] ?? 1 }, target: p.2.map { targetVocab[$0] ?? 1 }, targetTokens: p.2)
        }
        train = parts[0].map(pair); dev = parts[1].map(pair); test = parts[2].map(pair)
    }

    /// A batch of pairs: source ids padded with 0, the decoder ids as the seq2seq targets.
    /// Without targets (`withTargets` false) every row's target is masked out: the model then
    /// decodes one masked step per row in its forward instead of the teacher-forced target.
    func batch(_ rows: [Pair], withTargets: Bool = true) -> Batch {
        let sources = rows.map { $0.source.isEmpty ? [Int32(1)] : $0.source }
        let T = sources.map(\.count).max() ?? 1
        var ids = [Int32](repeating: 0, count: rows.count * T)
        for (r, s) in sources.enumerated() { for (k, v) in s.enumerated() { ids[r * T + k] = v } }
        var target = TaskTargets(task: "g2p", kind: .seq2seq, mask: rows.map { withTargets && !$0.target.isEmpty }, labelCount: targetNames.count)
        target.sequences = rows.map(\.target)
        return Batch(size: rows.count, paddedLength: T, tokenIDs: ids, lengths: sources.map { Int32($0.count) },
                     exampleIDs: [Int64](repeating: 0, count: rows.count), drawnFor: [Int32](repeating: 0, count: rows.count), targets: [target])
    }
}

/// CRC-32 (IEEE 802.3, zlib's `crc32`), for the reference script's split; Foundation has none.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
