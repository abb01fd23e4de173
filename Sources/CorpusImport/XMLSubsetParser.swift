#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLibXML2

/// Why `XMLSubsetParser` stopped before the next record.
enum XMLScanStop: Error, Equatable {
    /// The bytes end inside the current unit (a tag, a text run, a whole record): read more
    /// and call again; the parser's state is as it was before the unit.
    case needMore
    /// The input leaves the subset the parser checks, or is not well-formed: libxml2 must
    /// take over (and reports the error, if it is one). The reason is for tests.
    case unsupported(String)
}

/// A strict one-pass XML parser for the shape corpora come in — UTF-8, no DTD, ASCII names —
/// that finds the record elements and evaluates `XMLFieldPath`s on them without building a
/// tree, giving exactly the records `XMLRecordReader` gives (fields, lines, paths).
///
/// Why not libxml2 on more threads: on the 100 MB SemEval benchmark libxml2 takes 0.37 s to
/// stream the file (0.47 s to build trees of it) on one core, while the import's other work
/// already needs ~0.9 CPU s of the ~1.2 this machine's two cores have for a 5x result; cutting
/// the file for workers to parse would add a lexing pass and keep libxml2's cost. This parser
/// reads a byte once, mostly through one table lookup, and allocates only the values.
///
/// It never has to be right about an error: whatever it does not positively accept — another
/// encoding, a DOCTYPE, a non-ASCII name, an undeclared prefix, a lone CR, anything not
/// well-formed, sizes near libxml2's limits — stops it with `.unsupported`, and the caller
/// hands the file to libxml2, which parses it or reports the error as it always did. What it
/// accepts it checks fully (characters, UTF-8, references, names, attributes, namespaces,
/// nesting), so it accepts nothing libxml2 refuses.
///
/// The caller owns the bytes: `next` parses the window `[pos, end)` of its buffer, which must
/// be readable and zero for `padding` bytes past `end` (every scanning loop stops at a 0 byte,
/// so the loops need no bounds checks; a 0 inside the window is an error). A unit (markup
/// outside records, a text run, or a whole record) is parsed completely or not at all.
struct XMLSubsetParser {
    static let padding = 16
    /// Limits well inside libxml2's own (depth 256, 10^7-byte text nodes and attribute values,
    /// 50,000-byte names, without XML_PARSE_HUGE), so that nothing libxml2 refuses gets through;
    /// lower still when the import's `ReaderLimits` are: libxml2 then takes over and reports a
    /// limit exceeded exactly where it is.
    static let maxName = 1_000
    private let maxDepth: Int, maxRun: Int
    static let xmlNamespace = Array("http://www.w3.org/XML/1998/namespace".utf8)
    static let xmlnsNamespace = Array("http://www.w3.org/2000/xmlns/".utf8)

    /// A namespace declaration in scope; an empty URI undeclares the default namespace.
    private struct Binding {
        let prefix: [UInt8]
        let uri: [UInt8]
    }
    /// An open element outside records (its start tag may have left the buffer).
    private struct Ancestor {
        let qname: [UInt8]
        let localStart: Int
        let bindings: Int
    }
    /// An open element inside the record being parsed (its start tag is in the buffer).
    private struct Open {
        let name: Range<Int>
        let bindings: Int
    }
    private struct Attribute {
        let name: Range<Int>
        /// Offset of the `:` in the name, -1 without a prefix.
        let colon: Int
        /// The bytes between the quotes.
        let value: Range<Int>
        /// The bytes are the value: no reference, TAB, CR or LF to replace.
        let plain: Bool
        /// `xmlns` or `xmlns:p`: a namespace declaration, not an attribute.
        let declaration: Bool
        /// Namespace (`Namespace` encoding), resolved after the whole tag is read.
        var uri: Int = noNamespace
    }
    private struct Tag {
        let name: Range<Int>
        let colon: Int
        let uri: Int
        /// The line of the tag's `>`: libxml2 gives an element the line its parser is on when
        /// the start tag has been read.
        let line: Int
        let next: Int
        let selfClosing: Bool
        /// `bindings.count` before the tag's declarations.
        let bindings: Int
    }
    private enum Phase { case start, prolog, content, epilog }
    private enum Unit { case markup, record(RawRecord), end }

    /// Namespaces as `Int`: an index into `bindings`, or one of these.
    private static let noNamespace = -1, xmlPrefix = -2

    private let fields: [XMLFieldPath]
    private let recordName: [UInt8]
    private let recordPathName: String
    private let recordURI: [UInt8]?
    let file: String
    private let classes = XMLByteClass.pointer

