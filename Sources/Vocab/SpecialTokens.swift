import Foundation
import Store

/// The special tokens of a vocabulary, at fixed ids 0, 1, … in the order given.
///
/// A role says what the trainer and the encoder use a token for; `unk` is required (every
/// token outside the vocabulary is encoded as it), the others are optional.
///
/// Presets (also in the repository's `Vocab/presets/*.json`, which a test keeps identical):
/// - `default` (torchtext-style): `<pad>` 0, `<unk>` 1, `<bos>` 2, `<eos>` 3, `<mask>` 4
/// - `bert`: `[PAD]` 0, `[UNK]` 1, `[CLS]` 2, `[SEP]` 3, `[MASK]` 4
/// - `fairseq`: `<s>` 0, `<pad>` 1, `</s>` 2, `<unk>` 3
/// - `minimal`: `<pad>` 0, `<unk>` 1
public struct SpecialTokens: Sendable, Hashable, Codable {
    public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
        case pad, unk, bos, eos, mask
    }
    public struct Entry: Sendable, Hashable, Codable {
        public var role: Role
        public var token: String
        public init(role: Role, token: String) { self.role = role; self.token = token }
    }

    /// In id order.
    public var entries: [Entry]

    public init(_ entries: [Entry]) throws(VocabError) {
        var roles = Set<Role>(), tokens = Set<String>()
        for e in entries {
            guard roles.insert(e.role).inserted else { throw VocabError("special token role '\(e.role.rawValue)' appears twice") }
            guard !e.token.isEmpty else { throw VocabError("special token for role '\(e.role.rawValue)' is empty") }
            guard tokens.insert(e.token).inserted else { throw VocabError("special token '\(e.token)' appears twice") }
        }
        guard roles.contains(.unk) else { throw VocabError("special tokens need an 'unk' token: out-of-vocabulary tokens are encoded as it") }
        self.entries = entries
    }

    /// The id of a role's token, if present.
    public func id(of role: Role) -> Int? { entries.firstIndex { $0.role == role } }

    public static let presets: [String: SpecialTokens] = [
        "default": try! SpecialTokens([.init(role: .pad, token: "<pad>"), .init(role: .unk, token: "<unk>"), .init(role: .bos, token: "<bos>"),
                                       .init(role: .eos, token: "<eos>"), .init(role: .mask, token: "<mask>")]),
        "bert": try! SpecialTokens([.init(role: .pad, token: "[PAD]"), .init(role: .unk, token: "[UNK]"), .init(role: .bos, token: "[CLS]"),
                                    .init(role: .eos, token: "[SEP]"), .init(role: .mask, token: "[MASK]")]),
        "fairseq": try! SpecialTokens([.init(role: .bos, token: "<s>"), .init(role: .pad, token: "<pad>"), .init(role: .eos, token: "</s>"),
                                       .init(role: .unk, token: "<unk>")]),
        "minimal": try! SpecialTokens([.init(role: .pad, token: "<pad>"), .init(role: .unk, token: "<unk>")]),
    ]

    /// Parses `role=token,role=token,…` (in id order).
    public static func parse(_ spec: String) throws(VocabError) -> SpecialTokens {
        var entries: [Entry] = []
        for part in spec.split(separator: ",", omittingEmptySubsequences: true) {
            guard let eq = part.firstIndex(of: "="), let role = Role(rawValue: String(part[..<eq]).trimmingCharacters(in: .whitespaces)) else {
                throw VocabError("special tokens '\(part)': expected role=token with role one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            entries.append(Entry(role: role, token: String(part[part.index(after: eq)...])))
        }
        return try SpecialTokens(entries)
    }

    /// The preset file format (`Vocab/presets/*.json`): `{"specials":[{"role":"pad","token":"<pad>"},…]}`.
    public var json: String {
        "{\"specials\":[" + entries.map { "{\"role\":\"\($0.role.rawValue)\",\"token\":\(jsonString($0.token))}" }.joined(separator: ",") + "]}"
    }
}

/// The one error type of `Vocab`.
public struct VocabError: Error, Sendable, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
