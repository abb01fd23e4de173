/// A field expression in the part of XPath that `XMLSubsetParser` evaluates while it parses:
/// child steps from the record element, optionally ending in an attribute — `text`,
/// `aspectTerms/aspectTerm/@from`, `@id`, `revision/text`, `t:note` (a prefix from the
/// mapping's `namespaces`). Anything else (functions, predicates, `//`, `.`) is left to libxml2.
///
/// The value is the one `XMLRecordReader` gets from libxml2 for the same expression: a
/// node-set, as `.list` of the nodes' string values in document order. A child-only path
/// enumerates its nodes in document order and without duplicates, so no sorting is needed.
struct XMLFieldPath: Sendable, Equatable {
    /// A name test. Unprefixed, it matches only unprefixed names: `XMLRecordReader` takes the
    /// record's subtree out of its default namespace before evaluating, and an XPath name
    /// without a prefix means "no namespace". Prefixed, it matches names in the namespace the
    /// mapping binds the prefix to (the mapping's bindings win over the document's).
    struct Name: Sendable, Equatable {
        let local: [UInt8]
        /// The namespace URI of the expression's prefix; nil without a prefix.
        let uri: [UInt8]?
    }

    let steps: [Name]
    let attribute: Name?

    /// nil when `expression` is outside the subset. Prefixes must come from `namespaces`:
    /// a prefix libxml2 would take from the document is resolved per record there (and stays
    /// registered for later records), which is not worth mirroring.
    init?(_ expression: String, namespaces: [String: String]) {
        var parts = expression.split(separator: "/", omittingEmptySubsequences: false)
        var attribute: Name?
        if let last = parts.last, last.hasPrefix("@") {
            guard let a = Self.name(last.dropFirst(), namespaces) else { return nil }
            attribute = a
            parts.removeLast()
        }
        var steps: [Name] = []
        for part in parts {
            guard let step = Self.name(part, namespaces) else { return nil }
            steps.append(step)
        }
        guard !steps.isEmpty || attribute != nil else { return nil }
        self.steps = steps
        self.attribute = attribute
    }

    /// `NCName` or `prefix:NCName`, ASCII only.
    private static func name(_ text: Substring, _ namespaces: [String: String]) -> Name? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy(isNCName) else { return nil }
        guard parts.count == 2 else { return Name(local: Array(text.utf8), uri: nil) }
        let prefix = String(parts[0])
        guard prefix != "xml", prefix != "xmlns", let uri = namespaces[prefix], !uri.isEmpty else { return nil }
        return Name(local: Array(parts[1].utf8), uri: Array(uri.utf8))
    }

    private static func isNCName(_ s: Substring) -> Bool {
        guard let first = s.utf8.first, XMLByteClass.isNameStart(first) else { return false }
        return s.utf8.allSatisfy(XMLByteClass.isNameChar)
    }
}