    /// The window of the current call (`p` is set by every call; any readable pointer before).
    private var p: UnsafePointer<UInt8> = XMLByteClass.pointer
    private var end = 0
    /// The first byte not parsed yet; the caller moves it when it moves the bytes.
    var pos = 0
    private(set) var line = 1
    /// Records returned so far.
    private(set) var records = 0
    private var phase = Phase.start
    private var ancestors: [Ancestor] = []
    private var bindings: [Binding] = []
    private var attributes: [Attribute] = []
    /// Bytes of libxml2's current text node outside records (CDATA and references join it).
    private var textNode = 0
    private var cachedPath: String?

    // Per record: the open elements and, per field, how deep the current path matches its steps.
    private var elements: [Open] = []
    private var matched: [Int]
    /// Per field: where its text value starts in `decoded`, -1 when it is not collecting.
    private var collectFrom: [Int]
    private var collecting = 0
    /// The decoded text of the elements being collected (nested, so one buffer serves all).
    private var decoded: [UInt8] = []
    private var values: [[String]]

    init(fields: [XMLFieldPath], options: XMLOptions, file: String) {
        self.fields = fields
        recordName = Array(options.recordElement.utf8)
        recordPathName = options.recordElement
        recordURI = options.namespaceURI.map { Array($0.utf8) }
        self.file = file
        maxDepth = min(200, options.limits.depth)
        maxRun = min(1_000_000, options.limits.textNodeBytes)
        matched = Array(repeating: 0, count: fields.count)
        collectFrom = Array(repeating: -1, count: fields.count)
        values = Array(repeating: [], count: fields.count)
    }

    /// The next record from `[pos, end)` of `buffer`, nil at the end of the document.
    /// - Parameter atEOF: no bytes will follow `end`.
    mutating func next(_ buffer: UnsafePointer<UInt8>, end: Int, atEOF: Bool) throws(XMLScanStop) -> RawRecord? {
        p = buffer
        self.end = end
        while true {
            let line = self.line, textNode = self.textNode, bindings = self.bindings.count
            do {
                switch try unit(atEOF: atEOF) {
                case .markup: continue
                case .record(let r): return r
                case .end: return nil
                }
            } catch {
                self.line = line
                self.textNode = textNode
                unbind(to: bindings)
                throw error
            }
        }
    }

    // MARK: Document level

    private mutating func unit(atEOF: Bool) throws(XMLScanStop) -> Unit {
        if phase == .start {
            try prolog(atEOF: atEOF)
            return .markup
        }
        var i = pos
        if i >= end {
            if phase == .epilog && atEOF { return .end }
            throw .needMore
        }
        if p[i] != lt {
            if phase == .content {
                i = try text(i, keep: false)
                textNode += i - pos
                if textNode > maxRun { throw .unsupported("text node too long") }
            } else {
                i = try spaces(i)
                if i < end && p[i] != lt { throw .unsupported("text outside the root element") }
            }
            pos = i
            return .markup
        }
        switch p[i + 1] {
        case question:
            i = try instruction(i)
            textNode = 0
        case bang:
            if try starts(i, "<!--") {
                i = try comment(i)
                textNode = 0
            } else if phase == .content, try starts(i, "<![CDATA[") {
                let s = i
                i = try cdata(i, keep: false)
                textNode += i - s
                if textNode > maxRun { throw .unsupported("text node too long") }
            } else {
                throw .unsupported("DOCTYPE or other declaration")
            }
        case slash:
            guard phase == .content, let open = ancestors.last else { throw .unsupported("end tag outside the root element") }
            let (name, next) = try endTag(i)
            guard equal(name, open.qname) else { throw .unsupported("mismatched end tag") }
            i = next
            ancestors.removeLast()
            unbind(to: open.bindings)
            cachedPath = nil
            textNode = 0
            if ancestors.isEmpty { phase = .epilog }
        default:
            guard phase != .epilog else { throw .unsupported("content after the root element") }
            let tag = try startTag(i)
            if isRecord(tag) { return .record(try record(tag)) }
            if tag.selfClosing {
                unbind(to: tag.bindings)
                if ancestors.isEmpty { phase = .epilog }
            } else {
                guard ancestors.count < maxDepth else { throw .unsupported("too deep") }
                ancestors.append(Ancestor(qname: Array(UnsafeBufferPointer(start: p + tag.name.lowerBound, count: tag.name.count)),
                                          localStart: tag.colon < 0 ? 0 : tag.colon + 1 - tag.name.lowerBound, bindings: tag.bindings))
                cachedPath = nil
                phase = .content
            }
            textNode = 0
            i = tag.next
        }
        pos = i
        return .markup
    }

