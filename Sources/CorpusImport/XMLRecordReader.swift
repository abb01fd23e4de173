import CLibXML2

/// Options of the XML reader.
public struct XMLOptions: Sendable, Hashable {
    /// Local name of the record element (`sentence`, `page`, `TEI`).
    public var recordElement: String
    /// Namespace URI the record element must have; nil matches any namespace.
    public var namespaceURI: String?
    /// Extra prefix → URI bindings usable in the XPath expressions (the document's own
    /// prefixed namespaces in scope on the record are registered automatically).
    public var namespaces: [String: String]
    /// Record bytes, text node bytes and nesting depth (`tokensPerExample` is not the reader's).
    public var limits: ReaderLimits

    public init(recordElement: String, namespaceURI: String? = nil, namespaces: [String: String] = [:],
                limits: ReaderLimits = ReaderLimits()) {
        self.recordElement = recordElement; self.namespaceURI = namespaceURI; self.namespaces = namespaces
        self.limits = limits
    }
}

/// Streaming XML reader over libxml2's `xmlTextReader`.
///
/// Each element whose local name is `recordElement` is one record: it is expanded alone
/// (`xmlTextReaderExpand`), the XPath expressions are evaluated with it as the context node,
/// and the reader skips to its next sibling, so memory is bounded by one record.
///
/// XPath results: a node-set gives `.list` of the nodes' string values (element text,
/// attribute values), in document order; strings, numbers and booleans give `.string`.
/// Elements in a DEFAULT namespace (TEI, MediaWiki) are matched by unprefixed names:
/// `revision/text` works in a MediaWiki export (the record's subtree is taken out of its
/// default namespace before evaluation). Prefixed namespaces use the document's prefixes.
///
/// Security (XML from strangers is hostile): no `XML_PARSE_NOENT`, `DTDLOAD` or `HUGE`;
/// `NONET`. A document whose DTD declares general entities is refused (`unsafeXML`) before
/// any entity is expanded, which makes entity-expansion bombs fail fast in bounded memory;
/// predefined entities (`&lt;`, `&quot;`) and character references decode normally.
/// Not-well-formed XML fails with `notWellFormedXML` at libxml2's line and column.
public final class XMLRecordReader: RecordReader {
    public let options: XMLOptions
    private let source: ByteSource
    private var reader: xmlTextReaderPtr?
    private let fields: [String]
    private var compiled: [xmlXPathCompExprPtr] = []
    /// The expressions with the prefixes bound to a record's default namespace widened to the
    /// elements stripped out of it (`XPathCheck.widening`), by those prefixes (sorted).
    /// Compiled once per set, usually one for a whole file.
    private var widened: [[String]: [xmlXPathCompExprPtr]] = [:]
    private var context: xmlXPathContextPtr?
    private var skipCurrent = false
    private var silenced = false
    private var ioError: ImportError?
    fileprivate var parseError: ImportError?
    /// Records returned so far.
    public private(set) var records = 0
    /// The elements of the top levels, while no record has been found.
    private(set) var survey = ElementSurvey()

