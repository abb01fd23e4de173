import Foundation
import Store
import Testing
import Text
@testable import CorpusImport

/// Issue 18, "What real corpora need that the flags cannot say".
@Suite("Record shapes of real corpora (issue 18)")
struct RecordShapeTests {
    let fx = Fixture()

    /// The stored text of each token of an example, cut at its scalar offsets.
    static func tokenTexts(_ store: ExampleStore, _ id: Int64) throws -> [String] {
        let e = try #require(try store.example(id: id))
        let scalars = Array(e.example.text.unicodeScalars)
        return e.tokens.spans.map { s in
            var out = String.UnicodeScalarView()
            out.append(contentsOf: scalars[Int(s.scalarStart)..<Int(s.scalarEnd)])
            return String(out)
        }
    }

    // MARK: CoNLL-U text

    static let conllu = """
        # sent_id = s1
        # text = Don't  go, Ana.
        1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_
        1\tDo\tdo\tAUX\t_\t_\t3\taux\t_\t_
        2\tn't\tnot\tPART\t_\t_\t3\tadvmod\t_\t_
        3\tgo\tgo\tVERB\t_\t_\t0\troot\t_\tSpaceAfter=No
        3.1\tgo\tgo\tVERB\t_\t_\t_\t_\t0:root\t_
        4\t,\t,\tPUNCT\t_\t_\t3\tpunct\t_\t_
        5\tAna\tAna\tPROPN\t_\t_\t3\tvocative\t_\tSpaceAfter=No
        6\t.\t.\tPUNCT\t_\t_\t3\tpunct\t_\t_

        # sent_id = s2
        1-2\tdel\t_\t_\t_\t_\t_\t_\t_\t_
        1\tde\tde\tADP\t_\t_\t3\tcase\t_\t_
        2\tel\tel\tDET\t_\t_\t3\tdet\t_\t_
        3\tmar\tmar\tNOUN\t_\t_\t0\troot\t_\tSpaceAfter=No|Gloss=sea
        4\t¡\t¡\tPUNCT\t_\t_\t3\tpunct\t_\tSpaceAfter=No
        5\tsí\tsí\tINTJ\t_\t_\t3\tdiscourse\t_\tSpacesAfter=\\s\\u00A0
        6\tya\tya\tADV\t_\t_\t3\tadvmod\t_\t_

        """

    @Test func conllUWordsGetOffsetsIntoTheWrittenSentence() throws {
        let path = fx.file("u.conllu", Self.conllu)
        let r = try CoNLLReader(path: path, fields: [.column(1), .column(3)], options: CoNLLOptions(dialect: .conllu, sentenceFor: .column(1)))
        let recs = try readAll(r)
        // With `# text`: the text as written (two spaces kept), each word at its own bytes.
        #expect(recs[0].sentence == .success(SentenceText(text: "Don't  go, Ana.", words: [0..<2, 2..<5, 7..<9, 9..<10, 11..<14, 14..<15])))
        // Without: the surface forms, no space where MISC says SpaceAfter=No; "de" and "el" do not
        // spell "del", so both are the whole token.
        #expect(recs[1].sentence == .success(SentenceText(text: "del mar¡sí \u{A0}ya", words: [0..<3, 0..<3, 4..<7, 7..<9, 9..<12, 15..<17])))
        let surface = try readAll(CoNLLReader(path: path, fields: [.surfaceForms], options: CoNLLOptions(dialect: .conllu, sentenceFor: .surfaceForms)))
        #expect(surface[0].sentence == .success(SentenceText(text: "Don't  go, Ana.", words: [0..<5, 7..<9, 9..<10, 11..<14, 14..<15])))
        // The old reading is unchanged without the option.
        #expect(try readAll(CoNLLReader(path: path, fields: [.column(1)], options: .conllu)).allSatisfy { $0.sentence == nil })
    }