    /// An optional UTF-8 byte order mark and XML declaration. Anything suggesting another
    /// encoding is unsupported (libxml2 detects and converts encodings).
    private mutating func prolog(atEOF: Bool) throws(XMLScanStop) {
        var i = 0
        if end < 3 + 6 && !atEOF { throw .needMore }
        if p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF { i = 3 }
        guard p[i] == lt || classes[Int(p[i])] & XMLByteClass.space != 0 else { throw .unsupported("not UTF-8 XML") }
        if try starts(i, "<?xml"), i + 5 < end, classes[Int(p[i + 5])] & XMLByteClass.space != 0 {
            i = try declaration(i)
        }
        pos = i
        phase = .prolog
    }

    /// `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`, with encoding and
    /// standalone optional, in this order, and no other encoding.
    private mutating func declaration(_ start: Int) throws(XMLScanStop) -> Int {
        var i = start + 5
        var names: [String] = []
        while true {
            let s = i
            i = try spaces(i)
            if try starts(i, "?>") { break }
            guard i > s else { throw .unsupported("XML declaration") }
            let (nameEnd, colon) = try qname(i)
            guard colon < 0 else { throw .unsupported("XML declaration") }
            let name = string(i..<nameEnd)
            i = try equals(nameEnd)
            let quote = p[i]
            guard quote == dquote || quote == squote else { throw .unsupported("XML declaration") }
            var j = i + 1
            while p[j] != quote && classes[Int(p[j])] & XMLByteClass.valueStop == 0 { j += 1 }
            guard p[j] == quote else { throw j >= end ? .needMore : .unsupported("XML declaration") }
            let value = string(i + 1..<j)
            switch name {
            case "version" where names.isEmpty && value == "1.0": break
            case "encoding" where names == ["version"] && value.lowercased() == "utf-8": break
            case "standalone" where names.first == "version" && !names.contains("standalone") && (value == "yes" || value == "no"): break
            default: throw .unsupported("XML declaration \(name)=\(value)")
            }
            names.append(name)
            i = j + 1
        }
        guard names.first == "version" else { throw .unsupported("XML declaration without version") }
        return i + 2
    }

    // MARK: Records

    private func isRecord(_ tag: Tag) -> Bool {
        let local = (tag.colon < 0 ? tag.name.lowerBound : tag.colon + 1)..<tag.name.upperBound
        guard equal(local, recordName) else { return false }
        guard let recordURI else { return true }
        return uri(tag.uri) == recordURI
    }

    /// The record whose start tag is `tag`: its content up to its end tag, evaluated.
    private mutating func record(_ tag: Tag) throws(XMLScanStop) -> RawRecord {
        for f in fields.indices { // also after an attempt that ran out of bytes
            matched[f] = 0
            collectFrom[f] = -1
            values[f].removeAll()
        }
        collecting = 0
        decoded.removeAll(keepingCapacity: true)
        openFields(depth: 0, tag)
        var i = tag.next
        if !tag.selfClosing {
            guard ancestors.count < maxDepth else { throw .unsupported("too deep") }
            elements.removeAll(keepingCapacity: true)
            elements.append(Open(name: tag.name, bindings: tag.bindings))
            i = try content(i)
        }
        unbind(to: tag.bindings)
        records += 1
        var out: [FieldValue] = []
        out.reserveCapacity(values.count)
        for f in values.indices {
            out.append(.list(values[f]))
            values[f] = []
        }
        if ancestors.isEmpty { phase = .epilog }
        textNode = 0
        pos = i
        return RawRecord(locator: RecordLocator(file: file, line: tag.line, recordIndex: records, elementPath: elementPath()),
                         fields: out)
    }

    /// A record's content after its start tag, through its end tag.
    private mutating func content(_ start: Int) throws(XMLScanStop) -> Int {
        var i = start
        var node = 0 // bytes of libxml2's current text node
        while true {
            if p[i] != lt {
                let s = i
                i = try text(i, keep: collecting > 0)
                node += i - s
                if node > maxRun { throw .unsupported("text node too long") }
                continue
            }
            switch p[i + 1] {
            case slash:
                let open = elements[elements.count - 1]
                let (name, next) = try endTag(i)
                guard equal(name, open.name) else { throw .unsupported("mismatched end tag") }
                closeFields(depth: elements.count - 1)
                unbind(to: open.bindings)
                elements.removeLast()
                i = next
                node = 0
                if elements.isEmpty { return i }
            case bang:
                if try starts(i, "<!--") {
                    i = try comment(i)
                    node = 0
                } else if try starts(i, "<![CDATA[") {
                    let s = i
                    i = try cdata(i, keep: collecting > 0)
                    node += i - s
                    if node > maxRun { throw .unsupported("text node too long") }
                } else {
                    throw .unsupported("declaration in content")
                }
            case question:
                i = try instruction(i)
                node = 0
            default:
                let tag = try startTag(i)
                let depth = elements.count
                guard ancestors.count + depth < maxDepth else { throw .unsupported("too deep") }
                openFields(depth: depth, tag)
                if tag.selfClosing {
                    closeFields(depth: depth)
                    unbind(to: tag.bindings)
                } else {
                    elements.append(Open(name: tag.name, bindings: tag.bindings))
                }
                i = tag.next
                node = 0
            }
        }
    }

