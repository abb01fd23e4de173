import CLibXML2

/// Why an XPath field expression cannot be used, and where in it.
public struct XPathProblem: Sendable, Hashable, Error {
    /// 0-based offset, in characters, of where the expression goes wrong (libxml2's parse
    /// position, or the path step applied to a value that is not a node-set).
    public var offset: Int
    /// libxml2's reason (`Invalid expression`, `Invalid type`, …).
    public var reason: String

    /// `invalid XPath expression 't[' at character 3 (end of the expression): Invalid expression`
    public func describe(_ expression: String) -> String {
        let where_ = offset >= expression.count ? "at character \(offset + 1) (end of the expression)" : "at character \(offset + 1)"
        return "invalid XPath expression '\(expression)' \(where_): \(reason)"
    }
}

/// Checks XPath field expressions before any record is read, so that a mistake is reported
/// once, naming the expression and the position in it, instead of on every record (or,
/// as before, by a crash). libxml2 finds syntax errors when it compiles an expression, but
/// type errors (`concat(a, b)/c`: a path step on a string) only when it evaluates one; so
/// the expression is also evaluated once on an empty record element.
enum XPathCheck {
    static func problem(_ expression: String, namespaces: [String: String]) -> XPathProblem? {
        xmlInitParser()   // this may be the program's first libxml2 call (the CLI checks its flags first)
        XMLErrors.silenceGenericErrors()
        guard let doc = xmlNewDoc("1.0") else { return nil }
        defer { xmlFreeDoc(doc) }
        let root = xmlNewDocNode(doc, nil, "record", nil)
        xmlDocSetRootElement(doc, root)
        guard let context = XMLErrors.silentXPathContext(doc) else { return nil }
        defer { xmlXPathFreeContext(context) }
        for (prefix, uri) in namespaces { xmlXPathRegisterNs(context, prefix, uri) }

        switch evaluate(expression, context, root) {
        case .ok: return nil
        case .compileError(let byteOffset, let reason):
            return XPathProblem(offset: characters(expression, byteOffset), reason: reason)
        case .evalError(let reason):
            // Where: the first `/` or `[` applied to a prefix that is a valid expression but
            // not a node-set (libxml2 reports no position for evaluation errors).
            var inLiteral: UInt8? = nil
            for (i, c) in expression.utf8.enumerated() {
                if let q = inLiteral { if c == q { inLiteral = nil }; continue }
                if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") { inLiteral = c; continue }
                guard c == UInt8(ascii: "/") || c == UInt8(ascii: "["), i > 0 else { continue }
                let prefix = String(decoding: expression.utf8.prefix(i), as: UTF8.self)
                if case .notNodeSet = evaluate(prefix, context, root) {
                    return XPathProblem(offset: characters(expression, i),
                                        reason: "\(reason) (a path step or predicate applied to a value that is not a node-set)")
                }
            }
            return XPathProblem(offset: 0, reason: reason)
        case .notNodeSet:
            return nil
        }
    }

    private enum Outcome { case ok, notNodeSet, compileError(Int, String), evalError(String) }

    private static func evaluate(_ expression: String, _ context: xmlXPathContextPtr, _ node: xmlNodePtr?) -> Outcome {
        xmlResetError(&context.pointee.lastError)
        guard let comp = xmlXPathCtxtCompile(context, expression) else {
            let e = context.pointee.lastError
            return .compileError(Int(max(0, e.int1)), message(e) ?? "Invalid expression")
        }
        defer { xmlXPathFreeCompExpr(comp) }
        mtl_xpath_set_node(context, node)
        xmlResetError(&context.pointee.lastError)
        guard let obj = xmlXPathCompiledEval(comp, context) else {
            let e = context.pointee.lastError
            // A prefix may be one the document declares (registered per record at import).
            if e.code == Int32(XML_XPATH_UNDEF_PREFIX_ERROR.rawValue) { return .ok }
            return .evalError(message(e) ?? "cannot be evaluated")
        }
        defer { xmlXPathFreeObject(obj) }
        return obj.pointee.type == XPATH_NODESET ? .ok : .notNodeSet
    }

    /// libxml2 fills a context's `lastError` with a code only (its message table is private).
    static func message(_ e: xmlError) -> String? {
        if let m = e.message {
            var s = String(cString: m)
            while s.last == "\n" || s.last == " " { s.removeLast() }
            if !s.isEmpty { return s }
        }
        let i = Int(e.code) - Int(XML_XPATH_EXPRESSION_OK.rawValue)
        return i > 0 && i < messages.count ? messages[i] : nil
    }