    @Test func conllUImportStoresTheSentenceAndTagsLineUp() throws {
        let path = fx.file("u.conllu", Self.conllu)
        let db = fx.storePath()
        let s = try importFile(path, into: db, Mapping(format: .conllu, tasks: ["upos": TaskMapping(kind: .tagging, field: "3")]))
        #expect(s.examplesStored == 2)
        let store = try ExampleStore(path: db, readOnly: true)
        #expect(try store.example(id: 1)!.example.text == "Don't  go, Ana.")
        #expect(try Self.tokenTexts(store, 1) == ["Do", "n't", "go", ",", "Ana", "."])
        #expect(try store.example(id: 1)!.annotations[0].names == ["AUX", "PART", "VERB", "PUNCT", "PROPN", "PUNCT"])
        #expect(try store.example(id: 2)!.example.text == "del mar¡sí \u{A0}ya")
        #expect(try Self.tokenTexts(store, 2) == ["del", "del", "mar", "¡", "sí", "ya"])
        // The tokens are the words, normalized each on its own (not the whole multiword token).
        let second = try #require(try store.example(id: 2)).tokens
        #expect(second.tokens == ["de", "el", "mar", "¡", "sí", "ya"], "\(second)")
        // Surface forms as the text: one token per written token.
        var m = Mapping(format: .conllu, tasks: [:])
        m.text = "surface"
        try importFile(path, into: fx.storePath("surface.sqlite"), m)
        #expect(try Self.tokenTexts(ExampleStore(path: fx.storePath("surface.sqlite"), readOnly: true), 1) == ["Don't", "go", ",", "Ana", "."])
        // Another column as the text has no place in the sentence: joined by spaces, as before.
        m.text = "2"
        try importFile(path, into: fx.storePath("lemma.sqlite"), m)
        #expect(try ExampleStore(path: fx.storePath("lemma.sqlite"), readOnly: true).example(id: 1)!.example.text == "do not go , Ana .")
    }

    @Test func aFormThatIsNotInTheTextRejectsItsSentenceAtItsLine() throws {
        let path = fx.file("bad.conllu", """
            # text = Hello world
            1\tHello\thello\tINTJ\t_\t_\t0\troot\t_\t_
            2\twordl\tworld\tNOUN\t_\t_\t1\tvocative\t_\t_

            # text = Fine
            1\tFine\tfine\tADJ\t_\t_\t0\troot\t_\t_

            """)
        let m = Mapping(format: .conllu, tasks: ["upos": TaskMapping(kind: .tagging, field: "3")])
        let e = importError { try importFile(path, into: fx.storePath("fail.sqlite"), m) }
        #expect(e?.description == "bad.conllu:3: FORM 'wordl' does not match '# text' at character 7 (found 'world')")
        #expect(e?.kind == .invalidCoNLL)
        let s = try importFile(path, into: fx.storePath("skip.sqlite"), m, onError: .skip)
        #expect(s.examplesStored == 1 && s.rejectReasons == ["invalidCoNLL": 1])
    }