    /// An element opens at `depth` below the record (0: the record): fields whose steps it
    /// continues advance; those it completes take an attribute value or start collecting text.
    private mutating func openFields(depth k: Int, _ tag: Tag) {
        for f in fields.indices {
            let steps = fields[f].steps
            if k > 0 {
                guard matched[f] == k - 1, k <= steps.count, matches(steps[k - 1], tag) else { continue }
                matched[f] = k
            }
            guard k == steps.count else { continue }
            if let name = fields[f].attribute {
                if let value = attributeValue(name) { values[f].append(value) }
            } else {
                collectFrom[f] = decoded.count
                collecting += 1
            }
        }
    }

    /// The element at `depth` closes: text values it collected are complete.
    private mutating func closeFields(depth k: Int) {
        guard k > 0 else { return }
        for f in fields.indices where matched[f] == k {
            if collectFrom[f] >= 0 {
                values[f].append(String(decoding: decoded[collectFrom[f]...], as: UTF8.self))
                collectFrom[f] = -1
                collecting -= 1
            }
            matched[f] = k - 1
        }
        if collecting == 0 && !decoded.isEmpty { decoded.removeAll(keepingCapacity: true) }
    }

    private func matches(_ step: XMLFieldPath.Name, _ tag: Tag) -> Bool {
        // A prefix bound to a default namespace's URI matches that namespace's unprefixed
        // elements too (`tei:l` in a TEI file), as `XMLRecordReader` makes libxml2 do.
        if tag.colon >= 0 && step.uri == nil { return false }
        let local = (tag.colon < 0 ? tag.name.lowerBound : tag.colon + 1)..<tag.name.upperBound
        guard equal(local, step.local) else { return false }
        return step.uri.map { uri(tag.uri) == $0 } ?? true
    }

    /// The value of the current tag's attribute `name`, nil when it has none.
    private func attributeValue(_ name: XMLFieldPath.Name) -> String? {
        for a in attributes where !a.declaration && (a.colon >= 0) == (name.uri != nil) {
            let local = (a.colon < 0 ? a.name.lowerBound : a.colon + 1)..<a.name.upperBound
            guard equal(local, name.local), name.uri.map({ uri(a.uri) == $0 }) ?? true else { continue }
            return String(decoding: value(a), as: UTF8.self)
        }
        return nil
    }

    /// `/root/…/record` from local names (the same for every record between the same ancestors).
    private mutating func elementPath() -> String {
        if let cachedPath { return cachedPath }
        var path = ""
        for a in ancestors { path += "/" + String(decoding: a.qname[a.localStart...], as: UTF8.self) }
        path += "/" + recordPathName
        cachedPath = path
        return path
    }

    // MARK: Tags

    /// A start tag at `start` (`<` then a name): its attributes go to `attributes`, its
    /// namespace declarations onto `bindings`.
    private mutating func startTag(_ start: Int) throws(XMLScanStop) -> Tag {
        let (nameEnd, colon) = try qname(start + 1)
        if !attributes.isEmpty { attributes.removeAll(keepingCapacity: true) }
        var i = nameEnd
        let selfClosing: Bool
        while true {
            let s = i
            i = try spaces(i)
            if p[i] == gt {
                selfClosing = false
                break
            }
            if p[i] == slash && p[i + 1] == gt {
                selfClosing = true
                break
            }
            if i + 1 >= end { throw .needMore }
            guard i > s else { throw .unsupported("attribute without white space before it") }
            i = try attribute(i)
        }
        let tagLine = line
        let mark = bindings.count
        do {
            try declareNamespaces()
            try resolveAttributes()
            let uri = try elementNamespace(start + 1..<nameEnd, colon: colon)
            return Tag(name: start + 1..<nameEnd, colon: colon, uri: uri, line: tagLine,
                       next: i + (selfClosing ? 2 : 1), selfClosing: selfClosing, bindings: mark)
        } catch {
            unbind(to: mark)
            throw error
        }
    }

