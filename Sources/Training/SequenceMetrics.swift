import Foundation

// Sequence-to-sequence metrics: exact match (sequence accuracy / error rate, the "WER" of
// grapheme-to-phoneme papers), token error rate (Σ edit distance / Σ reference length: PER for
// phonemes, CER over characters), and corpus BLEU and chrF computed exactly as sacrebleu's
// `corpus_bleu(hyps, [refs])` and `corpus_chrf(hyps, [refs])` defaults.
//
// Verified against sacrebleu 2.6.0 (python/check_sacrebleu.py writes the expected numbers of
// Tests/TrainingTests/SequenceMetricsTests.swift). The parts of sacrebleu reproduced here:
// - text is a sequence of Unicode code points, as a Python `str`: n-grams and tokens compare
//   code point by code point (Swift's `==` on String would equate canonically equivalent text,
//   Python does not);
// - "whitespace" is Python's `str.split()` / `str.strip()` set (`str.isspace`), which includes
//   U+001C…U+001F, U+0085, U+00A0, U+2000…U+200A, U+202F, U+3000, but not U+200B or U+FEFF;
// - the 13a tokenizer (mteval-v13a: tokenizer_13a.py + tokenizer_re.py) and the zh tokenizer
//   (tokenizer_zh.py), including its range table quirk: the entries written '\u20000' and
//   '\u2f800' are two-character Python strings, so the "Extension B" entry really covers
//   U+2001…U+2A6D (general punctuation such as — “ ” …, symbols, arrows) and the supplementary
//   planes are not split;
// - BLEU: one reference, case-sensitive, smoothing `exp` (mteval's: the k-th order with no match
//   gets precision 1 / (2^k · total)), no effective order (an order with no n-grams at all, e.g.
//   no hypothesis of 4 tokens, makes the score 0), brevity penalty exp(1 − r/c), 0 when c is 0;
// - chrF: character n-grams 1…6 with whitespace removed, no word n-grams, β = 2, statistics
//   summed over the corpus, then precision and recall averaged over the orders where both the
//   hypothesis and reference totals are positive ("eff:yes"), then F-β of the averages. Per
//   segment an order whose reference has no n-gram counts no hypothesis n-grams either.
//
// Every count is an integer, so `merge` of shards gives the same numbers as the whole corpus.
// Ratios with a zero denominator are 0, as in Metrics.swift (sacrebleu divides only where it
// guards; Python's bench script would raise on an empty test set).

// MARK: - Edit distance

public enum EditDistance {
    /// Levenshtein distance (insertions, deletions and substitutions cost 1) between two sequences.
    public static func levenshtein<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        levenshtein(a, b, by: ==)
    }

    /// Levenshtein distance with a custom element equality.
    public static func levenshtein<T>(_ a: [T], _ b: [T], by equal: (T, T) -> Bool) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var diagonal = row[0]
            row[0] = i
            for j in 1...b.count {
                let substitution = diagonal + (equal(a[i - 1], b[j - 1]) ? 0 : 1)
                diagonal = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, substitution)
            }
        }
        return row[b.count]
    }

    /// Levenshtein distance between token strings compared code point by code point (as Python compares `str`).
    public static func levenshtein(tokens a: [String], _ b: [String]) -> Int {
        levenshtein(a, b, by: SacreText.sameCodePoints)
    }

    /// Fraction of hypotheses not exactly equal to their reference (1 − sequence accuracy; the
    /// "WER" of grapheme-to-phoneme papers). 0 for no pairs.
    public static func sequenceErrorRate<T: Equatable>(hypotheses: [[T]], references: [[T]]) -> Double {
        precondition(hypotheses.count == references.count, "\(hypotheses.count) hypotheses, \(references.count) references")
        return MetricMath.ratio(zip(hypotheses, references).filter { $0 != $1 }.count, references.count)
    }

    /// Σ edit distance / Σ reference length (PER over phonemes, CER over characters). 0 when the
    /// references have no tokens at all.
    public static func tokenErrorRate<T: Equatable>(hypotheses: [[T]], references: [[T]]) -> Double {
        precondition(hypotheses.count == references.count, "\(hypotheses.count) hypotheses, \(references.count) references")
        let distance = zip(hypotheses, references).map { levenshtein($0, $1) }.reduce(0, +)
        return MetricMath.ratio(distance, references.map(\.count).reduce(0, +))
    }
}

