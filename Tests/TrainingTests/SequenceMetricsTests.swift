import Foundation
import NN
import TestSupport
import XCTest
@testable import Training

// Edit distance and error rates are checked on hand-computed cases (worked out in the comments).
// BLEU and chrF are checked against sacrebleu 2.6.0: python/check_sacrebleu.py wrote
// Tests/Fixtures/seq2seq/sacrebleu-expected.json (its hand-made cases inline; hypotheses of real
// text made by the corruption reimplemented below from the committed UD English-EWT excerpt, or
// from the shared corpora, which are not committed). Every score must be within 0.01 of
// sacrebleu's, and the integer statistics behind it must be equal.

private let sacreTolerance = 0.01

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../Fixtures/seq2seq").standardized

// MARK: The fixture and its inputs

private struct ExpectedFile: Decodable {
    var sacrebleu: String
    var cases: [ExpectedCase]
}

private struct ExpectedCase: Decodable {
    struct Source: Decodable {
        var kind, path, unit: String
        var every, count, level: Int
        var seed: UInt64
    }
    var name, tokenize: String
    var hypotheses, references: [String]?
    var source: Source?
    var segments: Int?
    var first_hypothesis, first_reference: String?
    var hypothesis_code_points, reference_code_points: Int?
    var bleu: Double
    var bleu_counts, bleu_totals: [Int]
    var sys_len, ref_len: Int
    var bleu_signature: String
    var chrf: Double
    var chrf_stats: [Int]
    var chrf_signature: String
    var sequence_error_rate, token_error_rate: Double?
    var edit_distance, reference_units: Int?
}

/// python/check_sacrebleu.py's SplitMix64: the classic stream (state advanced by the golden
/// gamma, then mixed), whose mixing is NN's `SplitMix64.mix` of the state before the advance.
private struct Mix64 {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        defer { state &+= 0x9E37_79B9_7F4A_7C15 }
        return SplitMix64.mix(state)
    }
}

private let pools: [String: [String]] = [
    "word": ["the", "a", "of", "U.S.", "3.5", "don't", "\"", "--", "(", ")", "e-mail", "1990-2000", ",", "&amp;", "it's."],
    "char": ["的", "了", "好", "不", "，", "。", "OK", "iPad", "3.5", "!", "酒店", "…", "“", "—"],
]

/// python/check_sacrebleu.py's `corrupt`, line for line.
private func corrupt(_ units: [String], _ rng: inout Mix64, level: UInt64, pool: [String]) -> [String] {
    if rng.next() % 4 == 0 { return units }
    var out: [String] = []
    var i = 0
    while i < units.count {
        let r = rng.next() % 100
        if r < level {
            i += 1
        } else if r < 2 * level && i + 1 < units.count {
            out += [units[i + 1], units[i]]
            i += 2
        } else if r < 3 * level {
            out.append(pool[Int(rng.next() % UInt64(pool.count))])
            i += 1
        } else if r < 3 * level + level / 2 {
            out += [units[i], pool[Int(rng.next() % UInt64(pool.count))]]
            i += 1
        } else {
            out.append(units[i])
            i += 1
        }
    }
    return out
}

/// Python's `text.split(sep)` on one code point (empty fields kept).
private func splitScalars(_ text: some StringProtocol, _ separator: Unicode.Scalar, maxSplits: Int = .max) -> [String] {
    var fields: [String] = [], current = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
        if scalar == separator && fields.count < maxSplits {
            fields.append(String(current)); current = String.UnicodeScalarView()
        } else {
            current.append(scalar)
        }
    }
    fields.append(String(current))
    return fields
}

private func fileLines(_ path: String) throws -> [String] {
    splitScalars(try String(contentsOfFile: path, encoding: .utf8), "\n")
}

private func ewtTexts(_ path: String) throws -> [String] {
    try fileLines(path).filter { $0.hasPrefix("# text = ") }.map { String($0.unicodeScalars.dropFirst(9)) }
}