    /// `name S? = S? "value"` at `start`; returns the offset after the closing quote.
    private mutating func attribute(_ start: Int) throws(XMLScanStop) -> Int {
        let (nameEnd, colon) = try qname(start)
        var i = try equals(nameEnd)
        let quote = p[i]
        guard quote == dquote || quote == squote else { throw i >= end ? .needMore : .unsupported("unquoted attribute value") }
        i += 1
        let valueStart = i
        var plain = true
        let p = self.p, cls = classes
        while true {
            while cls[Int(p[i])] & XMLByteClass.valueStop == 0 { i &+= 1 }
            let c = p[i]
            if c == quote { break }
            switch c {
            case dquote, squote: i += 1
            case amp: i = try reference(i).next; plain = false
            case lf: line += 1; i += 1; plain = false
            case tab: i += 1; plain = false
            case cr: try crlf(i); i += 1; plain = false
            case lt: throw .unsupported("< in an attribute value")
            case 0x80...: i += try utf8(i)
            default: throw i >= end ? .needMore : .unsupported("control character in an attribute value")
            }
        }
        if i - valueStart > maxRun { throw .unsupported("attribute value too long") }
        let declaration = colon < 0 ? equal(start..<nameEnd, "xmlns") : equal(start..<colon, "xmlns")
        attributes.append(Attribute(name: start..<nameEnd, colon: colon, value: valueStart..<i, plain: plain, declaration: declaration))
        return i + 1
    }

    /// Pushes the tag's `xmlns` and `xmlns:p` declarations. Declarations libxml2 refuses
    /// (empty prefixed ones, the `xml`/`xmlns` prefixes and namespaces, URIs its URI parser
    /// rejects) are unsupported.
    private mutating func declareNamespaces() throws(XMLScanStop) {
        for a in attributes where a.declaration {
            let uri = value(a)
            var prefix: [UInt8] = []
            if a.colon >= 0 {
                let local = a.colon + 1..<a.name.upperBound
                guard !equal(local, "xml"), !equal(local, "xmlns"), !uri.isEmpty else { throw .unsupported("namespace declaration") }
                prefix = Array(UnsafeBufferPointer(start: p + local.lowerBound, count: local.count))
            }
            guard uri != Self.xmlNamespace, uri != Self.xmlnsNamespace,
                  uri.isEmpty || String(decoding: uri, as: UTF8.self).withCString({ mtl_xml_is_uri($0) }) != 0 else {
                throw .unsupported("namespace declaration")
            }
            bindings.append(Binding(prefix: prefix, uri: uri))
        }
    }

    /// Resolves attribute prefixes; refuses duplicates, by name or by namespace and local name.
    private mutating func resolveAttributes() throws(XMLScanStop) {
        let n = attributes.count
        // libxml2 accepts more; the pairwise check below is meant for a handful.
        guard n <= 64 else { throw .unsupported("too many attributes") }
        for a in 0..<n {
            if attributes[a].colon >= 0 && !attributes[a].declaration {
                let prefix = attributes[a].name.lowerBound..<attributes[a].colon
                if equal(prefix, "xml") {
                    attributes[a].uri = Self.xmlPrefix
                } else {
                    let b = binding(prefix)
                    guard b >= 0 else { throw .unsupported("undeclared attribute prefix") }
                    attributes[a].uri = b
                }
            }
            let x = attributes[a]
            for b in 0..<a {
                let y = attributes[b]
                if equal(x.name, y.name) { throw .unsupported("duplicate attribute") }
                if x.uri != Self.noNamespace && y.uri != Self.noNamespace && !x.declaration && !y.declaration
                    && equal(x.colon + 1..<x.name.upperBound, y.colon + 1..<y.name.upperBound) && uri(x.uri) == uri(y.uri) {
                    throw .unsupported("duplicate attribute in one namespace")
                }
            }
        }
    }

    private func elementNamespace(_ name: Range<Int>, colon: Int) throws(XMLScanStop) -> Int {
        guard colon >= 0 else {
            let b = binding(name.lowerBound..<name.lowerBound)
            return b >= 0 && !bindings[b].uri.isEmpty ? b : Self.noNamespace
        }
        let prefix = name.lowerBound..<colon
        guard !equal(prefix, "xml"), !equal(prefix, "xmlns") else { throw .unsupported("reserved element prefix") }
        let b = binding(prefix)
        guard b >= 0 else { throw .unsupported("undeclared element prefix") }
        return b
    }

    /// The innermost binding of the prefix at `prefix` (empty: the default namespace), or -1.
    private func binding(_ prefix: Range<Int>) -> Int {
        var k = bindings.count - 1
        while k >= 0 {
            if equal(prefix, bindings[k].prefix) { return k }
            k -= 1
        }
        return -1
    }

    /// Drops the bindings declared after the first `count`.
    private mutating func unbind(to count: Int) {
        if bindings.count > count { bindings.removeSubrange(count...) }
    }

