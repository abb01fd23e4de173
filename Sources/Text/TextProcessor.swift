import CICU
import Foundation

/// Runs a ``TextPipeline`` on one thread: owns its ICU objects and scratch buffers and reuses
/// them for every text, so a line costs no allocation beyond its result.
///
/// Not thread-safe: give each thread its own (``TextPipeline/makeProcessor()``), as
/// ``OrderedParallelMap`` does.
public final class TextProcessor {
    public let pipeline: TextPipeline
    private var stages: [OpaquePointer] = []
    private var segmenter: OpaquePointer?
    private let front = UnsafeMutablePointer<MTLAligned>.allocate(capacity: 1)
    private let back = UnsafeMutablePointer<MTLAligned>.allocate(capacity: 1)
    private let decoded = UnsafeMutablePointer<MTLAligned>.allocate(capacity: 1)
    private let segments = UnsafeMutablePointer<MTLSegments>.allocate(capacity: 1)
    private let keep = UnsafeMutablePointer<UInt8>.allocate(capacity: 8)
    private var tokenScratch = UnsafeMutablePointer<MTLToken>.allocate(capacity: 256)
    private var tokenCapacity = 256
    private var utf8Scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 1024)
    private var utf8Capacity = 1024
    // Read on every call: kept here rather than through `pipeline`, whose copy costs retains.
    private let isPretokenized: Bool
    private let repairsInvalidUTF8: Bool
    /// What the normalizer chain does to each ASCII character (`mtl_stage_ascii_map`, composed), when
    /// every stage and the segmenter have an exact ASCII model: all-ASCII text then goes through
    /// `mtl_tokenize_ascii` in one pass over its bytes, with no UTF-16 round trip. nil: no such path.
    private let asciiMap: UnsafeMutablePointer<UInt8>?

    /// `fastPaths: false` makes every segmentation go through ICU (tests compare the two).
    init(pipeline: TextPipeline, fastPaths: Bool = true) throws {
        self.pipeline = pipeline
        isPretokenized = pipeline.tokenizer.kind == .pretokenized
        repairsInvalidUTF8 = pipeline.invalidUTF8 == .replace
        for kind in TokenKind.allCases { keep[Int(kind.rawValue)] = pipeline.tokenizer.keep.contains(kind) ? 1 : 0 }
        mtl_aligned_init(decoded)
        mtl_aligned_init(front)
        mtl_aligned_init(back)
        mtl_segments_init(segments)
        var error = MTLError()
        for step in pipeline.normalizers {
            let (kind, argument) = step.cStage(locale: pipeline.locale)
            guard let stage = mtl_stage_open(kind, argument, &error) else {
                throw TextError.badSpec(pipeline.normalizerSpec, step.spec, Self.message(error))
            }
            stages.append(stage)
        }
        if let (kind, argument) = pipeline.tokenizer.cSegmenter(locale: pipeline.locale) {
            guard let opened = mtl_segmenter_open(kind, argument, &error) else {
                throw TextError.badSpec(pipeline.tokenizerSpec, pipeline.tokenizerSpec, Self.message(error))
            }
            segmenter = opened
            if !fastPaths { mtl_segmenter_disable_fast_paths(opened) }
        }
        asciiMap = isPretokenized ? nil : Self.composedASCIIMap(stages: stages, segmenter: segmenter)
    }

    private static func composedASCIIMap(stages: [OpaquePointer], segmenter: OpaquePointer?) -> UnsafeMutablePointer<UInt8>? {
        guard let segmenter else { return nil }
        let map = UnsafeMutablePointer<UInt8>.allocate(capacity: 128)
        for c in 0..<128 { map[c] = UInt8(c) }
        var stageMap = [UInt8](repeating: 0, count: 128)
        for stage in stages {
            guard mtl_stage_ascii_map(stage, &stageMap) != 0 else { map.deallocate(); return nil }
            for c in 0..<128 where map[c] != UInt8(MTL_ASCII_UNMAPPED) { map[c] = stageMap[Int(map[c])] }
        }
        guard mtl_segmenter_restrict_ascii_map(segmenter, map) != 0 else { map.deallocate(); return nil }
        return map
    }

    deinit {
        stages.forEach { mtl_stage_close($0) }
        mtl_segmenter_close(segmenter)
        mtl_aligned_free(decoded)
        mtl_aligned_free(front)
        mtl_aligned_free(back)
        mtl_segments_free(segments)
        decoded.deallocate()
        keep.deallocate()
        tokenScratch.deallocate()
        utf8Scratch.deallocate()
        asciiMap?.deallocate()
        front.deallocate()
        back.deallocate()
        segments.deallocate()
    }

    // MARK: - Public entry points

    /// Normalizes and tokenizes a text.
    public func tokenize(_ text: String) throws -> TokenizedText {
        var text = text
        let original = text
        return try text.withUTF8 { try tokenize(bytes: $0, original: original) }
    }

    /// Normalizes and tokenizes UTF-8 bytes (checked, or repaired under `--invalid-utf8 replace`).
    public func tokenize(utf8 bytes: UnsafeBufferPointer<UInt8>) throws -> TokenizedText {
        try tokenize(bytes: bytes, original: nil)
    }

    /// Runs only the normalizer chain. For every token `t` of `tokenize(x)`,
    /// `normalize(x[t.utf8Range]) == x.text(of: t)`: the guarantee the offsets give.
    public func normalize(_ text: String) throws -> String {
        var text = text
        return try text.withUTF8 { bytes in
            var error = MTLError()
            try check(mtl_decode_utf8(bytes.baseAddress, Int32(bytes.count), 1, decoded, nil, &error), error)
            let normalized = try normalizeDecoded()
            return Self.utf8String(normalized.pointee.text, normalized.pointee.length)
        }
    }

    /// The words joined by one space, and each word's UTF-8 range in the joined string.
    static func joinedWithPieces(_ words: [String]) -> (String, [Range<Int>]) {
        var pieces: [Range<Int>] = []
        pieces.reserveCapacity(words.count)
        var offset = 0
        for word in words {
            pieces.append(offset..<(offset + word.utf8.count))
            offset += word.utf8.count + 1
        }
        return (words.joined(separator: " "), pieces)
    }

    /// Normalizes pre-tokenized input: one token per element, never merged or dropped (tags
    /// given per token stay aligned). The original text is the elements joined by one space;
    /// an element that normalizes to nothing gives an empty token.
    public func tokenize(pretokenized words: [String]) throws -> TokenizedText {
        var (original, pieces) = Self.joinedWithPieces(words)
        let text = original
        return try original.withUTF8 { try tokenizePieces(bytes: $0, original: text, pieces: pieces) }
    }

    /// One token per word, each normalized alone, at the given UTF-8 range of `text`: words whose
    /// place in their sentence is known (CoNLL-U). Ranges are in order; the words of one
    /// multiword token may share its range ("de" and "el" both at "del"), so each token's
    /// normalized form comes from its word, not from the text.
    public func tokenize(_ text: String, words: [String], at ranges: [Range<Int>]) throws -> TokenizedText {
        precondition(words.count == ranges.count, "one range per word")
        var (joined, pieces) = Self.joinedWithPieces(words)
        var original = text
        return try joined.withUTF8 { wordBytes in
            try original.withUTF8 { textBytes in
                try tokenizePieces(bytes: wordBytes, original: text, pieces: pieces, placedIn: (textBytes, ranges))
            }
        }
    }

    // MARK: - The pipeline

    private func tokenize(bytes: UnsafeBufferPointer<UInt8>, original: String?) throws -> TokenizedText {
        let run: Run
        switch try outcome(bytes) {
        case .repair:
            return try tokenize(String(decoding: bytes, as: UTF8.self))  // --invalid-utf8 replace: offsets into the repaired text
        case .pretokenized:
            return try tokenizePieces(bytes: bytes, original: original ?? String(decoding: bytes, as: UTF8.self),
                                      pieces: Self.spaceSeparated(bytes))
        case .done(let done):
            run = done
        }
        let original = original ?? String(decoding: bytes, as: UTF8.self)
        let scratch = tokenScratch
        let tokens = [Token](unsafeUninitializedCapacity: run.count) { buffer, initialized in
            for i in 0..<run.count { buffer[i] = Token(scratch[i]) }
            initialized = run.count
        }
        // Most text comes out of normalization unchanged: share the original's storage then.
        let normalizedText = run.unchanged ? original : String(decoding: normalizedUTF8(run), as: UTF8.self)
        return TokenizedText(original: original, normalized: normalizedText, tokens: tokens)
    }

    /// Normalizes and tokenizes UTF-8 bytes and appends the result to a batch: the allocation-free
    /// path for handing many texts to another thread.
    public func tokenize(utf8 bytes: UnsafeBufferPointer<UInt8>, into batch: inout TokenizedBatch) throws {
        guard case .done(let run) = try outcome(bytes, encoding: true) else {
            batch.append(try tokenize(utf8: bytes))
            return
        }
        let normalized = run.unchanged ? UnsafeBufferPointer(start: utf8Scratch, count: 0) : normalizedUTF8(run)
        batch.append(original: bytes, normalized: normalized,
                     unchanged: run.unchanged, tokens: UnsafeBufferPointer(start: tokenScratch, count: run.count))
    }

    /// Normalizes and tokenizes UTF-8 bytes and lends the result to `body` without copying it: the
    /// allocation-free path for callers that turn tokens into something else at once (the importer
    /// writes them into a token blob). The view is valid only during `body`.
    public func withTokens<R>(utf8 bytes: UnsafeBufferPointer<UInt8>, _ body: (BorrowedTokens) throws -> R) throws -> R {
        guard case .done(let run) = try outcome(bytes, encoding: true) else {
            // Repaired or pre-tokenized text: the general path's arrays, lent the same way (offsets
            // of repaired text point into the repaired text, as `tokenize(utf8:)` gives them).
            let text = try tokenize(utf8: bytes)
            let cTokens = text.tokens.map(MTLToken.init)
            var normalized = text.normalized, original = text.original
            return try cTokens.withUnsafeBufferPointer { tokens in
                try normalized.withUTF8 { n in
                    let unchanged = original.withUTF8 { o in o.elementsEqual(n) && o.elementsEqual(bytes) }
                    return try body(BorrowedTokens(tokens: tokens, normalizedUTF8: n, isUnchanged: unchanged))
                }
            }
        }
        let normalized = run.unchanged ? bytes : normalizedUTF8(run)
        return try body(BorrowedTokens(tokens: UnsafeBufferPointer(start: tokenScratch, count: run.count),
                                       normalizedUTF8: normalized, isUnchanged: run.unchanged))
    }

    /// The normalized text of the last run as UTF-8 in `utf8Scratch` (encoding it there if the run did not).
    private func normalizedUTF8(_ run: Run) -> UnsafeBufferPointer<UInt8> {
        if run.utf8Count >= 0 { return UnsafeBufferPointer(start: utf8Scratch, count: run.utf8Count) }
        let normalized = run.normalized!.pointee
        if utf8Capacity < Int(normalized.length) * 3 {
            utf8Scratch.deallocate()
            utf8Capacity = max(Int(normalized.length) * 3, utf8Capacity * 2)
            utf8Scratch = .allocate(capacity: utf8Capacity)
        }
        let written = Int(mtl_encode_utf8(normalized.text, normalized.length, utf8Scratch, Int32(utf8Capacity)))
        return UnsafeBufferPointer(start: utf8Scratch, count: written)
    }

    /// Normalizes and tokenizes a text and appends the result to a batch.
    public func tokenize(_ text: String, into batch: inout TokenizedBatch) throws {
        var text = text
        try text.withUTF8 { try tokenize(utf8: $0, into: &batch) }
    }

    private struct Run {
        /// The normalized UTF-16 (nil when the ASCII path made the UTF-8 directly).
        var normalized: UnsafeMutablePointer<MTLAligned>?
        var count: Int
        var unchanged: Bool
        /// Bytes of the normalized UTF-8 in `utf8Scratch` when it was encoded with the tokens, else -1.
        var utf8Count: Int
    }

    private enum Outcome {
        case done(Run)
        /// Invalid UTF-8 under `--invalid-utf8 replace`: rerun on the repaired text.
        case repair
        /// Pre-tokenized input: every piece is normalized on its own.
        case pretokenized
    }

    /// The longest text one call takes: far beyond any sentence or document, and small enough
    /// that no size computation in the C layer (units x 4, UTF-8 x 3) can overflow.
    public static let maximumTextBytes = 1 << 26

    /// Decode, normalize, segment and build tokens into `tokenScratch`, unless the text needs a
    /// slow path.
    /// `encoding`: also encode the normalized text as UTF-8 into `utf8Scratch` (see ``Run/utf8Count``).
    private func outcome(_ bytes: UnsafeBufferPointer<UInt8>, encoding: Bool = false) throws -> Outcome {
        guard bytes.count <= Self.maximumTextBytes else {
            throw TextError(.tooLong(bytes: bytes.count),
                            "text of \(bytes.count) bytes is longer than the \(Self.maximumTextBytes >> 20) MiB one text may hold")
        }
        if let asciiMap, let ascii = tokenizeASCII(bytes, map: asciiMap) { return .done(ascii) }
        var allASCII: Int32 = 0
        var error = MTLError()
        let rc = mtl_decode_utf8(bytes.baseAddress, Int32(bytes.count), 0, decoded, &allASCII, &error)
        if rc == Int32(MTL_ERR_INVALID_UTF8) {
            if !repairsInvalidUTF8 {
                throw TextError(.invalidUTF8(byteOffset: Int(error.offset)), "invalid UTF-8 at byte \(error.offset)")
            }
            return .repair
        }
        try check(rc, error)
        if isPretokenized { return .pretokenized }
        let normalized = try normalizeDecoded()
        try check(mtl_segment(segmenter, normalized.pointee.text, normalized.pointee.length, segments, &error), error)
        if tokenCapacity < Int(segments.pointee.count) {
            tokenScratch.deallocate()
            tokenCapacity = max(Int(segments.pointee.count), tokenCapacity * 2)
            tokenScratch = .allocate(capacity: tokenCapacity)
        }
        var utf8Count: Int32 = -1
        if encoding && utf8Capacity < Int(normalized.pointee.length) * 3 {
            utf8Scratch.deallocate()
            utf8Capacity = max(Int(normalized.pointee.length) * 3, utf8Capacity * 2)
            utf8Scratch = .allocate(capacity: utf8Capacity)
        }
        let count = Int(mtl_build_tokens_utf8(normalized, segments, keep, bytes.baseAddress, allASCII, tokenScratch,
                                              encoding ? utf8Scratch : nil, Int32(utf8Capacity), &utf8Count))
        return .done(Run(normalized: normalized, count: count, unchanged: Self.isUnchanged(decoded.pointee, normalized.pointee),
                         utf8Count: Int(utf8Count)))
    }

    /// The one-pass path for all-ASCII text; nil when the text needs the general path.
    private func tokenizeASCII(_ bytes: UnsafeBufferPointer<UInt8>, map: UnsafeMutablePointer<UInt8>) -> Run? {
        // At most one token per byte; the normalized text has the original's length.
        if tokenCapacity < bytes.count {
            tokenScratch.deallocate()
            tokenCapacity = max(bytes.count, tokenCapacity * 2)
            tokenScratch = .allocate(capacity: tokenCapacity)
        }
        if utf8Capacity < bytes.count {
            utf8Scratch.deallocate()
            utf8Capacity = max(bytes.count, utf8Capacity * 2)
            utf8Scratch = .allocate(capacity: utf8Capacity)
        }
        var changed: Int32 = 0
        let count = mtl_tokenize_ascii(segmenter, map, keep, bytes.baseAddress, Int32(bytes.count), utf8Scratch,
                                       tokenScratch, &changed)
        guard count >= 0 else { return nil }
        return Run(normalized: nil, count: Int(count), unchanged: changed == 0, utf8Count: bytes.count)
    }

    // MARK: - Testing hooks

    /// The segments of `text` after normalization — [start, end) in UTF-16 units of the normalized
    /// text, and ICU's rule status — and which path cut them (`MTL_PATH_*`). Tests compare paths.
    func segmentsForTesting(_ text: String) throws -> (segments: [[Int32]], path: Int32) {
        var text = text
        return try text.withUTF8 { bytes in
            var error = MTLError()
            try check(mtl_decode_utf8(bytes.baseAddress, Int32(bytes.count), 1, decoded, nil, &error), error)
            let normalized = try normalizeDecoded()
            try check(mtl_segment(segmenter, normalized.pointee.text, normalized.pointee.length, segments, &error), error)
            let s = segments.pointee
            return ((0..<Int(s.count)).map { [s.start[$0], s.end[$0], s.status[$0]] }, mtl_segmenter_last_path(segmenter))
        }
    }

    /// Whether all-ASCII text takes the one-pass path (`mtl_tokenize_ascii`) in this pipeline.
    var hasASCIIPathForTesting: Bool { asciiMap != nil }

    /// Whether the CJK dictionary engine serves this ICU, and ICU's major version.
    static var cjkEngineForTesting: (available: Bool, icuMajor: Int32) {
        var major: Int32 = 0
        let available = mtl_cjk_engine_available(&major) != 0
        return (available, major)
    }

    /// Each piece (a byte range of `bytes`) becomes exactly one token, normalized on its own.
    /// `placedIn`: the text the tokens point into and each token's range there, when the pieces
    /// are not themselves slices of the original.
    private func tokenizePieces(bytes: UnsafeBufferPointer<UInt8>, original: String, pieces: [Range<Int>],
                                placedIn: (UnsafeBufferPointer<UInt8>, [Range<Int>])? = nil) throws -> TokenizedText {
        var tokens: [Token] = []
        tokens.reserveCapacity(pieces.count)
        var normalizedBytes: [UInt8] = []
        normalizedBytes.reserveCapacity(bytes.count + 8)
        var error = MTLError()
        for (index, piece) in pieces.enumerated() {
            if index > 0 { normalizedBytes.append(0x20) }
            let base = bytes.baseAddress!.advanced(by: piece.lowerBound)
            try check(mtl_decode_utf8(base, Int32(piece.count), 1, decoded, nil, &error), error)
            let normalized = try normalizeDecoded()
            let begin = normalizedBytes.count
            Self.appendUTF8(normalized.pointee.text, normalized.pointee.length, to: &normalizedBytes)
            let place = placedIn.map { $0.1[index] } ?? piece
            tokens.append(Token(scalarStart: 0, scalarEnd: 0,
                                utf8Start: Int32(place.lowerBound), utf8End: Int32(place.upperBound),
                                normalizedStart: Int32(begin), normalizedEnd: Int32(normalizedBytes.count),
                                kind: Self.kind(of: normalized.pointee)))
        }
        Self.fillScalarOffsets(&tokens, bytes: placedIn?.0 ?? bytes)
        return TokenizedText(original: original, normalized: String(decoding: normalizedBytes, as: UTF8.self), tokens: tokens)
    }

    /// Runs the normalizer stages over `decoded`; returns the buffer holding the result.
    private func normalizeDecoded() throws -> UnsafeMutablePointer<MTLAligned> {
        var input = decoded, output = front
        var error = MTLError()
        for stage in stages {
            try check(mtl_stage_apply(stage, input, output, &error), error)
            input = output
            output = output == front ? back : front
        }
        return input
    }

    private static func isUnchanged(_ a: MTLAligned, _ b: MTLAligned) -> Bool {
        a.length == b.length && (a.text == b.text || memcmp(a.text, b.text, Int(a.length) * 2) == 0)
    }

    // MARK: - Helpers

    /// Fills scalar offsets from UTF-8 offsets by counting lead bytes, in one pass (tokens are in order).
    private static func fillScalarOffsets(_ tokens: inout [Token], bytes: UnsafeBufferPointer<UInt8>) {
        var position: Int32 = 0, scalars: Int32 = 0
        for i in tokens.indices {
            // Words of one multiword token share its range: count from the previous token's start.
            if position > tokens[i].utf8Start {
                if i > 0, tokens[i - 1].utf8Start <= tokens[i].utf8Start {
                    position = tokens[i - 1].utf8Start; scalars = tokens[i - 1].scalarStart
                } else {
                    position = 0; scalars = 0
                }
            }
            while position < tokens[i].utf8Start { scalars += bytes[Int(position)] & 0xC0 != 0x80 ? 1 : 0; position += 1 }
            tokens[i].scalarStart = scalars
            while position < tokens[i].utf8End { scalars += bytes[Int(position)] & 0xC0 != 0x80 ? 1 : 0; position += 1 }
            tokens[i].scalarEnd = scalars
        }
    }

    private static func utf8String(_ units: UnsafeMutablePointer<UInt16>, _ count: Int32) -> String {
        if count == 0 { return "" }
        return String(unsafeUninitializedCapacity: Int(count) * 3) { buffer in
            Int(mtl_encode_utf8(units, count, buffer.baseAddress, Int32(buffer.count)))
        }
    }

    private static func appendUTF8(_ units: UnsafeMutablePointer<UInt16>, _ count: Int32, to bytes: inout [UInt8]) {
        guard count > 0 else { return }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: Int(count) * 3))
        let written = bytes.withUnsafeMutableBufferPointer {
            mtl_encode_utf8(units, count, $0.baseAddress! + start, Int32(count) * 3)
        }
        bytes.removeLast(Int(count) * 3 - Int(written))
    }

    /// The kind of a pre-tokenized piece, classified as the segmenters classify a segment.
    private static func kind(of text: MTLAligned) -> TokenKind {
        TokenKind(rawValue: UInt8(truncatingIfNeeded: mtl_class_of_text(text.text, text.length))) ?? .other
    }

    /// Byte ranges of the space-separated pieces of a pre-tokenized line (runs of ASCII space or tab).
    private static func spaceSeparated(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var pieces: [Range<Int>] = []
        var i = 0
        while i < bytes.count {
            while i < bytes.count && (bytes[i] == 0x20 || bytes[i] == 0x09) { i += 1 }
            let start = i
            while i < bytes.count && bytes[i] != 0x20 && bytes[i] != 0x09 { i += 1 }
            if i > start { pieces.append(start..<i) }
        }
        return pieces
    }

    private func check(_ rc: Int32, _ error: MTLError) throws {
        guard rc != 0 else { return }
        throw TextError(.icu, Self.message(error))
    }

    static func message(_ error: MTLError) -> String {
        withUnsafeBytes(of: error.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }
}