private func reviewTexts(_ path: String) throws -> [String] {
    try fileLines(path).dropFirst().compactMap { line in
        let parts = splitScalars(line, ",", maxSplits: 2)
        guard parts.count == 3, !line.unicodeScalars.contains("\""), (8...100).contains(parts[2].unicodeScalars.count) else { return nil }
        return parts[2]
    }
}

private func units(_ text: String, _ unit: String) -> [String] {
    unit == "word" ? splitScalars(text, " ").filter { !$0.isEmpty } : text.unicodeScalars.map { String($0) }
}

private func joined(_ units: [String], _ unit: String) -> String { units.joined(separator: unit == "word" ? " " : "") }

/// The case's hypotheses and references as units, or nil when its source is the absent corpora.
private func sourceUnits(_ c: ExpectedCase) throws -> (hypotheses: [[String]], references: [[String]])? {
    guard let s = c.source else { return nil }
    let texts: [String]
    if s.kind == "fixture" {
        texts = Array(try fileLines(fixtures.appendingPathComponent(s.path).path).dropLast())
    } else {
        guard Corpora.available else { return nil }
        texts = s.path.hasPrefix("ud/") ? try ewtTexts(Corpora.path(s.path)) : try reviewTexts(Corpora.path(s.path))
    }
    let selected = stride(from: 0, to: texts.count, by: s.every).map { texts[$0] }.prefix(s.count)
    var rng = Mix64(s.seed)
    let refs = selected.map { units($0, s.unit) }
    let hyps = refs.map { corrupt($0, &rng, level: UInt64(s.level), pool: pools[s.unit]!) }
    return (hyps, refs)
}

private func loadExpected() throws -> ExpectedFile {
    let data = try Data(contentsOf: fixtures.appendingPathComponent("sacrebleu-expected.json"))
    return try JSONDecoder().decode(ExpectedFile.self, from: data)
}

final class SequenceMetricsTests: XCTestCase {
    // MARK: Edit distance and error rates, by hand

    func testEditDistanceByHand() {
        XCTAssertEqual(EditDistance.levenshtein(Array("kitten"), Array("sitting")), 3)  // k→s, e→i, +g
        XCTAssertEqual(EditDistance.levenshtein([String](), ["a", "b"]), 2)
        XCTAssertEqual(EditDistance.levenshtein(["a", "b"], [String]()), 2)
        XCTAssertEqual(EditDistance.levenshtein([Int32](), []), 0)
        XCTAssertEqual(EditDistance.levenshtein([1, 2, 3] as [Int32], [1, 2, 3]), 0)
        XCTAssertEqual(EditDistance.levenshtein([1, 2, 3] as [Int32], [1, 3]), 1)  // delete 2
        XCTAssertEqual(EditDistance.levenshtein([1, 2] as [Int32], [2, 1]), 2)  // no transposition: 2 substitutions
        XCTAssertEqual(EditDistance.levenshtein(["HH", "AH0", "L", "OW1"], ["HH", "EH0", "L", "OW1", "Z"]), 2)  // AH0→EH0, +Z
        XCTAssertEqual(EditDistance.levenshtein(Array("intention"), Array("execution")), 5)
        // Token strings compare by code point (as Python): precomposed é ≠ e + combining acute,
        // which Swift's String == would equate.
        XCTAssertEqual(EditDistance.levenshtein(["caf\u{E9}"], ["cafe\u{301}"]), 0)
        XCTAssertEqual(EditDistance.levenshtein(tokens: ["caf\u{E9}"], ["cafe\u{301}"]), 1)
    }

