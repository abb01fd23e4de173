/// Parsing of the short spec strings that describe a pipeline, e.g.
/// `nfkc_cf,transform(Traditional-Simplified),collapse_ws` and `words(locale=th,punct=drop)`.
///
/// A spec is a comma-separated list of `name` or `name(argument)` items; commas inside
/// parentheses or brackets belong to the argument, so Unicode sets and transform IDs need no
/// escaping. Names ignore case, and `-` and `_` are the same.
struct SpecItem: Equatable {
    var name: String
    var argument: String?
    var text: String
}

enum SpecParser {
    static func items(_ spec: String) throws -> [SpecItem] {
        var items: [SpecItem] = []
        var depth = 0
        var current = ""
        var escaped = false
        for character in spec {
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "(" || character == "[" {
                depth += 1
            } else if character == ")" || character == "]" {
                depth -= 1
                if depth < 0 { throw TextError.badSpec(spec, String(character), "unbalanced '\(character)'") }
            } else if character == "," && depth == 0 {
                items.append(try item(current, in: spec))
                current = ""
                continue
            }
            current.append(character)
        }
        if depth != 0 { throw TextError.badSpec(spec, current, "unclosed '(' or '['") }
        if !current.trimmingSpaces.isEmpty || !items.isEmpty { items.append(try item(current, in: spec)) }
        return items
    }

    private static func item(_ raw: String, in spec: String) throws -> SpecItem {
        let text = raw.trimmingSpaces
        if text.isEmpty { throw TextError.badSpec(spec, raw, "empty item") }
        guard let open = text.firstIndex(of: "(") else {
            return SpecItem(name: canonicalName(text), argument: nil, text: text)
        }
        guard text.last == ")" else { throw TextError.badSpec(spec, text, "text after ')' in '\(text)'") }
        let name = canonicalName(String(text[..<open]))
        let argument = String(text[text.index(after: open)..<text.index(before: text.endIndex)])
        return SpecItem(name: name, argument: argument, text: text)
    }

    static func canonicalName(_ name: String) -> String {
        name.trimmingSpaces.lowercased().replacingOccurrences(of: "-", with: "_")
    }

    /// `key=value` pairs of a tokenizer argument, split at top-level commas.
    static func options(_ argument: String, item: SpecItem, spec: String) throws -> [(String, String)] {
        try items(argument).map { option in
            guard let equals = option.text.firstIndex(of: "=") else {
                throw TextError.badSpec(spec, option.text, "option '\(option.text)' of '\(item.name)' is not key=value")
            }
            return (canonicalName(String(option.text[..<equals])),
                    String(option.text[option.text.index(after: equals)...]).trimmingSpaces)
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }

    func replacingOccurrences(of target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