    /// - Parameters:
    ///   - fields: XPath expressions relative to the record element, in the order
    ///     `RawRecord.fields` will hold them; invalid ones fail with `invalidXPath`.
    public init(path: String, fields: [String], options: XMLOptions,
                displayName: String? = nil, hashing: Bool = false) throws(ImportError) {
        self.options = options
        self.fields = fields
        source = try ByteSource(path: path, displayName: displayName, hashing: hashing)
        xmlInitParser()
        XMLErrors.silenceGenericErrors()
        // deinit frees what was compiled when this throws (freeing here too was a double free).
        guard let compiler = XMLErrors.silentXPathContext(nil) else {
            throw ImportError(.io, RecordLocator(file: source.displayName), "cannot create an XPath context")
        }
        defer { xmlXPathFreeContext(compiler) }
        for f in fields {
            if let problem = XPathCheck.problem(f, namespaces: options.namespaces) {
                throw ImportError(.invalidXPath, RecordLocator(file: source.displayName), problem.describe(f))
            }
            guard let c = xmlXPathCtxtCompile(compiler, f) else {
                throw ImportError(.invalidXPath, RecordLocator(file: source.displayName), "invalid XPath '\(f)'")
            }
            compiled.append(c)
        }
        // HUGE only when the user raised a limit past libxml2's defaults; the limits given are
        // then checked on each record element (`checkLimits`).
        let opts = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue
                         | XML_PARSE_BIG_LINES.rawValue | XML_PARSE_NOCDATA.rawValue | XML_PARSE_COMPACT.rawValue
                         | (options.limits.needsHugeXML ? XML_PARSE_HUGE.rawValue : 0))
        let me = Unmanaged.passUnretained(self).toOpaque()
        reader = xmlReaderForIO({ ctx, buffer, len in
            let me = Unmanaged<XMLRecordReader>.fromOpaque(ctx!).takeUnretainedValue()
            do { return Int32(try me.source.read(into: buffer!, count: Int(len))) }
            catch { me.ioError = error as? ImportError; return -1 }
        }, nil, me, source.displayName, nil, opts)
        guard let reader else {
            throw ImportError(.io, RecordLocator(file: source.displayName), "libxml2 could not create a reader")
        }
        xmlTextReaderSetStructuredErrorHandler(reader, { ctx, err in
            guard let ctx, let err, err.pointee.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
            let me = Unmanaged<XMLRecordReader>.fromOpaque(ctx).takeUnretainedValue()
            guard me.parseError == nil else { return }
            var msg = err.pointee.message.map { String(cString: $0) } ?? "XML error \(err.pointee.code)"
            while msg.last == "\n" || msg.last == " " { msg.removeLast() }
            var line = Int(err.pointee.line), col = Int(err.pointee.int2)
            let code = err.pointee.code
            if code == Int32(XML_ERR_ENTITY_LOOP.rawValue) || code == Int32(XML_ERR_ENTITY_BOUNDARY.rawValue) {
                // Raised inside an entity's replacement text: report the document line instead.
                line = me.reader.map { Int(xmlTextReaderGetParserLineNumber($0)) } ?? 0; col = 0
                me.parseError = ImportError(.unsafeXML, RecordLocator(file: me.source.displayName, line: line > 0 ? line : nil),
                    "entity expansion refused: \(msg) (an entity-expansion bomb?)")
                return
            }
            let loc = RecordLocator(file: me.source.displayName, line: line > 0 ? line : nil, column: line > 0 && col > 0 ? col : nil)
            // libxml2's own size limits, in the words of ours (the reader cannot go on after them).
            let limits = me.options.limits
            if msg.contains("Excessive depth") {
                me.parseError = ImportError(.unsafeXML, loc, limits.tooDeep("XML elements", loc).message)
            } else if msg.contains("huge text node") || msg.contains("AttValue length too long") || msg.contains("too big found") {
                me.parseError = ImportError(.unsafeXML, loc, limits.textNodeTooLong("an XML text node, attribute value, CDATA section or comment", bytes: nil, loc).message)
            } else {
                me.parseError = ImportError(.notWellFormedXML, loc, "not well-formed XML: \(msg)")
            }
        }, me)
    }

    deinit {
        if let context { xmlXPathFreeContext(context) }
        compiled.forEach { xmlXPathFreeCompExpr($0) }
        widened.values.forEach { $0.forEach { xmlXPathFreeCompExpr($0) } }
        if let reader { xmlFreeTextReader(reader) } // also frees the document
    }

    public var bytesRead: Int64 { source.bytesRead }
    public var totalBytes: Int64? { source.totalBytes }
    public var contentSHA256: String? { source.digest }

    public func noRecordsExplanation() -> String { survey.explanation(options) }

    private func failure(_ fallback: String) -> ImportError {
        ioError ?? parseError ?? ImportError(.notWellFormedXML, RecordLocator(file: source.displayName), fallback)
    }

    public func next() throws(ImportError) -> RawRecord? {
        guard let reader else { return nil }
        if !silenced {   // libxml2's handlers are per thread: this is the reader thread, not init's
            XMLErrors.silenceGenericErrors()
            silenced = true
        }
        while true {
            let rc = skipCurrent ? xmlTextReaderNext(reader) : xmlTextReaderRead(reader)
            skipCurrent = false
            if rc < 0 || parseError != nil || ioError != nil { throw failure("XML parse error") }
            if rc == 0 { return nil }
            let type = xmlTextReaderNodeType(reader)
            if type == Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue) {
                // Not xmlTextReaderCurrentDoc: it sets the reader's "preserve" flag, after
                // which the reader would keep every parsed node (memory growing with the file).
                if mtl_xml_doc_declares_entities(xmlTextReaderCurrentNode(reader)?.pointee.doc) != 0 {
                    throw ImportError(.unsafeXML, RecordLocator(file: source.displayName, line: Int(xmlTextReaderGetParserLineNumber(reader))),
                                      "the document's DTD declares entities; refused (entity expansion is disabled for untrusted XML)")
                }
                continue
            }
            guard type == Int32(XML_READER_TYPE_ELEMENT.rawValue), let name = xmlTextReaderConstLocalName(reader) else { continue }
            let local = String(cString: name)
            if records == 0 {
                let depth = Int(xmlTextReaderDepth(reader))
                if depth < ElementSurvey.levels {
                    survey.note(depth: depth, local: local, uri: xmlTextReaderConstNamespaceUri(reader).map { String(cString: $0) })
                }
            }
            guard local == options.recordElement else { continue }
            if let uri = options.namespaceURI {
                let ns = xmlTextReaderConstNamespaceUri(reader).map { String(cString: $0) } ?? ""
                if ns != uri { continue }
            }
            let depth = Int(xmlTextReaderDepth(reader)) + 1
            let consumedBefore = Int(xmlTextReaderByteConsumed(reader))
            guard let node = xmlTextReaderExpand(reader) else { throw failure("cannot expand record element") }
            if mtl_xml_doc_declares_entities(node.pointee.doc) != 0 {
                throw ImportError(.unsafeXML, RecordLocator(file: source.displayName, line: Int(xmlGetLineNo(node))),
                                  "the document's DTD declares entities; refused (entity expansion is disabled for untrusted XML)")
            }
            records += 1
            skipCurrent = true
            let locator = RecordLocator(file: source.displayName, line: Int(xmlGetLineNo(node)),
                                        recordIndex: records, elementPath: Self.path(of: node))
            // The parser's position moves by input chunks: the record's size is known to within
            // a few KB, enough for a limit in megabytes (the subset parser hands a record that
            // may pass the limit to this reader, which decides).
            let bytes = Int(xmlTextReaderByteConsumed(reader)) - consumedBefore
            if bytes > options.limits.recordBytes { throw options.limits.recordTooLong("record element", bytes: bytes, locator) }
            try Self.checkLimits(node, depth: depth, options.limits, locator)
            return RawRecord(locator: locator, fields: try evaluate(on: node, locator: locator))
        }
    }

    /// Nesting and text sizes of a record element at `depth` (the root is 1) against the limits
    /// (libxml2 checks its own defaults while parsing; limits below them or raised past them
    /// with XML_PARSE_HUGE are checked here). The reader has consumed the record: it goes on.
    static func checkLimits(_ record: xmlNodePtr, depth: Int, _ limits: ReaderLimits, _ locator: RecordLocator) throws(ImportError) {
        var stack: [(xmlNodePtr, Int)] = [(record, depth)]
        while let (n, d) = stack.popLast() {
            if d > limits.depth { throw limits.tooDeep("XML elements", locator) }
            var a = n.pointee.properties
            while let attr = a {
                var c = attr.pointee.children
                var length = 0
                while let t = c { length += t.pointee.content.map { Int(xmlStrlen($0)) } ?? 0; c = t.pointee.next }
                if length > limits.textNodeBytes { throw limits.textNodeTooLong("an attribute value", bytes: length, locator) }
                a = attr.pointee.next
            }
            var c = n.pointee.children
            var run = 0   // adjacent text and CDATA nodes are one text node to a reader of the record
            while let child = c {
                switch child.pointee.type {
                case XML_ELEMENT_NODE: stack.append((child, d + 1)); run = 0
                case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                    run += child.pointee.content.map { Int(xmlStrlen($0)) } ?? 0
                    if run > limits.textNodeBytes { throw limits.textNodeTooLong("an XML text node", bytes: run, locator) }
                default: run = 0
                }
                c = child.pointee.next
            }
        }
    }

    /// `/a/b/record` from local names.
    static func path(of node: xmlNodePtr) -> String {
        var names: [String] = []
        var n: xmlNodePtr? = node
        while let cur = n, cur.pointee.type == XML_ELEMENT_NODE {
            names.append(cur.pointee.name.map { String(cString: $0) } ?? "?")
            n = cur.pointee.parent
        }
        return "/" + names.reversed().joined(separator: "/")
    }

    /// Takes the record's elements out of a default (unprefixed) namespace; returns the
    /// namespaces' URIs.
    @discardableResult
    private static func stripDefaultNamespace(_ node: xmlNodePtr) -> Set<String> {
        var uris = Set<String>()
        var last: xmlNsPtr?   // elements of one declaration share it: one string per declaration, not per element
        var stack: [xmlNodePtr] = [node]
        while let n = stack.popLast() {
            if let ns = n.pointee.ns, ns.pointee.prefix == nil {
                if ns != last, let href = ns.pointee.href { uris.insert(String(cString: href)); last = ns }
                n.pointee.ns = nil
            }
            var c = n.pointee.children
            while let child = c {
                if child.pointee.type == XML_ELEMENT_NODE { stack.append(child) }
                c = child.pointee.next
            }
        }
        return uris
    }

    /// The compiled expressions for a record whose default namespaces are `uris`.
    private func expressions(defaultNamespaces uris: Set<String>, locator: RecordLocator) throws(ImportError) -> [xmlXPathCompExprPtr] {
        let bound = options.namespaces.filter { uris.contains($0.value) }
        let key = bound.keys.sorted()
        if key.isEmpty { return compiled }
        if let known = widened[key] { return known }
        guard let compiler = XMLErrors.silentXPathContext(nil) else { throw ImportError(.io, locator, "cannot create an XPath context") }
        defer { xmlXPathFreeContext(compiler) }
        for (prefix, uri) in options.namespaces { xmlXPathRegisterNs(compiler, prefix, uri) }
        var out: [xmlXPathCompExprPtr] = []
        for f in fields {
            guard let c = xmlXPathCtxtCompile(compiler, XPathCheck.widening(bound, in: f)) else {
                out.forEach { xmlXPathFreeCompExpr($0) }
                throw ImportError(.invalidXPath, locator, "invalid XPath '\(f)' widened to the default namespace: '\(XPathCheck.widening(bound, in: f))'")
            }
            out.append(c)
        }
        widened[key] = out
        return out
    }

    private func evaluate(on node: xmlNodePtr, locator: RecordLocator) throws(ImportError) -> [FieldValue] {
        if context == nil {
            context = XMLErrors.silentXPathContext(node.pointee.doc)
            for (prefix, uri) in options.namespaces { xmlXPathRegisterNs(context, prefix, uri) }
        }
        guard let context else { throw ImportError(.io, locator, "cannot create an XPath context") }
        if let list = xmlGetNsList(node.pointee.doc, node) {
            var i = 0
            while let ns = list[i] {
                if let prefix = ns.pointee.prefix, options.namespaces[String(cString: prefix)] == nil {
                    xmlXPathRegisterNs(context, prefix, ns.pointee.href)
                }
                i += 1
            }
            mtl_xml_free(list)
        }
        let defaults = Self.stripDefaultNamespace(node)
        let expressions = options.namespaces.isEmpty || defaults.isEmpty ? compiled : try expressions(defaultNamespaces: defaults, locator: locator)
        mtl_xpath_set_node(context, node)
        var out: [FieldValue] = []
        out.reserveCapacity(expressions.count)
        for (k, comp) in expressions.enumerated() {
            guard let obj = xmlXPathCompiledEval(comp, context) else {
                let reason = XPathCheck.message(context.pointee.lastError) ?? "failed"
                throw ImportError(.invalidXPath, locator, "XPath '\(fields[k])' cannot be evaluated on this record: \(reason)")
            }
            defer { xmlXPathFreeObject(obj) }
            switch obj.pointee.type {
            case XPATH_NODESET:
                var values: [String] = []
                if let set = obj.pointee.nodesetval, set.pointee.nodeNr > 0 {
                    for k in 0..<Int(set.pointee.nodeNr) {
                        guard let n = set.pointee.nodeTab[k], let content = xmlNodeGetContent(n) else { values.append(""); continue }
                        values.append(String(cString: content))
                        mtl_xml_free(content)
                    }
                }
                out.append(.list(values))
            case XPATH_STRING:
                out.append(.string(obj.pointee.stringval.map { String(cString: $0) } ?? ""))
            case XPATH_NUMBER:
                let v = obj.pointee.floatval
                out.append(.string(v.rounded() == v && abs(v) < 1e15 ? String(Int64(v)) : String(v)))
            case XPATH_BOOLEAN:
                out.append(.string(obj.pointee.boolval != 0 ? "true" : "false"))
            default:
                out.append(.missing)
            }
        }
        return out
    }
}