    private func uri(_ namespace: Int) -> [UInt8] {
        switch namespace {
        case Self.noNamespace: return []
        case Self.xmlPrefix: return Self.xmlNamespace
        default: return bindings[namespace].uri
        }
    }

    /// `</name S? >` at `start`: the name and the offset after `>`.
    private mutating func endTag(_ start: Int) throws(XMLScanStop) -> (Range<Int>, Int) {
        let (nameEnd, _) = try qname(start + 2)
        let i = try spaces(nameEnd)
        guard p[i] == gt else { throw i >= end ? .needMore : .unsupported("end tag") }
        return (start + 2..<nameEnd, i + 1)
    }

    /// An attribute's value as libxml2 gives it: references replaced, TAB, LF and CR LF as
    /// one space each (attribute-value normalization without a DTD).
    private func value(_ a: Attribute) -> [UInt8] {
        if a.plain { return Array(UnsafeBufferPointer(start: p + a.value.lowerBound, count: a.value.count)) }
        var out: [UInt8] = []
        out.reserveCapacity(a.value.count)
        var i = a.value.lowerBound
        while i < a.value.upperBound {
            switch p[i] {
            case amp:
                // Checked when the tag was read.
                let (scalar, next) = try! reference(i)
                Self.appendUTF8(scalar, to: &out)
                i = next
            case tab, lf: out.append(space); i += 1
            case cr: i += 1 // CR LF: the LF stands for both
            default: out.append(p[i]); i += 1
            }
        }
        return out
    }

    // MARK: Character data, comments, processing instructions

    /// Character data from `start` to the next `<`: checks its characters, references and
    /// `]]>`, counts its lines, and when `keep` appends its text (references replaced, CR LF
    /// as LF) to `decoded`.
    private mutating func text(_ start: Int, keep: Bool) throws(XMLScanStop) -> Int {
        let p = self.p, cls = classes
        var i = start, copied = start
        while true {
            while cls[Int(p[i])] & XMLByteClass.textStop == 0 { i &+= 1 }
            switch p[i] {
            case lt:
                if keep { append(copied..<i) }
                return i
            case lf:
                line += 1
                i += 1
            case amp:
                if keep { append(copied..<i) }
                let (scalar, next) = try reference(i)
                if keep { Self.appendUTF8(scalar, to: &decoded) }
                i = next
                copied = i
            case gt:
                if i - start >= 2 && p[i - 1] == rsqb && p[i - 2] == rsqb { throw .unsupported("]]> in text") }
                i += 1
            case cr:
                try crlf(i)
                if keep { append(copied..<i) }
                i += 1
                copied = i
            case 0x80...:
                i += try utf8(i)
            default:
                throw i >= end ? .needMore : .unsupported("control character in text")
            }
        }
    }

    /// `<![CDATA[…]]>` at `start`; its text joins `decoded` when `keep`, CR LF included
    /// (libxml2 keeps line ends in CDATA sections as they are).
    private mutating func cdata(_ start: Int, keep: Bool) throws(XMLScanStop) -> Int {
        let p = self.p, cls = classes
        let first = start + 9
        var i = first
        while true {
            while cls[Int(p[i])] & XMLByteClass.markupStop == 0 { i &+= 1 }
            switch p[i] {
            case rsqb:
                if p[i + 1] == rsqb && p[i + 2] == gt {
                    if keep { append(first..<i) }
                    return i + 3
                }
                i += 1
            case dash, question: i += 1
            case lf: line += 1; i += 1
            case cr: try crlf(i); i += 1
            case 0x80...: i += try utf8(i)
            default: throw i >= end ? .needMore : .unsupported("control character in CDATA")
            }
            if i - start > maxRun { throw .unsupported("CDATA section too long") }
        }
    }

    /// `<!--…-->` at `start` (no `--` inside).
    private mutating func comment(_ start: Int) throws(XMLScanStop) -> Int {
        let p = self.p, cls = classes
        var i = start + 4
        while true {
            while cls[Int(p[i])] & XMLByteClass.markupStop == 0 { i &+= 1 }
            switch p[i] {
            case dash:
                if p[i + 1] == dash {
                    if p[i + 2] == gt { return i + 3 }
                    throw i + 2 >= end ? .needMore : .unsupported("-- in a comment")
                }
                i += 1
            case question, rsqb: i += 1
            case lf: line += 1; i += 1
            case cr: try crlf(i); i += 1
            case 0x80...: i += try utf8(i)
            default: throw i >= end ? .needMore : .unsupported("control character in a comment")
            }
            if i - start > maxRun { throw .unsupported("comment too long") }
        }
    }