    /// xpath.c's `xmlXPathErrorMessages`, indexed by code − `XML_XPATH_EXPRESSION_OK`.
    private static let messages = [
        "Ok", "Number encoding", "Unfinished literal", "Start of literal", "Expected $ for variable reference",
        "Undefined variable", "Invalid predicate", "Invalid expression", "Missing closing curly brace",
        "Unregistered function", "Invalid operand", "Invalid type", "Invalid number of arguments",
        "Invalid context size", "Invalid context position", "Memory allocation error", "Syntax error",
        "Resource error", "Sub resource error", "Undefined namespace prefix", "Encoding error",
        "Char out of XML range", "Invalid or incomplete context", "Stack usage error", "Forbidden variable",
    ]

    private static func characters(_ s: String, _ byteOffset: Int) -> Int {
        String(decoding: s.utf8.prefix(byteOffset), as: UTF8.self).count
    }
}

/// libxml2 writes errors nobody asked for to stderr through its "generic" handler (XPath
/// errors raised without a context callback, for one); ours are reported as `ImportError`s.
enum XMLErrors {
    /// libxml2's handlers are per thread: call on every thread that uses libxml2.
    static func silenceGenericErrors() {
        mtl_xml_silence_errors()
    }

    /// An XPath context whose errors go to `lastError` only (not to stderr).
    static func silentXPathContext(_ doc: xmlDocPtr?) -> xmlXPathContextPtr? {
        guard let context = xmlXPathNewContext(doc) else { return nil }
        context.pointee.error = { _, _ in }
        return context
    }
}

extension XPathCheck {
    /// `expression` with every name test `P:name` for P in `prefixes` (bound to `uri`) widened
    /// to also match elements that were in the default namespace `uri` and were taken out of it
    /// before evaluation: `*[local-name()='name'][namespace-uri()='uri' or not(namespace-uri())]`
    /// (`<t:a>` and `<a xmlns="uri">` both). Not inside string literals, not an axis
    /// (`child::`), not an attribute's prefix (attributes are never in a default namespace).
    /// An element that a nested `xmlns=""` put in no namespace matches too: after stripping,
    /// libxml2 cannot tell it from one that was in the default namespace.
    static func widening(_ prefixes: [String: String], in expression: String) -> String {
        let s = Array(expression.unicodeScalars)
        func isNameChar(_ c: Unicode.Scalar) -> Bool {
            c == "_" || c == "-" || c == "." || c.properties.isAlphabetic || c.properties.numericType != nil
        }
        var out = ""
        var i = 0
        while i < s.count {
            let c = s[i]
            if c == "'" || c == "\"" {
                var j = i + 1
                while j < s.count, s[j] != c { j += 1 }
                out.unicodeScalars.append(contentsOf: s[i..<min(j + 1, s.count)])
                i = j + 1
                continue
            }
            let before: Unicode.Scalar? = i > 0 ? s[i - 1] : nil
            let startsName = (c == "_" || c.properties.isAlphabetic)
                && before.map { !isNameChar($0) && $0 != "@" && $0 != "$" && ($0 != ":" || (i > 1 && s[i - 2] == ":")) } ?? true
            guard startsName else { out.unicodeScalars.append(c); i += 1; continue }
            var j = i
            while j < s.count, isNameChar(s[j]) { j += 1 }
            var name = String.UnicodeScalarView(); name.append(contentsOf: s[i..<j])
            if j + 1 < s.count, s[j] == ":", s[j + 1] != ":", let uri = prefixes[String(name)], !uri.contains("'") {
                let inNamespace = "[namespace-uri()='\(uri)' or not(namespace-uri())]"
                if s[j + 1] == "*" {
                    out += "*" + inNamespace
                    i = j + 2
                    continue
                }
                var k = j + 1
                while k < s.count, isNameChar(s[k]) { k += 1 }
                if k > j + 1, k == s.count || s[k] != "(" {
                    var local = String.UnicodeScalarView(); local.append(contentsOf: s[(j + 1)..<k])
                    out += "*[local-name()='\(String(local))']" + inNamespace
                    i = k
                    continue
                }
            }
            out.unicodeScalars.append(contentsOf: s[i..<j])
            i = j
        }
        return out
    }
}