    func testErrorRatesByHand() {
        // cat: exact; dog: AA1→AO1 (1 substitution); birds: empty hypothesis (4 deletions); tree: +Z (1 insertion)
        let refs = [["K", "AE1", "T"], ["D", "AA1", "G"], ["B", "ER1", "D", "Z"], ["T", "R", "IY1"]]
        let hyps = [["K", "AE1", "T"], ["D", "AO1", "G"], [], ["T", "R", "IY1", "Z"]]
        // exact 1 + 0 + 0 + 0 = 1 of 4; distance 0 + 1 + 4 + 1 = 6 over 3 + 3 + 4 + 3 = 13 reference tokens
        XCTAssertEqual(EditDistance.sequenceErrorRate(hypotheses: hyps, references: refs), 0.75)
        XCTAssertEqual(EditDistance.tokenErrorRate(hypotheses: hyps, references: refs), 6.0 / 13, accuracy: 1e-15)
        let m = SequenceMetricCounts(hypotheses: hyps, references: refs).metrics
        XCTAssertEqual(m.count, 4)
        XCTAssertEqual(m.sequenceAccuracy, 0.25)
        XCTAssertEqual(m.sequenceErrorRate, 0.75)
        XCTAssertEqual(m.tokenErrorRate, 6.0 / 13, accuracy: 1e-15)
        // Token ids work the same way.
        let ids: [[Int32]] = [[1, 2, 3], [4, 5]], gold: [[Int32]] = [[1, 2, 3], [4, 6, 7]]
        XCTAssertEqual(EditDistance.sequenceErrorRate(hypotheses: ids, references: gold), 0.5)
        XCTAssertEqual(EditDistance.tokenErrorRate(hypotheses: ids, references: gold), 2.0 / 6)  // 5→6, +7
    }

    func testEmptyAndDegenerateCounts() {
        let empty = SequenceMetricCounts().metrics
        XCTAssertEqual(empty.count, 0)
        XCTAssertEqual(empty.sequenceAccuracy, 0)
        XCTAssertEqual(empty.sequenceErrorRate, 0)
        XCTAssertEqual(empty.tokenErrorRate, 0)
        XCTAssertEqual(empty.bleu, 0)
        XCTAssertEqual(empty.chrF, 0)
        // An empty hypothesis of an empty reference is an exact match with no errors.
        let m = SequenceMetricCounts(hypotheses: [[]], references: [[]]).metrics
        XCTAssertEqual(m.sequenceAccuracy, 1)
        XCTAssertEqual(m.tokenErrorRate, 0)
        XCTAssertEqual(m.bleu, 0)
    }

    // MARK: Tokenizers (outputs printed by sacrebleu 2.6.0's Tokenizer13a and TokenizerZh)

    func testTokenizers() {
        let thirteenA: [(String, String)] = [
            ("It costs 3.5 dollars in the U.S., don't it?", "It costs 3.5 dollars in the U . S . , don't it ?"),
            ("He said \"yes\" -- 1990-2000 (roughly).", "He said \" yes \" -- 1990 - 2000 ( roughly ) ."),
            ("&quot;Q&quot; &amp;amp; a.b. ...x, ,y 3,,4 7-", "\" Q \" & amp ; a . b . . . . x , , y 3 , , 4 7 -"),
            ("end. .start 2. .3 x.5 5.x", "end . . start 2 . . 3 x . 5 5 . x"),
        ]
        for (line, tokens) in thirteenA { XCTAssertEqual(BLEUTokenizer.thirteenA.tokenize(line), tokens) }
        let zh: [(String, String)] = [
            ("我在2019年买了iPad Pro，价格是3.5千元。", "我 在 2019 年 买 了 iPad Pro ， 价 格 是 3.5 千 元 。"),
            ("“引号”— ok…", "“ 引 号 ” — ok …"),  // U+2001…U+2A6D count as Chinese (the table quirk)
            ("𠀀𠀁 x", "𠀀𠀁 x"),  // Extension B is not split
        ]
        for (line, tokens) in zh { XCTAssertEqual(BLEUTokenizer.zh.tokenize(line), tokens) }
    }

    // MARK: Against sacrebleu