    /// `<?target …?>` at `start`; the target is an ASCII name without `:`, not `xml`.
    private mutating func instruction(_ start: Int) throws(XMLScanStop) -> Int {
        let (nameEnd, colon) = try qname(start + 2)
        guard colon < 0, string(start + 2..<nameEnd).lowercased() != "xml" else { throw .unsupported("processing instruction target") }
        let p = self.p, cls = classes
        var i = nameEnd
        if p[i] == question && p[i + 1] == gt { return i + 2 }
        guard cls[Int(p[i])] & XMLByteClass.space != 0 else { throw i + 1 >= end ? .needMore : .unsupported("processing instruction") }
        while true {
            while cls[Int(p[i])] & XMLByteClass.markupStop == 0 { i &+= 1 }
            switch p[i] {
            case question:
                if p[i + 1] == gt { return i + 2 }
                i += 1
            case dash, rsqb: i += 1
            case lf: line += 1; i += 1
            case cr: try crlf(i); i += 1
            case 0x80...: i += try utf8(i)
            default: throw i >= end ? .needMore : .unsupported("control character in a processing instruction")
            }
            if i - start > maxRun { throw .unsupported("processing instruction too long") }
        }
    }

    // MARK: Lexical pieces

    /// A QName at `start` (ASCII `NCName` or `prefix:NCName`): its end and the offset of its
    /// `:` (-1 without a prefix).
    private func qname(_ start: Int) throws(XMLScanStop) -> (Int, Int) {
        let p = self.p, cls = classes
        guard cls[Int(p[start])] & XMLByteClass.nameStart != 0 else { throw start >= end ? .needMore : .unsupported("name") }
        var i = start + 1
        while cls[Int(p[i])] & XMLByteClass.nameChar != 0 { i &+= 1 }
        var colon = -1
        if p[i] == colonByte {
            colon = i
            i += 1
            guard cls[Int(p[i])] & XMLByteClass.nameStart != 0 else { throw i >= end ? .needMore : .unsupported("name") }
            while cls[Int(p[i])] & XMLByteClass.nameChar != 0 { i &+= 1 }
            if p[i] == colonByte { throw .unsupported("name with two colons") }
        }
        if i >= end { throw .needMore }
        if p[i] >= 0x80 { throw .unsupported("non-ASCII name") }
        if i - start > Self.maxName { throw .unsupported("name too long") }
        return (i, colon)
    }

    /// `S? = S?` at `start`: the offset after it.
    private mutating func equals(_ start: Int) throws(XMLScanStop) -> Int {
        var i = try spaces(start)
        guard p[i] == eq else { throw i >= end ? .needMore : .unsupported("attribute without =") }
        i = try spaces(i + 1)
        if i >= end { throw .needMore }
        return i
    }

    /// White space at `start`, counting lines: the offset after it.
    private mutating func spaces(_ start: Int) throws(XMLScanStop) -> Int {
        var i = start
        while classes[Int(p[i])] & XMLByteClass.space != 0 {
            if p[i] == lf { line += 1 } else if p[i] == cr { try crlf(i) }
            i += 1
        }
        return i
    }

    /// A CR must start a CR LF pair. libxml2 reads a lone CR as a line end for values but not
    /// always for line numbers; such (rare) files are left to it.
    private func crlf(_ i: Int) throws(XMLScanStop) {
        guard p[i + 1] == lf else { throw i + 1 >= end ? .needMore : .unsupported("CR without LF") }
    }

    /// The length of the UTF-8 sequence at `i`, which must encode a character XML allows.
    private func utf8(_ i: Int) throws(XMLScanStop) -> Int {
        let c = p[i]
        let n: Int, lo: UInt8, hi: UInt8
        switch c {
        case 0xC2...0xDF: n = 2; lo = 0x80; hi = 0xBF
        case 0xE0: n = 3; lo = 0xA0; hi = 0xBF
        case 0xE1...0xEC, 0xEE...0xEF: n = 3; lo = 0x80; hi = 0xBF
        case 0xED: n = 3; lo = 0x80; hi = 0x9F // no surrogates
        case 0xF0: n = 4; lo = 0x90; hi = 0xBF
        case 0xF1...0xF3: n = 4; lo = 0x80; hi = 0xBF
        case 0xF4: n = 4; lo = 0x80; hi = 0x8F
        default: throw .unsupported("invalid UTF-8")
        }
        if i + n > end { throw .needMore }
        let c1 = p[i + 1]
        guard c1 >= lo && c1 <= hi, n < 3 || p[i + 2] & 0xC0 == 0x80, n < 4 || p[i + 3] & 0xC0 == 0x80 else {
            throw .unsupported("invalid UTF-8")
        }
        // U+FFFE and U+FFFF are not XML characters.
        if c == 0xEF && c1 == 0xBF && p[i + 2] >= 0xBE { throw .unsupported("U+FFFE/U+FFFF") }
        return n
    }

