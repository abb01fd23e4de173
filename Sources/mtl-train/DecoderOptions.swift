import ArgumentParser
import Foundation
import Training

/// The attention decoder's options (seq2seq tasks), one declaration for training and
/// cross-validation. Optional so that a resumed run keeps what it recorded.
struct DecoderOptions: ParsableArguments {
    @Option(name: .customLong("decoder-attention"), help: "Seq2seq: attention of the decoder: dot, general (Luong) or bahdanau (default general).")
    var attention: String?
    @Option(name: .customLong("decoder-hidden"), help: "Seq2seq: the decoder's hidden size (default: the encoder's output width, 2 × --hidden when bidirectional).")
    var hidden: Int?
    @Option(name: .customLong("decoder-emb"), help: "Seq2seq: target embedding size (default --emb).")
    var emb: Int?
    @Option(name: .customLong("decoder-attention-size"), help: "Seq2seq: width of bahdanau attention's score layer (default 64).")
    var attentionSize: Int?
    @Option(name: .customLong("decoder-init"), help: "Seq2seq: the decoder's initial state: encoder (its final state of each direction) or zero (default encoder).")
    var initialState: String?
    @Option(name: .customLong("input-feeding"), help: "Seq2seq: feed the previous attentional vector into each step: true or false (default true).")
    var inputFeeding: Bool?
    @Flag(name: .customLong("tie-target-embeddings"), help: "Seq2seq: the output projection shares the target embedding table (needs --decoder-emb = the decoder's hidden size, set for you).")
    var tie = false
    @Option(name: .customLong("eval-beam"), help: "Seq2seq: beam size of the decoding that evaluation scores (1 = greedy; default 1); also predict's default.")
    var beam: Int?
    @Option(name: .customLong("length-penalty"), help: "Seq2seq: beam length normalisation: none, average(α) = score/len^α or gnmt(α) = score/((5+len)/6)^α (default average(1)).")
    var lengthPenalty: String?
    @Option(name: .customLong("max-decode-length"), help: "Seq2seq: decoding stops after RATIO × source tokens + OFFSET, given as RATIO,OFFSET (default 2,10).")
    var maxDecodeLength: String?

    /// Applies the options given to `config` (a fresh run's defaults, or a resumed run's record).
    func apply(to m: inout ModelConfig) throws {
        var d = m.decoder ?? DecoderConfig()
        if let attention { d.attention = attention }
        if let hidden { d.hiddenSize = hidden }
        if let emb { d.embeddingSize = emb }
        if let attentionSize { d.attentionSize = attentionSize }
        if let initialState {
            switch initialState {
            case "encoder": d.initFromEncoder = true
            case "zero": d.initFromEncoder = false
            default: throw ValidationError("--decoder-init must be encoder or zero (got '\(initialState)')")
            }
        }
        if let inputFeeding { d.inputFeeding = inputFeeding }
        if tie { d.tieEmbeddings = true }
        if let beam { d.beamSize = beam }
        if let lengthPenalty { (d.lengthPenalty, d.lengthPenaltyAlpha) = try Self.parsePenalty(lengthPenalty) }
        if let maxDecodeLength {
            let parts = maxDecodeLength.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let r = Float(parts[0]), let o = Int(parts[1]) else {
                throw ValidationError("--max-decode-length must be RATIO,OFFSET, e.g. 2,10 (got '\(maxDecodeLength)')")
            }
            d.maxLengthRatio = r; d.maxLengthOffset = o
        }
        if m.decoder != nil || d != DecoderConfig() { m.decoder = d }
    }

    /// `none`, `average`, `average(0.6)`, `gnmt(0.6)` → (kind, α).
    static func parsePenalty(_ s: String) throws -> (String, Float) {
        let name = s.prefix { $0 != "(" }.lowercased()
        guard DecoderConfig.lengthPenalties.contains(name) else {
            throw ValidationError("--length-penalty must be none, average(α) or gnmt(α) (got '\(s)')")
        }
        guard let open = s.firstIndex(of: "(") else { return (name, 1) }
        guard s.hasSuffix(")"), let a = Float(s[s.index(after: open)..<s.index(before: s.endIndex)]), a >= 0 else {
            throw ValidationError("--length-penalty \(s): α must be a non-negative number, as in gnmt(0.6)")
        }
        return (name, a)
    }
}