    /// Compares one case; returns the larger |Δ| of BLEU and chrF.
    private func check(_ c: ExpectedCase, hypotheses: [String], references: [String]) -> Double {
        let tokenizer = BLEUTokenizer(rawValue: c.tokenize)!
        let bleu = corpusBLEU(hypotheses: hypotheses, references: references, tokenizer: tokenizer)
        let chrF = corpusChrF(hypotheses: hypotheses, references: references)
        XCTAssertEqual(bleu.score, c.bleu, accuracy: sacreTolerance, "\(c.name): BLEU")
        XCTAssertEqual(bleu.matches, c.bleu_counts, "\(c.name): BLEU matches")
        XCTAssertEqual(bleu.totals, c.bleu_totals, "\(c.name): BLEU totals")
        XCTAssertEqual(bleu.hypothesisLength, c.sys_len, "\(c.name): sys_len")
        XCTAssertEqual(bleu.referenceLength, c.ref_len, "\(c.name): ref_len")
        XCTAssertEqual(bleu.signature(version: true), "BLEU|" + c.bleu_signature, c.name)
        XCTAssertEqual(chrF.score, c.chrf, accuracy: sacreTolerance, "\(c.name): chrF")
        var stats = ChrFStatistics()
        for (h, r) in zip(hypotheses, references) { stats.add(hypothesis: h, reference: r) }
        let flat = (0..<ChrFStatistics.charOrder).flatMap { [stats.hypothesis[$0], stats.reference[$0], stats.matches[$0]] }
        XCTAssertEqual(flat, c.chrf_stats, "\(c.name): chrF statistics")
        XCTAssertEqual(chrF.signature(version: true), "chrF2|" + c.chrf_signature, c.name)
        return max(abs(bleu.score - c.bleu), abs(chrF.score - c.chrf))
    }

    /// Units → metrics through SequenceMetricCounts, against the bench script's error rates.
    private func checkUnits(_ c: ExpectedCase, _ hyps: [[String]], _ refs: [[String]], unit: String) -> Double {
        XCTAssertEqual(hyps.count, c.segments, c.name)
        if let first = c.first_hypothesis { XCTAssertEqual(joined(hyps[0], unit), first, "\(c.name): corruption differs from Python's") }
        if let first = c.first_reference { XCTAssertEqual(joined(refs[0], unit), first, "\(c.name): selection differs from Python's") }
        XCTAssertEqual(hyps.map { joined($0, unit).unicodeScalars.count }.reduce(0, +), c.hypothesis_code_points, c.name)
        XCTAssertEqual(refs.map { joined($0, unit).unicodeScalars.count }.reduce(0, +), c.reference_code_points, c.name)
        let counts = SequenceMetricCounts(hypotheses: hyps, references: refs, bleuTokenizer: BLEUTokenizer(rawValue: c.tokenize)!)
        let m = counts.metrics
        XCTAssertEqual(counts.editDistance, c.edit_distance, c.name)
        XCTAssertEqual(counts.referenceTokens, c.reference_units, c.name)
        XCTAssertEqual(m.sequenceErrorRate, c.sequence_error_rate!, accuracy: 1e-12, c.name)
        XCTAssertEqual(m.tokenErrorRate, c.token_error_rate!, accuracy: 1e-12, c.name)
        XCTAssertEqual(m.sequenceAccuracy + m.sequenceErrorRate, 1, accuracy: 1e-12)
        var delta = check(c, hypotheses: hyps.map { joined($0, unit) }, references: refs.map { joined($0, unit) })
        if unit == "word" {  // the joined units are the strings sacrebleu scored
            XCTAssertEqual(m.bleu, c.bleu, accuracy: sacreTolerance, c.name)
            XCTAssertEqual(m.chrF, c.chrf, accuracy: sacreTolerance, c.name)
            delta = max(delta, abs(m.bleu - c.bleu), abs(m.chrF - c.chrf))
        }
        return delta
    }