    @Test(.enabled(if: Corpora.available, Corpora.skipMessage))
    func udEnglishEWTTextIsTheWrittenSentence() throws {
        for (file, sentences) in [("en_ewt-ud-test.conllu", 2077), ("en_ewt-ud-dev.conllu", 2001)] {
            // Every sentence's words are found in its `# text`.
            let path = Corpora.path("ud/" + file)
            let reader = try CoNLLReader(path: path, fields: [.column(1), .comment("text")], options: CoNLLOptions(dialect: .conllu, sentenceFor: .column(1)))
            var n = 0
            while let r = try reader.next() {
                n += 1
                guard case .success(let s)? = r.sentence else { Issue.record("\(r.locator): \(String(describing: r.sentence))"); break }
                #expect(s.text == r.fields[1].single && s.words.count == r.fields[0].strings.count)
            }
            #expect(n == sentences, "\(file)")
        }
        // Without `# text`, the forms and their MISC spacing give the same sentences back.
        let written = try readAll(CoNLLReader(path: Corpora.path("ud/en_ewt-ud-test.conllu"), fields: [.comment("text")], options: .conllu))
        let stripped = try String(contentsOfFile: Corpora.path("ud/en_ewt-ud-test.conllu"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("# text =") }.joined(separator: "\n")
        let rebuilt = try readAll(CoNLLReader(path: fx.file("stripped.conllu", stripped), fields: [.column(1)],
                                              options: CoNLLOptions(dialect: .conllu, sentenceFor: .column(1))))
        #expect(rebuilt.count == written.count)
        var differ = 0
        for (w, r) in zip(written, rebuilt) {
            guard case .success(let s)? = r.sentence, s.text == w.fields[0].single else {
                if differ < 3 { Issue.record("\(r.locator): \(String(describing: r.sentence)) vs \(w.fields[0])") }
                differ += 1
                continue
            }
        }
        #expect(differ == 0)
        let db = fx.storePath()
        let s = try importFile(Corpora.path("ud/en_ewt-ud-test.conllu"), into: db,
                               Mapping(format: .conllu, tasks: ["upos": TaskMapping(kind: .tagging, field: "3")]))
        #expect(s.examplesStored == 2077 && s.labelCounts["upos"]?.values.reduce(0, +) == 25094)
        let store = try ExampleStore(path: db, readOnly: true)
        #expect(try store.example(id: 1)!.example.text == "What if Google Morphed Into GoogleOS?")
        #expect(try Self.tokenTexts(store, 1) == ["What", "if", "Google", "Morphed", "Into", "GoogleOS", "?"])
    }

    // MARK: Namespaces

    static let tei = """
        <?xml version="1.0" encoding="UTF-8"?>
        <TEI xmlns="http://www.tei-c.org/ns/1.0" xmlns:x="urn:x"><text><body>
        <sp who="#a"><speaker>A</speaker><l>First line</l><stage>exits</stage><l>Second</l><x:note>n</x:note><t:l xmlns:t="http://www.tei-c.org/ns/1.0">Third</t:l></sp>
        <sp who="#b"><speaker>B</speaker><l>Only</l></sp>
        </body></text></TEI>

        """

    @Test(arguments: [true, false])
    func aDeclaredPrefixMatchesElementsInThatDefaultNamespace(subsetParser: Bool) throws {
        let path = fx.file("play.xml", Self.tei)
        let fields = ["tei:l", "l", "tei:speaker", "@who", "x:note"]
        let options = XMLOptions(recordElement: "sp", namespaces: ["tei": "http://www.tei-c.org/ns/1.0", "x": "urn:x"])
        let reader = try XMLReading(subsetParser: subsetParser).makeReader(path: path, fields: fields, options: options, displayName: nil, hashing: false)
        #expect((reader is FastXMLRecordReader) == subsetParser)
        let recs = try readAll(reader)
        #expect(recs.map(\.fields) == [
            [.list(["First line", "Second", "Third"]), .list(["First line", "Second"]), .list(["A"]), .list(["#a"]), .list(["n"])],
            [.list(["Only"]), .list(["Only"]), .list(["B"]), .list(["#b"]), .list([])],
        ])
        let literal = try readAll(XMLReading(subsetParser: subsetParser).makeReader(path: path, fields: ["concat('tei:', tei:speaker)"], options: options, displayName: nil, hashing: false))
        #expect(literal.map(\.fields) == [[.string("tei:A")], [.string("tei:B")]])
        // Predicates go to libxml2 whatever the reader: the prefix works there too, for elements
        // in the default namespace and for those written with the prefix alike.
        let second = try readAll(XMLReading(subsetParser: subsetParser).makeReader(path: path, fields: ["tei:l[2]", "tei:sp", "tei:l[3]"], options: options, displayName: nil, hashing: false))
        #expect(second.map(\.fields) == [[.list(["Second"]), .list([]), .list(["Third"])], [.list([]), .list([]), .list([])]])
        // A prefix bound to another URI matches nothing.
        let other = XMLOptions(recordElement: "sp", namespaces: ["tei": "urn:other"])
        #expect(try readAll(XMLReading(subsetParser: subsetParser).makeReader(path: path, fields: ["tei:l"], options: other, displayName: nil, hashing: false))
            .map(\.fields) == [[.list([])], [.list([])]])
    }

    @Test func wideningLeavesLiteralsAxesAttributesAndFunctions() {
        let t = ["tei": "urn:t"]
        let ns = "[namespace-uri()='urn:t' or not(namespace-uri())]"
        #expect(XPathCheck.widening(t, in: "tei:l") == "*[local-name()='l']" + ns)
        #expect(XPathCheck.widening(t, in: "child::tei:l[@tei:n='tei:x']/x:tei") == "child::*[local-name()='l']" + ns + "[@tei:n='tei:x']/x:tei")
        #expect(XPathCheck.widening(t, in: "concat(\"tei:\", tei:a, mytei:b)") == "concat(\"tei:\", *[local-name()='a']" + ns + ", mytei:b)")
        #expect(XPathCheck.widening(t, in: "tei:*/tei:f(1)") == "*" + ns + "/tei:f(1)")
    }

    // MARK: Paired values

    static let absa = """
        <sentences>
        <sentence id="1"><text>Great food, rude waiter.</text>
          <aspectTerms><aspectTerm term="food" polarity="positive" from="6" to="10"/><aspectTerm term="waiter" polarity="negative" from="17" to="23"/></aspectTerms>
          <aspectCategories><aspectCategory category="food" polarity="positive"/><aspectCategory category="service" polarity="negative"/></aspectCategories>
        </sentence>
        <sentence id="2"><text>Fine.</text>
          <aspectCategories><aspectCategory category="anecdotes/miscellaneous" polarity="neutral"/></aspectCategories>
        </sentence>
        </sentences>

        """

    static func absaMapping(pairSpans: Bool = true) -> Mapping {
        var category = TaskMapping(kind: .multilabel, field: "aspectCategories/aspectCategory/@category")
        category.pair = "aspectCategories/aspectCategory/@polarity"
        var first = TaskMapping(kind: .classification, field: "aspectCategories/aspectCategory[1]/@category")
        first.pair = "aspectCategories/aspectCategory[1]/@polarity"
        var aspect = TaskMapping.spans(items: "aspectTerms/aspectTerm", start: "@from", end: "@to", label: "@term")
        if pairSpans { aspect.pair = "@polarity" }
        var m = Mapping(format: .xml, text: "text", tasks: ["category": category, "first": first, "aspect": aspect])
        m.record = "sentence"
        return m
    }

    @Test func aCategoryCarriesItsPolarity() throws {
        let path = fx.file("absa.xml", Self.absa)
        let db = fx.storePath()
        let s = try importFile(path, into: db, Self.absaMapping())
        #expect(s.examplesStored == 2)
        #expect(s.labelCounts["category"] == ["food#positive": 1, "service#negative": 1, "anecdotes/miscellaneous#neutral": 1])
        #expect(s.labelCounts["first"] == ["food#positive": 1, "anecdotes/miscellaneous#neutral": 1])
        let store = try ExampleStore(path: db, readOnly: true)
        let first = try #require(try store.example(id: 1))
        let byTask = Dictionary(uniqueKeysWithValues: first.annotations.map { ($0.task.name, $0.names) })
        #expect(byTask["aspect"] == ["O", "B-food#positive", "O", "O", "B-waiter#negative", "O"])
        #expect(byTask["category"] == ["food#positive", "service#negative"])
    }

    @Test func aValueWithoutItsPairIsABadRecordNamingBothFields() throws {
        let path = fx.file("absa.xml", Self.absa.replacingOccurrences(of: "category=\"service\" polarity=\"negative\"", with: "category=\"service\""))
        let e = importError { try importFile(path, into: fx.storePath("a.sqlite"), Self.absaMapping()) }
        #expect(e?.kind == .invalidLabel)
        #expect(e?.description == "absa.xml:2 (record 1, /sentences/sentence): task 'category': 2 values of 'aspectCategories/aspectCategory/@category' but 1 of its pair 'aspectCategories/aspectCategory/@polarity' (each element needs both)", "\(String(describing: e))")
        let empty = fx.file("empty.xml", Self.absa.replacingOccurrences(of: "polarity=\"neutral\"", with: "polarity=\"\""))
        let e2 = importError { try importFile(empty, into: fx.storePath("b.sqlite"), Self.absaMapping()) }
        #expect(e2?.kind == .emptyValue && e2?.message.contains("task 'category': value 1 ('anecdotes/miscellaneous') has an empty pair") == true, "\(String(describing: e2))")
    }

    @Test func aPairIsAMappingKey() throws {
        let m = try yamlMapping("""
            format: xml
            record: sentence
            text: text
            tasks:
              category:
                kind: multilabel
                field: aspectCategories/aspectCategory/@category
                pair: aspectCategories/aspectCategory/@polarity

            """)
        #expect(m.tasks["category"]?.pair == "aspectCategories/aspectCategory/@polarity")
        var tagging = TaskMapping(kind: .tagging, field: "1")
        tagging.pair = "2"
        let e = importError { try Mapping(format: .conll, tasks: ["pos": tagging]).validate(origin: "m.yaml") }
        #expect(e?.description == "m.yaml: tasks.pos.pair: applies to classification, multilabel and spans tasks, not tagging")
        // Mappings without a pair keep their canonical JSON (and their "already imported" identity).
        #expect(!Self.absaMapping(pairSpans: false).canonicalJSON().contains("pair\":null"))
    }

    @Test(.enabled(if: Corpora.available, Corpora.skipMessage))
    func semEval14CategoriesWithPolarity() throws {
        var category = TaskMapping(kind: .multilabel, field: "aspectCategories/aspectCategory/@category")
        category.pair = "aspectCategories/aspectCategory/@polarity"
        var aspect = TaskMapping.spans(items: "aspectTerms/aspectTerm", start: "@from", end: "@to", label: "@polarity")
        aspect.pair = "@term"
        var m = Mapping(format: .xml, text: "text", tasks: ["category": category, "aspect": aspect])
        m.record = "sentence"
        let s = try importFile(Corpora.path("semeval14/Restaurants_Train_v2.xml"), into: fx.storePath(), m)
        // Every term's polarity comes with its span: 3,693 spans, as many B- tags.
        #expect(s.labelCounts["aspect"]?.filter { $0.key.hasPrefix("B-") }.values.reduce(0, +) == 3693)
        #expect(s.labelCounts["aspect"]?["B-positive#food"] == 232, "\(s.labelCounts["aspect"]?["B-positive#food"] ?? -1)")
        #expect(s.examplesStored == 3041)
        // Counted per sentence, as a set: sentences 258 and 3561 list anecdotes/miscellaneous
        // positive twice (546 elements, 544 sentences).
        #expect(s.labelCounts["category"] == [
            "ambience#conflict": 47, "ambience#negative": 98, "ambience#neutral": 23, "ambience#positive": 263,
            "anecdotes/miscellaneous#conflict": 30, "anecdotes/miscellaneous#negative": 199, "anecdotes/miscellaneous#neutral": 357,
            "anecdotes/miscellaneous#positive": 544, "food#conflict": 66, "food#negative": 209, "food#neutral": 90, "food#positive": 867,
            "price#conflict": 17, "price#negative": 115, "price#neutral": 10, "price#positive": 179,
            "service#conflict": 35, "service#negative": 218, "service#neutral": 20, "service#positive": 324,
        ])
    }

    // MARK: Tagging from XML

    static let taggedXML = """
        <corpus>
        <s id="1"><w pos="r">我</w><w pos="v">爱</w><w pos="ns">北京</w><w pos="w">。</w></s>
        <s id="2"><w pos="nr">粒砂</w></s>
        <s id="3"><w pos="n"><form>New York</form><tag>PROPN</tag></w><w><form>is</form><tag>AUX</tag></w></s>
        <s id="4"><w pos="a">好</w><w>的</w></s>
        </corpus>

        """

    @Test(arguments: [true, false])
    func aNodeSetIsTheTokensAndAnAttributeItsTag(subsetParser: Bool) throws {
        let path = fx.file("pos.xml", Self.taggedXML)
        var m = Mapping(format: .xml, text: "w", tasks: ["pos": TaskMapping(kind: .tagging, field: "w/@pos")])
        m.record = "s"
        let db = fx.storePath("\(subsetParser).sqlite")
        let s = try importFile(path, into: db, m, pipeline: try TextPipeline(tokenize: "words"), onError: .skip,
                               xml: XMLReading(subsetParser: subsetParser))
        // s 3's words have no @pos; s 4's second word has none: one tag too few.
        #expect(s.examplesStored == 2 && s.rejectReasons == ["tagCountMismatch": 2])
        let store = try ExampleStore(path: db, readOnly: true)
        // One node, one token, whatever the tokenizer (ICU would split 北京 and 粒砂 no further, but
        // would split a node such as "New York"), stored as the nodes joined by spaces.
        #expect(try store.example(id: 1)!.example.text == "我 爱 北京 。")
        #expect(try Self.tokenTexts(store, 1) == ["我", "爱", "北京", "。"])
        #expect(try store.example(id: 1)!.annotations[0].names == ["r", "v", "ns", "w"])
        #expect(try Self.tokenTexts(store, 2) == ["粒砂"])
        // A child of each node as the tag, and a node holding a space is still one token.
        var children = Mapping(format: .xml, text: "w/form", tasks: ["pos": TaskMapping(kind: .tagging, field: "w/tag")])
        children.record = "s"
        let db2 = fx.storePath("children-\(subsetParser).sqlite")
        let c = try importFile(path, into: db2, children, onError: .skip, xml: XMLReading(subsetParser: subsetParser))
        #expect(c.examplesStored == 1 && c.labelCounts["pos"] == ["PROPN": 1, "AUX": 1])
        #expect(try Self.tokenTexts(ExampleStore(path: db2, readOnly: true), 1) == ["New York", "is"])
    }

    // MARK: Several fields into one text

    @Test func titleAndDescriptionJoinedWithTheirOwnSpans() throws {
        // AG News' shape (class, title, description), with entity spans counted in the description.
        let path = fx.file("news.jsonl", """
            {"label": 3, "title": "Wall St. Bears", "description": "Reuters - Short-sellers are back.", "ents": [{"s": 0, "e": 7, "t": "ORG"}]}
            {"label": 1, "title": "Fed Up", "description": "", "ents": []}
            {"label": 2, "title": "Ünïcode 😀", "description": "😀 Zürich wins", "ents": [{"s": 2, "e": 8, "t": "LOC"}]}

            """)
        var m = Mapping(format: .jsonl, text: "title", tasks: ["topic": TaskMapping(kind: .classification, field: "label")])
        m.textAlso = ["description"]
        m.join = " | "
        var ner = TaskMapping.spans(items: "ents.*", start: "s", end: "e", label: "t")
        ner.textPart = "description"
        m.tasks["ner"] = ner
        try m.validate(origin: "test")
        for unit in TaskMapping.SpanUnit.allCases {
            var mu = m
            mu.tasks["ner"]!.unit = unit
            if unit != .scalars {   // the same spans in that unit's offsets ("😀 " is 3 UTF-16 units, 5 UTF-8 bytes)
                let e = unit == .utf16 ? (3, 9) : (5, 12)
                let p = fx.file("news-\(unit).jsonl", try String(contentsOfFile: path, encoding: .utf8)
                    .replacingOccurrences(of: "\"s\": 2, \"e\": 8", with: "\"s\": \(e.0), \"e\": \(e.1)"))
                try check(p, mu, unit)
            } else {
                try check(path, mu, unit)
            }
        }
        func check(_ path: String, _ m: Mapping, _ unit: TaskMapping.SpanUnit) throws {
            let db = fx.storePath("news-\(unit).sqlite")
            let s = try importFile(path, into: db, m)
            #expect(s.examplesStored == 3, "\(unit)")
            let store = try ExampleStore(path: db, readOnly: true)
            #expect(try store.example(id: 1)!.example.text == "Wall St. Bears | Reuters - Short-sellers are back.")
            // An empty description is left out with its separator.
            #expect(try store.example(id: 2)!.example.text == "Fed Up")
            func tagged(_ id: Int64) throws -> [String] {
                let e = try #require(try store.example(id: id))
                let tags = try #require(e.annotations.first { $0.task.name == "ner" }).names
                return zip(try Self.tokenTexts(store, id), tags).filter { $0.1 != "O" }.map { "\($0.0)/\($0.1)" }
            }
            #expect(try tagged(1) == ["Reuters/B-ORG"], "\(unit)")
            #expect(try tagged(3) == ["Zürich/B-LOC"], "\(unit)")
        }
    }

    @Test func aSpeechsLinesJoinedWithoutItsStageDirections() throws {
        let path = fx.file("play.xml", Self.tei)
        var m = Mapping(format: .xml, text: "l", tasks: ["who": TaskMapping(kind: .classification, field: "@who")])
        m.record = "sp"
        m.join = "\n"
        let db = fx.storePath()
        #expect(try importFile(path, into: db, m).examplesStored == 2)
        let store = try ExampleStore(path: db, readOnly: true)
        #expect(try store.example(id: 1)!.example.text == "First line\nSecond")
        #expect(try store.example(id: 2)!.example.text == "Only")
        // Without join a node-set text is still refused.
        m.join = nil
        let e = importError { try importFile(path, into: fx.storePath("nojoin.sqlite"), m) }
        #expect(e?.message == "text field 'l' matched 2 values, expected one", "\(String(describing: e))")
    }

    @Test func joinedTextMistakesAreNamed() throws {
        var m = Mapping(format: .jsonl, text: "title", tasks: ["pos": TaskMapping(kind: .tagging, field: "tags")])
        m.textAlso = ["body"]
        #expect(importError { try m.validate(origin: "m.yaml") }?.description == "m.yaml: text_also: task 'pos' tags a token list; a joined text is not one (text_also/join apply to texts)")
        var spans = TaskMapping.spans(start: "s", end: "e", label: "l")
        spans.textPart = "nosuch"
        m.tasks = ["x": spans]
        #expect(importError { try m.validate(origin: "m.yaml") }?.description == "m.yaml: tasks.x.text_part: 'nosuch' is not a text field (text: title, body)")
        spans.textPart = "title"
        m.tasks = ["x": spans]
        let path = fx.file("bad.jsonl", "{\"title\": \"Short\", \"body\": \"A longer body\", \"s\": [0], \"e\": [7], \"l\": [\"X\"]}\n")
        let e = importError { try importFile(path, into: fx.storePath(), m) }
        #expect(e?.description == "bad.jsonl:1: task 'x': span 1 [0, 7) is outside text field 'title' (length 5)", "\(String(describing: e))")
        let yaml = try yamlMapping("""
            format: jsonl
            text: title
            text_also: [body]
            join: " - "
            tasks:
              x: {kind: spans, start: s, end: e, label: l, text_part: body}

            """)
        #expect(yaml.textAlso == ["body"] && yaml.join == " - " && yaml.tasks["x"]?.textPart == "body")
    }
}
