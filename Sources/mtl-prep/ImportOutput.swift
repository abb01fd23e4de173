import CorpusImport
import Foundation

/// The human-readable import summary (standard output).
enum SummaryText {
    static func print(_ s: ImportSummary) throws {
        var out = ""
        if s.status == .alreadyImported {
            out += "\(s.file): already imported as source \(s.sourceID) (same content, mapping and pipeline); nothing added (--replace re-imports)\n"
            try StandardOutput.write(Array(out.utf8))
            return
        }
        out += "\(s.file): imported as source \(s.sourceID): \(s.recordsRead) records read, \(s.examplesStored) examples stored, \(s.rejects) rejected"
        if !s.rejectReasons.isEmpty {
            out += " (" + s.rejectReasons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
        }
        out += String(format: "; %.1f MB in %.2f s (%.1f MB/s, %d threads)\n", Double(s.bytes) / 1e6, s.seconds, s.mbPerSecond, s.threads)
        if !s.replacedSourceIDs.isEmpty { out += "  replaced sources \(s.replacedSourceIDs.map(String.init).joined(separator: ", "))\n" }
        for task in s.labelCounts.keys.sorted() {
            let labels = s.labelCounts[task]!.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            // A seq2seq task's labels are its target vocabulary: show the most frequent.
            let shown = labels.prefix(30).map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            out += "  \(task): " + shown + (labels.count > 30 ? ", … (\(labels.count) in all)" : "") + "\n"
        }
        for (task, n) in s.truncatedTargets.sorted(by: { $0.key < $1.key }) where n > 0 {
            out += "  \(task): \(n) targets cut at the maximum length\n"
        }
        for task in s.spans.keys.sorted() {
            let c = s.spans[task]!
            out += "  \(task) spans: \(c.spans) read, \(c.aligned) on token boundaries, \(c.expanded) expanded, \(c.dropped) dropped (unaligned), \(c.overlapping) dropped (overlapping), \(c.noTokens) dropped (no tokens)"
            // Only when there are any: the line stays as it was for corpora without them.
            if c.empty > 0 { out += ", \(c.empty) empty (skipped)" }
            if c.duplicates > 0 { out += ", \(c.duplicates) exact duplicates (merged)" }
            if c.conflicting > 0 { out += ", \(c.conflicting) conflicting duplicates (first kept)" }
            out += "\n"
        }
        try StandardOutput.write(Array(out.utf8))
    }
}

/// A progress line on standard error (only used when it is a terminal).
final class ProgressLine {
    private var shown = false

    func update(_ p: ImportProgress) {
        let mb = Double(p.bytesRead) / 1e6
        let rate = Double(p.records) / max(p.seconds, 1e-9)
        var line: String
        if let total = p.totalBytes, total > 0 {
            let fraction = min(1, Double(p.bytesRead) / Double(total))
            let width = 24, filled = Int(fraction * Double(width))
            let eta = fraction > 0 ? p.seconds * (1 - fraction) / fraction : 0
            line = "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "]"
            line += String(format: " %3.0f%% %.1f/%.1f MB  %.0f records/s  ETA %.0fs", fraction * 100, mb, Double(total) / 1e6, rate, eta)
        } else {
            line = String(format: "%.1f MB  %.0f records/s", mb, rate)
        }
        FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K").utf8))
        shown = true
    }

    func clear() {
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)); shown = false }
    }
}