    /// A character or predefined entity reference at `start` (`&`): its scalar and the
    /// offset after the `;`. Other entities are unsupported (without a DTD they are errors).
    private func reference(_ start: Int) throws(XMLScanStop) -> (UInt32, next: Int) {
        var i = start + 1
        if p[i] == hash {
            i += 1
            let hex = p[i] == UInt8(ascii: "x")
            if hex { i += 1 }
            var v: UInt32 = 0, digits = 0
            while true {
                let d = p[i]
                let x: UInt32
                switch d {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): x = UInt32(d - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f") where hex: x = UInt32(d - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F") where hex: x = UInt32(d - UInt8(ascii: "A") + 10)
                default: x = 16
                }
                if x == 16 { break }
                v = v * (hex ? 16 : 10) + x
                digits += 1
                if digits > 7 { throw .unsupported("character reference") }
                i += 1
            }
            guard p[i] == semicolon else { throw i >= end ? .needMore : .unsupported("character reference") }
            guard digits > 0, Self.isXMLChar(v) else { throw .unsupported("character reference") }
            return (v, i + 1)
        }
        let nameStart = i
        while classes[Int(p[i])] & XMLByteClass.nameChar != 0 && i - nameStart < 4 { i += 1 }
        guard p[i] == semicolon else { throw i >= end ? .needMore : .unsupported("entity reference") }
        let scalar: UInt32
        switch string(nameStart..<i) {
        case "lt": scalar = 0x3C
        case "gt": scalar = 0x3E
        case "amp": scalar = 0x26
        case "quot": scalar = 0x22
        case "apos": scalar = 0x27
        default: throw .unsupported("entity reference")
        }
        return (scalar, i + 1)
    }

    private static func isXMLChar(_ v: UInt32) -> Bool {
        v == 0x9 || v == 0xA || v == 0xD || (0x20...0xD7FF).contains(v) || (0xE000...0xFFFD).contains(v) || (0x10000...0x10FFFF).contains(v)
    }

    private static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case ..<0x80: out.append(UInt8(v))
        case ..<0x800: out.append(contentsOf: [UInt8(0xC0 | v >> 6), UInt8(0x80 | v & 0x3F)])
        case ..<0x10000: out.append(contentsOf: [UInt8(0xE0 | v >> 12), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)])
        default: out.append(contentsOf: [UInt8(0xF0 | v >> 18), UInt8(0x80 | v >> 12 & 0x3F), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)])
        }
    }

    /// Whether the input at `i` starts with `literal`; `.needMore` when what is there is a
    /// proper prefix of it.
    private func starts(_ i: Int, _ literal: StaticString) throws(XMLScanStop) -> Bool {
        let l = literal.utf8Start
        for k in 0..<literal.utf8CodeUnitCount {
            if i + k >= end { throw .needMore }
            if p[i + k] != l[k] { return false }
        }
        return true
    }

    private mutating func append(_ r: Range<Int>) {
        decoded.append(contentsOf: UnsafeBufferPointer(start: p + r.lowerBound, count: r.count))
    }

    private func equal(_ r: Range<Int>, _ bytes: [UInt8]) -> Bool {
        r.count == bytes.count && bytes.withUnsafeBufferPointer { memcmp(p + r.lowerBound, $0.baseAddress!, r.count) == 0 }
    }

    private func equal(_ r: Range<Int>, _ literal: StaticString) -> Bool {
        r.count == literal.utf8CodeUnitCount && memcmp(p + r.lowerBound, literal.utf8Start, r.count) == 0
    }

    private func equal(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
        a.count == b.count && memcmp(p + a.lowerBound, p + b.lowerBound, a.count) == 0
    }

    private func string(_ r: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(start: p + r.lowerBound, count: r.count), as: UTF8.self)
    }
}

private let lt = UInt8(ascii: "<"), gt = UInt8(ascii: ">"), amp = UInt8(ascii: "&"), slash = UInt8(ascii: "/")
private let bang = UInt8(ascii: "!"), question = UInt8(ascii: "?"), dash = UInt8(ascii: "-"), rsqb = UInt8(ascii: "]")
private let eq = UInt8(ascii: "="), dquote = UInt8(ascii: "\""), squote = UInt8(ascii: "'"), hash = UInt8(ascii: "#")
private let semicolon = UInt8(ascii: ";"), colonByte = UInt8(ascii: ":"), space = UInt8(ascii: " ")
private let tab: UInt8 = 0x09, lf: UInt8 = 0x0A, cr: UInt8 = 0x0D