// MARK: - Text as sacrebleu sees it

/// Python `str` semantics over code points (UInt32, as `ord`).
enum SacreText {
    static func codePoints(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }

    static func string(_ points: some Sequence<UInt32>) -> String {
        var s = String.UnicodeScalarView()
        for p in points { s.append(Unicode.Scalar(p)!) }
        return String(s)
    }

    static func sameCodePoints(_ a: String, _ b: String) -> Bool { a.unicodeScalars.elementsEqual(b.unicodeScalars) }

    /// Python's `str.isspace()`.
    static func isSpace(_ c: UInt32) -> Bool {
        switch c {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    /// Python's `str.split()`: runs of whitespace separate, no empty fields.
    static func split(_ s: [UInt32]) -> [[UInt32]] {
        var out: [[UInt32]] = [], current: [UInt32] = []
        for c in s {
            if isSpace(c) {
                if !current.isEmpty { out.append(current); current = [] }
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    static func rstrip(_ s: [UInt32]) -> ArraySlice<UInt32> {
        var end = s.endIndex
        while end > s.startIndex, isSpace(s[end - 1]) { end -= 1 }
        return s[s.startIndex..<end]
    }

    static func strip(_ s: [UInt32]) -> [UInt32] {
        let right = rstrip(s)
        guard let start = right.firstIndex(where: { !isSpace($0) }) else { return [] }
        return Array(right[start...])
    }

    /// Python's `str.replace(old, new)`: non-overlapping, left to right.
    static func replace(_ s: [UInt32], _ old: String, _ new: String) -> [UInt32] {
        let o = codePoints(old), n = codePoints(new)
        guard !o.isEmpty, s.count >= o.count else { return s }
        var out: [UInt32] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            if i + o.count <= s.count, s[i] == o[0], s[i..<(i + o.count)].elementsEqual(o) {
                out += n
                i += o.count
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }
}

// MARK: - Tokenizers

/// The sacrebleu tokenizers reproduced here (`tokenize=` of `corpus_bleu`).
public enum BLEUTokenizer: String, Sendable, Codable, CaseIterable {
    /// mteval-v13a, sacrebleu's default.
    case thirteenA = "13a"
    /// Chinese: every Chinese character (in sacrebleu's ranges) is a token, the rest goes through 13a's regexes.
    case zh

    /// The tokenized line, tokens separated by single spaces (sacrebleu's `tokenizer(line)`).
    public func tokenize(_ line: String) -> String {
        SacreText.string(Array(tokens(SacreText.codePoints(line)).joined(separator: [0x20])))
    }

    /// Tokens of a line as BLEU counts them: `tokenizer(line.rstrip()).split()`.
    func tokens(_ line: [UInt32]) -> [[UInt32]] {
        let trimmed = Array(SacreText.rstrip(line))
        switch self {
        case .thirteenA: return SacreText.split(Self.regexp(Self.languageIndependent13a(trimmed)))
        case .zh: return SacreText.split(Self.regexp(Self.splitChinese(SacreText.strip(trimmed))))
        }
    }

    /// tokenizer_13a.py before its regexes, with the spaces it adds around the line.
    static func languageIndependent13a(_ line: [UInt32]) -> [UInt32] {
        var s = SacreText.replace(line, "<skipped>", "")
        s = SacreText.replace(s, "-\n", "")
        s = SacreText.replace(s, "\n", " ")
        if s.contains(0x26) {  // '&'
            s = SacreText.replace(s, "&quot;", "\"")
            s = SacreText.replace(s, "&amp;", "&")
            s = SacreText.replace(s, "&lt;", "<")
            s = SacreText.replace(s, "&gt;", ">")
        }
        return [0x20] + s + [0x20]
    }

    private static func isDigit(_ c: UInt32) -> Bool { c >= 0x30 && c <= 0x39 }
    private static func isPeriodOrComma(_ c: UInt32) -> Bool { c == 0x2E || c == 0x2C }

    /// `[\{-\~\[-\` -\&\(-\+\:-\@\/]`: ASCII punctuation and space except ' , - .
    private static func isSplitPunctuation(_ c: UInt32) -> Bool {
        switch c {
        case 0x7B...0x7E, 0x5B...0x60, 0x20...0x26, 0x28...0x2B, 0x3A...0x40, 0x2F: true
        default: false
        }
    }

    /// `re.sub` of a two-character pattern `(a)(b)`: leftmost, non-overlapping, scanning on after each match.
    private static func substitutePairs(_ s: [UInt32], first: (UInt32) -> Bool, second: (UInt32) -> Bool,
                                        _ replacement: (UInt32, UInt32) -> [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(s.count + s.count / 4)
        var i = 0
        while i < s.count {
            if i + 1 < s.count, first(s[i]), second(s[i + 1]) {
                out += replacement(s[i], s[i + 1])
                i += 2
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }

    /// tokenizer_re.py's four substitutions (the final whitespace normalisation is the caller's split).
    static func regexp(_ line: [UInt32]) -> [UInt32] {
        let space: UInt32 = 0x20
        var s: [UInt32] = []
        s.reserveCapacity(line.count * 2)
        for c in line {
            if isSplitPunctuation(c) { s += [space, c, space] } else { s.append(c) }
        }
        // period and comma unless preceded by a digit: ([^0-9])([\.,]) → \1 \2 (space after)
        s = substitutePairs(s, first: { !isDigit($0) }, second: isPeriodOrComma) { [$0, space, $1, space] }
        // period and comma unless followed by a digit: ([\.,])([^0-9]) → " \1 \2"
        s = substitutePairs(s, first: isPeriodOrComma, second: { !isDigit($0) }) { [space, $0, space, $1] }
        // dash preceded by a digit: ([0-9])(-) → \1 \2 (space after)
        s = substitutePairs(s, first: isDigit, second: { $0 == 0x2D }) { [$0, space, $1, space] }
        return s
    }

    /// tokenizer_zh.py's `_is_chinese_char` as it behaves: its table with the two
    /// five-hex-digit entries read as Python reads them (see the file comment), ranges merged.
    static func isChinese(_ c: UInt32) -> Bool {
        switch c {
        case 0x2001...0x2A6D, 0x2E80...0x2FDF, 0x2FF0...0x303F, 0x3100...0x312F, 0x31A0...0x31EF, 0x3200...0x4DB5,
             0x4E00...0x9FBB, 0xF900...0xFA2D, 0xFA30...0xFA6A, 0xFA70...0xFAD9, 0xFE10...0xFE1F, 0xFE30...0xFE4F,
             0xFF00...0xFFEF: true
        default: false
        }
    }

    static func splitChinese(_ line: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(line.count * 2)
        for c in line {
            if isChinese(c) { out += [0x20, c, 0x20] } else { out.append(c) }
        }
        return out
    }
}

// MARK: - BLEU

/// Sufficient statistics of corpus BLEU (sacrebleu's per-segment stats summed): add segments, merge shards, then `score`.
public struct BLEUStatistics: Sendable, Codable, Equatable {
    public static let maxOrder = 4

    public let tokenizer: BLEUTokenizer
    /// Σ hypothesis tokens (sacrebleu's sys_len) and Σ reference tokens (ref_len), after tokenization.
    public private(set) var hypothesisLength = 0, referenceLength = 0
    /// Per order 1…4: clipped n-gram matches and hypothesis n-grams.
    public private(set) var matches = Array(repeating: 0, count: maxOrder)
    public private(set) var totals = Array(repeating: 0, count: maxOrder)
    /// Segments added.
    public private(set) var count = 0

    public init(tokenizer: BLEUTokenizer = .thirteenA) { self.tokenizer = tokenizer }

    /// Records one segment with its single reference (raw, untokenized text).
    public mutating func add(hypothesis: String, reference: String) {
        let hyp = tokenizer.tokens(SacreText.codePoints(hypothesis))
        let ref = tokenizer.tokens(SacreText.codePoints(reference))
        // Tokens as ids shared by the pair, so n-grams are small keys.
        var ids: [[UInt32]: Int] = [:]
        func intern(_ tokens: [[UInt32]]) -> [Int] {
            tokens.map { token in
                if let id = ids[token] { return id }
                ids[token] = ids.count
                return ids.count - 1
            }
        }
        let h = intern(hyp), r = intern(ref)
        hypothesisLength += h.count
        referenceLength += r.count
        for n in 1...Self.maxOrder {
            let refCounts = Self.ngrams(r, n)
            for (gram, hypCount) in Self.ngrams(h, n) {
                totals[n - 1] += hypCount
                matches[n - 1] += min(hypCount, refCounts[gram] ?? 0)
            }
        }
        count += 1
    }

    private static func ngrams(_ ids: [Int], _ n: Int) -> [[Int]: Int] {
        var counts: [[Int]: Int] = [:]
        if ids.count >= n {
            for i in 0...(ids.count - n) { counts[Array(ids[i..<(i + n)]), default: 0] += 1 }
        }
        return counts
    }

    /// Adds the statistics of another shard (same tokenizer).
    public mutating func merge(_ other: BLEUStatistics) {
        precondition(tokenizer == other.tokenizer, "merging BLEU statistics of tokenizers \(tokenizer.rawValue) and \(other.tokenizer.rawValue)")
        hypothesisLength += other.hypothesisLength
        referenceLength += other.referenceLength
        for n in 0..<Self.maxOrder { matches[n] += other.matches[n]; totals[n] += other.totals[n] }
        count += other.count
    }

    /// sacrebleu's `BLEU.compute_bleu` with smooth_method 'exp' and effective_order False.
    public var score: BLEUScore {
        let sys = hypothesisLength, ref = referenceLength
        var bp = 1.0
        if sys < ref { bp = sys > 0 ? exp(1 - Double(ref) / Double(sys)) : 0 }
        var precisions = Array(repeating: 0.0, count: Self.maxOrder)
        var value = 0.0
        if matches.contains(where: { $0 != 0 }) {
            var smooth = 1.0
            for n in 0..<Self.maxOrder {
                if totals[n] == 0 { break }
                if matches[n] == 0 {
                    smooth *= 2
                    precisions[n] = 100 / (smooth * Double(totals[n]))
                } else {
                    precisions[n] = 100 * Double(matches[n]) / Double(totals[n])
                }
            }
            // sacrebleu's my_log: log(0) is -9999999999, so a missing order gives exp(-huge) = 0.
            let logs = precisions.map { $0 == 0 ? -9_999_999_999 : log($0) }
            value = bp * exp(logs.reduce(0, +) / Double(Self.maxOrder))
        }
        return BLEUScore(score: value, precisions: precisions, brevityPenalty: bp, hypothesisLength: sys,
                         referenceLength: ref, matches: matches, totals: totals, tokenizer: tokenizer)
    }
}

/// Corpus BLEU with its parts, as sacrebleu's BLEUScore.
public struct BLEUScore: Sendable, Codable, Equatable {
    /// 0…100.
    public var score: Double
    /// Per order 1…4, in percent (smoothed where an order has no match).
    public var precisions: [Double]
    public var brevityPenalty: Double
    public var hypothesisLength, referenceLength: Int
    public var matches, totals: [Int]
    public var tokenizer: BLEUTokenizer

    /// The sacrebleu version these numbers were verified against (python/check_sacrebleu.py).
    public static let verifiedSacreBLEUVersion = "2.6.0"

    /// hyp_len / ref_len, 0 when there is no reference token.
    public var ratio: Double { MetricMath.ratio(hypothesisLength, referenceLength) }

    /// sacrebleu's signature without `|version:…`: this is not sacrebleu, only checked against
    /// it; `signature(version: true)` appends the version it was checked against.
    public var signature: String { "BLEU|nrefs:1|case:mixed|eff:no|tok:\(tokenizer.rawValue)|smooth:exp" }

    public func signature(version: Bool) -> String {
        version ? signature + "|version:\(Self.verifiedSacreBLEUVersion)" : signature
    }

    /// sacrebleu's `str(score)` line with the signature: `BLEU|… = 54.65 80.1/60.2/… (BP = 1.000 ratio = …)`.
    public var formatted: String {
        let p = precisions.map { String(format: "%.1f", $0) }.joined(separator: "/")
        return signature + " = " + String(format: "%.2f", score) + " \(p) (BP = \(String(format: "%.3f", brevityPenalty)) "
            + "ratio = \(String(format: "%.3f", ratio)) hyp_len = \(hypothesisLength) ref_len = \(referenceLength))"
    }
}

/// Corpus BLEU of raw strings, one reference each: `sacrebleu.corpus_bleu(hypotheses, [references], tokenize=…)`.
public func corpusBLEU(hypotheses: [String], references: [String], tokenizer: BLEUTokenizer = .thirteenA) -> BLEUScore {
    precondition(hypotheses.count == references.count, "\(hypotheses.count) hypotheses, \(references.count) references")
    var stats = BLEUStatistics(tokenizer: tokenizer)
    for (h, r) in zip(hypotheses, references) { stats.add(hypothesis: h, reference: r) }
    return stats.score
}

// MARK: - chrF

/// Sufficient statistics of corpus chrF (sacrebleu's defaults: nc 6, nw 0, β 2, whitespace removed).
public struct ChrFStatistics: Sendable, Codable, Equatable {
    public static let charOrder = 6
    public static let beta = 2

    /// Per order 1…6: hypothesis n-grams, reference n-grams, matched (clipped) n-grams.
    public private(set) var hypothesis = Array(repeating: 0, count: charOrder)
    public private(set) var reference = Array(repeating: 0, count: charOrder)
    public private(set) var matches = Array(repeating: 0, count: charOrder)
    /// Segments added.
    public private(set) var count = 0

    public init() {}

    /// Records one segment with its single reference.
    public mutating func add(hypothesis hypothesisText: String, reference referenceText: String) {
        let h = SacreText.codePoints(hypothesisText).filter { !SacreText.isSpace($0) }
        let r = SacreText.codePoints(referenceText).filter { !SacreText.isSpace($0) }
        for n in 1...Self.charOrder {
            let hc = Self.ngrams(h, n), rc = Self.ngrams(r, n)
            let refTotal = rc.values.reduce(0, +)
            var hypTotal = 0, matched = 0
            for (gram, c) in hc {
                hypTotal += c
                matched += min(c, rc[gram] ?? 0)
            }
            // sacrebleu: `hyp_count if ref_ngrams else 0`.
            hypothesis[n - 1] += refTotal > 0 ? hypTotal : 0
            reference[n - 1] += refTotal
            matches[n - 1] += matched
        }
        count += 1
    }

    /// An n-gram of up to 6 code points (21 bits each) packed in two words.
    private struct Gram: Hashable { var a: UInt64, b: UInt64 }

    private static func ngrams(_ s: [UInt32], _ n: Int) -> [Gram: Int] {
        var counts: [Gram: Int] = [:]
        guard s.count >= n else { return counts }
        for i in 0...(s.count - n) {
            var g = Gram(a: 0, b: 0)
            for k in 0..<n {
                let v = UInt64(s[i + k])
                if k < 3 { g.a |= v << (21 * UInt64(k)) } else { g.b |= v << (21 * UInt64(k - 3)) }
            }
            counts[g, default: 0] += 1
        }
        return counts
    }

    public mutating func merge(_ other: ChrFStatistics) {
        for n in 0..<Self.charOrder {
            hypothesis[n] += other.hypothesis[n]; reference[n] += other.reference[n]; matches[n] += other.matches[n]
        }
        count += other.count
    }

    /// sacrebleu's `CHRF._compute_f_score` with eps_smoothing False.
    public var score: ChrFScore {
        let factor = Double(Self.beta * Self.beta)
        var precision = 0.0, recall = 0.0, effectiveOrder = 0
        for n in 0..<Self.charOrder where hypothesis[n] > 0 && reference[n] > 0 {
            precision += Double(matches[n]) / Double(hypothesis[n])
            recall += Double(matches[n]) / Double(reference[n])
            effectiveOrder += 1
        }
        if effectiveOrder > 0 {
            precision /= Double(effectiveOrder)
            recall /= Double(effectiveOrder)
        }
        var value = 0.0
        if precision + recall != 0 {
            value = 100 * ((1 + factor) * precision * recall / (factor * precision + recall))
        }
        return ChrFScore(score: value, precision: 100 * precision, recall: 100 * recall)
    }
}

/// Corpus chrF with its averaged precision and recall.
public struct ChrFScore: Sendable, Codable, Equatable {
    /// 0…100.
    public var score: Double
    /// Character n-gram precision and recall averaged over the effective orders, in percent.
    public var precision, recall: Double

    /// sacrebleu's signature without `|version:…` (see `BLEUScore.signature`).
    public var signature: String { "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no" }

    public func signature(version: Bool) -> String {
        version ? signature + "|version:\(BLEUScore.verifiedSacreBLEUVersion)" : signature
    }

    public var formatted: String { signature + " = " + String(format: "%.2f", score) }
}

/// `sacrebleu.corpus_chrf(hypotheses, [references])`.
public func corpusChrF(hypotheses: [String], references: [String]) -> ChrFScore {
    precondition(hypotheses.count == references.count, "\(hypotheses.count) hypotheses, \(references.count) references")
    var stats = ChrFStatistics()
    for (h, r) in zip(hypotheses, references) { stats.add(hypothesis: h, reference: r) }
    return stats.score
}

// MARK: - The metric set of a sequence-to-sequence task

/// Integer counts of a seq2seq evaluation: add examples (token sequences), merge batches or
/// shards in any order, then read `metrics`.
public struct SequenceMetricCounts: Sendable, Codable, Equatable {
    /// Examples added.
    public private(set) var count = 0
    /// Hypotheses equal to their reference token for token.
    public private(set) var exactMatches = 0
    /// Σ Levenshtein distance over tokens and Σ reference tokens.
    public private(set) var editDistance = 0, referenceTokens = 0
    /// BLEU and chrF statistics of the space-joined token sequences.
    public private(set) var bleu: BLEUStatistics
    public private(set) var chrF = ChrFStatistics()

    public init(bleuTokenizer: BLEUTokenizer = .thirteenA) { bleu = BLEUStatistics(tokenizer: bleuTokenizer) }

    /// All pairs at once.
    public init(hypotheses: [[String]], references: [[String]], bleuTokenizer: BLEUTokenizer = .thirteenA) {
        precondition(hypotheses.count == references.count, "\(hypotheses.count) hypotheses, \(references.count) references")
        self.init(bleuTokenizer: bleuTokenizer)
        for (h, r) in zip(hypotheses, references) { add(hypothesis: h, reference: r) }
    }

    /// Records one example. Tokens compare code point by code point; BLEU and chrF see
    /// `tokens.joined(separator: " ")`, as the bench's `" ".join(h)`.
    public mutating func add(hypothesis: [String], reference: [String]) {
        count += 1
        if hypothesis.count == reference.count, zip(hypothesis, reference).allSatisfy(SacreText.sameCodePoints) { exactMatches += 1 }
        editDistance += EditDistance.levenshtein(tokens: hypothesis, reference)
        referenceTokens += reference.count
        let h = hypothesis.joined(separator: " "), r = reference.joined(separator: " ")
        bleu.add(hypothesis: h, reference: r)
        chrF.add(hypothesis: h, reference: r)
    }

    /// Adds the counts of another batch or shard (same BLEU tokenizer).
    public mutating func merge(_ other: SequenceMetricCounts) {
        count += other.count
        exactMatches += other.exactMatches
        editDistance += other.editDistance
        referenceTokens += other.referenceTokens
        bleu.merge(other.bleu)
        chrF.merge(other.chrF)
    }

    public var metrics: SequenceMetrics {
        let bleuScore = bleu.score, chrFScore = chrF.score
        return SequenceMetrics(count: count, sequenceAccuracy: MetricMath.ratio(exactMatches, count),
                               sequenceErrorRate: MetricMath.ratio(count - exactMatches, count),
                               tokenErrorRate: MetricMath.ratio(editDistance, referenceTokens),
                               bleu: bleuScore.score, chrF: chrFScore.score, bleuDetails: bleuScore, chrFDetails: chrFScore)
    }
}

/// The metrics a sequence-to-sequence task reports.
public struct SequenceMetrics: Sendable, Codable, Equatable {
    /// Examples.
    public var count: Int
    /// Fraction of hypotheses exactly equal to their reference.
    public var sequenceAccuracy: Double
    /// 1 − sequenceAccuracy (0 for no examples): the "WER" of grapheme-to-phoneme papers.
    public var sequenceErrorRate: Double
    /// Σ edit distance / Σ reference tokens (PER over phonemes). Not sacrebleu's TER (translation edit rate).
    public var tokenErrorRate: Double
    /// Corpus BLEU and chrF (0…100) of the space-joined tokens.
    public var bleu: Double
    public var chrF: Double
    public var bleuDetails: BLEUScore
    public var chrFDetails: ChrFScore

    /// One line: `n=… seq_acc=… seq_error=… token_error=… BLEU=… chrF=…`, with the signatures.
    public var summary: String {
        "n=\(count) seq_acc=\(ScoreTable.fixed(sequenceAccuracy, 4)) seq_error=\(ScoreTable.fixed(sequenceErrorRate, 4)) "
            + "token_error=\(ScoreTable.fixed(tokenErrorRate, 4)) BLEU=\(ScoreTable.fixed(bleu, 2)) chrF=\(ScoreTable.fixed(chrF, 2)) "
            + "(\(bleuDetails.signature); \(chrFDetails.signature))"
    }
}