    func testMatchesSacreBLEUOnCommittedCases() throws {
        let expected = try loadExpected()
        XCTAssertEqual(expected.sacrebleu, BLEUScore.verifiedSacreBLEUVersion)
        var maxDelta = 0.0, checked = 0, segments = 0
        for c in expected.cases {
            if let hyps = c.hypotheses, let refs = c.references {
                maxDelta = max(maxDelta, check(c, hypotheses: hyps, references: refs))
                segments += hyps.count
            } else if c.source?.kind == "fixture", let pairs = try sourceUnits(c) {
                maxDelta = max(maxDelta, checkUnits(c, pairs.hypotheses, pairs.references, unit: c.source!.unit))
                segments += pairs.hypotheses.count
            } else { continue }
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 20)
        print("sacrebleu \(expected.sacrebleu): \(checked) committed cases, \(segments) segments, max |Δ| BLEU/chrF = \(maxDelta)")
    }

    func testMatchesSacreBLEUOnRealCorpora() throws {
        guard Corpora.available else { throw XCTSkip(Corpora.skipMessage) }
        let expected = try loadExpected()
        var maxDelta = 0.0, checked = 0
        for c in expected.cases where c.source?.kind == "corpora" {
            let (hyps, refs) = try XCTUnwrap(try sourceUnits(c))
            maxDelta = max(maxDelta, checkUnits(c, hyps, refs, unit: c.source!.unit))
            checked += 1
        }
        XCTAssertEqual(checked, 3)
        print("sacrebleu \(expected.sacrebleu): \(checked) corpus cases (EWT test, Chinese reviews zh and 13a), max |Δ| BLEU/chrF = \(maxDelta)")
    }

    // MARK: Accumulation

    func testMergeOfShardsEqualsWhole() throws {
        let c = try XCTUnwrap(try loadExpected().cases.first { $0.name == "en-ewt-dev excerpt level 10" })
        let (hyps, refs) = try XCTUnwrap(try sourceUnits(c))
        let whole = SequenceMetricCounts(hypotheses: hyps, references: refs)
        var shards = [SequenceMetricCounts(), SequenceMetricCounts(), SequenceMetricCounts()]
        for i in hyps.indices { shards[i % 3].add(hypothesis: hyps[i], reference: refs[i]) }
        var merged = shards[2]
        merged.merge(shards[0])
        merged.merge(shards[1])
        XCTAssertEqual(merged, whole)
        XCTAssertEqual(merged.metrics, whole.metrics)
        XCTAssertEqual(whole.metrics.count, 100)
        // Counts survive JSON (shards computed elsewhere).
        let decoded = try JSONDecoder().decode(SequenceMetricCounts.self, from: JSONEncoder().encode(whole))
        XCTAssertEqual(decoded, whole)
        XCTAssertEqual(decoded.metrics, whole.metrics)
    }

    func testSignaturesAndSummary() {
        var counts = SequenceMetricCounts()
        counts.add(hypothesis: ["the", "cat", "sat", "on", "the", "mat"], reference: ["the", "cat", "sat", "on", "the", "mat"])
        let m = counts.metrics
        XCTAssertEqual(m.bleu, 100, accuracy: 1e-9)
        XCTAssertEqual(m.chrF, 100, accuracy: 1e-9)
        XCTAssertEqual(m.bleuDetails.signature, "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp")
        XCTAssertEqual(m.chrFDetails.signature, "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no")
        XCTAssertEqual(BLEUStatistics(tokenizer: .zh).score.signature(version: true),
                       "BLEU|nrefs:1|case:mixed|eff:no|tok:zh|smooth:exp|version:2.6.0")
        XCTAssertEqual(m.bleuDetails.formatted,
                       "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)")
        XCTAssertEqual(m.summary, "n=1 seq_acc=1.0000 seq_error=0.0000 token_error=0.0000 BLEU=100.00 chrF=100.00 "
                       + "(BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp; chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no)")
    }
}