/// The element names of a document's top levels, for the error that says no record element
/// was found: a misspelled `--record` or a wrong `--namespace` shows at once beside them.
struct ElementSurvey {
    static let levels = 3
    private static let maxPaths = 16
    private var stack: [String] = []
    private var seen: Set<String> = []
    /// Distinct paths of local names with their namespace URIs ("" for none), first seen first.
    private(set) var paths: [(path: String, uri: String)] = []
    private var more = false

    mutating func note(depth: Int, local: String, uri: String?) {
        if stack.count > depth { stack.removeLast(stack.count - depth) }
        while stack.count < depth { stack.append("?") }
        stack.append(local)
        let path = "/" + stack.joined(separator: "/"), uri = uri ?? ""
        guard seen.insert(uri + " " + path).inserted else { return }
        if paths.count < Self.maxPaths { paths.append((path, uri)) } else { more = true }
    }

    func explanation(_ options: XMLOptions) -> String {
        let ns = options.namespaceURI.map { "in namespace '\($0)'" } ?? "in any namespace"
        var s = "no record element <\(options.recordElement)> (\(ns))"
        if paths.isEmpty { return s + "; the file has no elements" }
        let uris = Set(paths.map(\.uri))
        s += "; elements in the first \(Self.levels) levels: "
        if uris.count == 1 {
            s += paths.map(\.path).joined(separator: ", ") + (more ? ", …" : "")
            if let uri = uris.first, !uri.isEmpty { s += " (all in namespace '\(uri)')" }
        } else {
            s += paths.map { $0.uri.isEmpty ? $0.path + " (no namespace)" : $0.path + " (namespace '\($0.uri)')" }
                .joined(separator: ", ") + (more ? ", …" : "")
        }
        return s
    }
}
