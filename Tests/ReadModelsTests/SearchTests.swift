import Commerce
import EventStore
import Foundation
import Testing

@testable import CommandEngine
@testable import History
@testable import ReadModels

@Suite struct TokenizerTests {
    @Test func chineseRunsBecomeBigramsAndLatinWordsFold() {
        #expect(Tokenizer.terms("龙井绿茶") == ["龙井", "井绿", "绿茶"])
        #expect(Tokenizer.terms("茶") == ["茶"])
        #expect(Tokenizer.terms("Café CRÈME, ＵＳＢ-C") == ["cafe", "creme", "usb", "c"])
        #expect(Tokenizer.terms("Longjing绿茶 tea") == ["longjing", "绿茶", "tea"])
    }

    /// The tokenizer reads UTF-8 bytes for speed; on any text it must give what the plain
    /// scalar-by-scalar reading below (its first implementation) gives: the same terms, from the same ranges.
    @Test func tokensAreWhatAScalarByScalarReadingGives() {
        let pieces = [
            "a", "Z", "q", "7", " ", "-", ",", "é", "È", "ß", "ñ", "Ａ", "ｕ", "１", "\u{301}", "茶", "龙", "井", "カ", "한",
            "😀", "€", "\t", "İ", "ﬁ", "Ω", "ж", "٣", "Café", "USB-C", String(repeating: "x", count: 45), String(repeating: "é", count: 45),
        ]
        var random = SplitMix64(seed: 7)
        for _ in 0..<3_000 {
            let text = (0..<Int(random.next() % 14)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
            let expected = ScalarTokenizer.tokens(text)
            #expect(Tokenizer.tokens(text) == expected, "\(text.debugDescription)")
            #expect(Tokenizer.terms(text) == expected.map(\.term), "\(text.debugDescription)")
        }
    }

    @Test func typoDistanceIsBoundedAndCountsSwaps() {
        #expect(Tokenizer.distance(Array("earbuds".utf8), Array("earbuts".utf8), limit: 1) == 1)
        #expect(Tokenizer.distance(Array("earbuds".utf8), Array("eabruds".utf8), limit: 1) == 1)  // adjacent swap
        #expect(Tokenizer.distance(Array("earbuds".utf8), Array("xarbutz".utf8), limit: 2) == nil)
        #expect(Tokenizer.typosAllowed(length: 4) == 0)
        #expect(Tokenizer.typosAllowed(length: 5) == 1)
        #expect(Tokenizer.typosAllowed(length: 9) == 2)
    }
}

@Suite struct SearchRelevanceTests {
    func search(_ text: String, _ change: (inout SearchQuery) -> Void = { _ in }) async throws -> SearchResults {
        let shop = try await ProjectedShop.shared.value
        let projector = try shop.projector()
        var query = SearchQuery(text: text)
        change(&query)
        return try projector.read(SearchProjection.self) { try $0.search(query) }
    }

    func first(_ results: SearchResults) -> String? { results.hits.first?.goodsId }

    @Test func englishExactMatchComesFirstAndIsHighlighted() async throws {
        let shop = try await ProjectedShop.shared.value
        let results = try await search("headphones ")
        #expect(first(results) == shop.named["headphones"])
        #expect(results.hits.first?.highlight == "Noise cancelling <em>headphones</em> 降噪耳机")
        #expect(results.hits.first?.typos == 0)
    }

    @Test func aTypoStillFindsTheGoodsAndSuggestsTheCorrection() async throws {
        let shop = try await ProjectedShop.shared.value
        let results = try await search("headphonez ")
        #expect(first(results) == shop.named["headphones"])
        #expect(results.hits.first?.typos == 1)
        #expect(results.didYouMean == "headphones")
        #expect(try await search("hexdphonez ").hits.first?.typos == 2)  // 10 letters: two typos allowed
        #expect(try await search("eadbudz ").total == 0)  // two typos in a 7-letter word: too many
    }

    @Test func exactMatchesRankAboveTypoMatches() async throws {
        let shop = try await ProjectedShop.shared.value
        let results = try await search("charger ")
        let ids = results.hits.map(\.goodsId)
        let exact = try #require(ids.firstIndex(of: shop.named["charger"] ?? ""))
        let typo = try #require(ids.firstIndex(of: shop.named["chargers"] ?? ""))
        #expect(exact < typo)
    }

    @Test func theLastWordMatchesAsAPrefixWhileTyping() async throws {
        let shop = try await ProjectedShop.shared.value
        let typing = try await search("noise cancel")
        #expect(first(typing) == shop.named["headphones"])
        #expect(typing.hits.first?.matchedWords == 2)
        // A finished word is not a prefix: only "noise" matches now (the best any goods does).
        #expect(try await search("noise cancel ").hits.first?.matchedWords == 1)
    }

    @Test func everyWordMustMatchWhenSomeGoodsMatchThemAll() async throws {
        let shop = try await ProjectedShop.shared.value
        let results = try await search("organic green tea ")
        #expect(first(results) == shop.named["longjing"])
        #expect(results.hits.allSatisfy { $0.matchedWords == 3 })
        let diacritics = try await search("cafe creme ")
        #expect(first(diacritics) == shop.named["cafe"])
    }

    @Test func chineseTwoCharacterQueriesFindTheGoodsContainingThem() async throws {
        let shop = try await ProjectedShop.shared.value
        let tea = try await search("绿茶")
        #expect(tea.hits.count > 1)
        #expect(tea.hits.allSatisfy { $0.title.contains("绿茶") })
        #expect(first(try await search("明前")) == shop.named["longjing"])
        let pot = try await search("紫砂")
        #expect(first(pot) == shop.named["teapot"])
        #expect(pot.hits.first?.highlight == "Clay teapot <em>紫砂</em>壶")
        #expect(try await search("西湖龙井").hits.first?.goodsId == shop.named["longjing"])
    }

    @Test func everyTagFiltersAndCountsOnceHoweverManyAGoodsHas() async throws {
        let shop = try await ProjectedShop.shared.value
        let lamp = try #require(shop.named["lamp"])
        for tags in [["warm"], ["study", "led"], ["gift", "warm"]] {
            let results = try await search("lamp ") { $0.tags = tags }
            #expect(results.hits.map(\.goodsId) == [lamp], "\(tags)")
            let counts = Dictionary(uniqueKeysWithValues: (results.facets["tags"] ?? []).map { ($0.value, $0.count) })
            #expect(counts == ["gift": 1, "led": 1, "desk": 1, "study": 1, "warm": 1], "\(tags)")
        }
        #expect(try await search("lamp ") { $0.tags = ["warm", "usb-c"] }.total == 0)
    }

    @Test func nonsenseFindsNothing() async throws {
        let results = try await search("zzqxv")
        #expect(results.total == 0)
        #expect(results.hits.isEmpty)
    }

    @Test func suggestCompletesWordsAndRemembersPopularQueries() async throws {
        let shop = try await ProjectedShop.shared.value
        let projector = try shop.projector()
        for _ in 0..<3 { projector.searchLog.record("green tea") }
        projector.searchLog.record("green tea powder")
        let suggestions = try projector.read(SearchProjection.self) { try $0.suggest("gre", searchLog: projector.searchLog) }
        #expect(suggestions.completions.contains("green"))
        #expect(suggestions.popular.first == FacetValue(value: "green tea", count: 3))
        #expect(!suggestions.goods.isEmpty)
        let chinese = try projector.read(SearchProjection.self) { try $0.suggest("龙", searchLog: projector.searchLog) }
        #expect(chinese.completions.contains("龙井"))
        // Nothing typed yet: the popular searches and the catalogue's best sellers, best first.
        let empty = try projector.read(SearchProjection.self) { try $0.suggest("", searchLog: projector.searchLog) }
        #expect(empty.completions.isEmpty)
        #expect(empty.popular.first == FacetValue(value: "green tea", count: 3))
        let sellers = try catalogueBestSellers(shop, count: SearchProjection.suggestedGoodsMax)
        #expect(empty.goods.map(\.goodsId) == sellers)
    }

    /// Popular queries come from a sorted index; they must be what counting every logged query gives.
    @Test func popularQueriesMatchABruteForceCount() {
        let log = SearchLog()
        var random = SplitMix64(seed: 3)
        let words = ["tea", "teapot", "green", "grey", "茶", "茶壶", "matcha", "mat", "te"]
        var counts: [String: Int] = [:]
        for _ in 0..<3_000 {
            let query = words[Int(random.next() % UInt64(words.count))] + " " + words[Int(random.next() % UInt64(words.count))]
            log.record(query)
            counts[query, default: 0] += 1
        }
        for prefix in ["", "t", "te", "tea", "tea t", "茶", "gr", "zz", "MAT"] {
            let folded = SearchLog.normalise(prefix)
            let expected = counts.filter { $0.key.hasPrefix(folded) }.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.prefix(8)
                .map { FacetValue(value: $0.key, count: $0.value) }
            #expect(log.popular(startingWith: prefix, limit: 8) == expected, "\(prefix)")
        }
    }

    /// The listed goods that sold most (then better rated, then by id), from the engine's own aggregates.
    func catalogueBestSellers(_ shop: ProjectedShop, count: Int) throws -> [String] {
        let replayed = try Replayer(log: shop.log, cipher: nil).shop(through: shop.log.headPosition)
        let listed = replayed.streams.values.compactMap { stream -> GoodsState? in
            if case .goods(let goods) = stream.state, goods.isListed { goods } else { nil }
        }
        return listed.sorted {
            ($1.sold, $1.ratingTotal, $0.goodsId?.description ?? "") < ($0.sold, $0.ratingTotal, $1.goodsId?.description ?? "")
        }
        .prefix(count).compactMap { $0.goodsId?.description }
    }

    @Test func badQueriesAreRefusedWithTheField() async throws {
        await #expect(throws: SearchQueryError.self) { try await self.search("tea") { $0.size = 0 } }
        await #expect(throws: SearchQueryError.self) { try await self.search("tea") { $0.size = SearchQuery.sizeMax + 1 } }
        await #expect(throws: SearchQueryError.self) { try await self.search("tea") { $0.cursor = "not-a-cursor" } }
        await #expect(throws: SearchQueryError.self) {
            try await self.search("tea") {
                $0.minPrice = 10; $0.maxPrice = 5
            }
        }
        await #expect(throws: SearchQueryError.self) { try await self.search(String(repeating: "a", count: 500)) }
    }
}

@Suite struct SearchAgainstBruteForceTests {
    /// The listed goods as the engine's own aggregates say.
    func catalogue(_ shop: ProjectedShop) throws -> [GoodsState] {
        let replayed = try Replayer(log: shop.log, cipher: nil).shop(through: shop.log.headPosition)
        return replayed.streams.values.compactMap { stream -> GoodsState? in
            if case .goods(let goods) = stream.state, goods.isListed { goods } else { nil }
        }
    }

    /// `split`: rank every list in two halves on two cores and merge (as long lists are), however short.
    @Test(arguments: [SearchSort.priceAscending, .priceDescending, .sales, .rating, .newest, .relevance], [false, true])
    func filtersSortAndPaginationMatchABruteForceScan(sort: SearchSort, split: Bool) async throws {
        let shop = try await ProjectedShop.shared.value
        let projector = try shop.projector()
        try projector.read(SearchProjection.self) { $0.parallelRankingMin = split ? 1 : .max }
        let goods = try catalogue(shop)
        var random = SplitMix64(seed: 99)
        let categories = Array(Set(goods.map(\.category))).sorted()
        let brands = Array(Set(goods.map(\.brand))).sorted()
        let tags = Array(Set(goods.flatMap(\.tags))).sorted()
        for round in 0..<12 {
            var query = SearchQuery(text: ["", "tea", "gift", "茶"][round % 4])
            query.sort = sort
            query.size = 1 + Int(random.next() % 7)
            if random.next() % 2 == 0 { query.category = categories[Int(random.next() % UInt64(categories.count))] }
            if random.next() % 3 == 0 { query.brand = brands[Int(random.next() % UInt64(brands.count))] }
            if random.next() % 3 == 0 { query.minPrice = Int64(random.next() % 10_000) }
            if random.next() % 3 == 0 { query.maxPrice = 5_000 + Int64(random.next() % 20_000) }
            if let low = query.minPrice, let high = query.maxPrice, low > high { (query.minPrice, query.maxPrice) = (high, low) }
            if random.next() % 2 == 0 { query.inStock = true }
            if random.next() % 4 == 0 { query.tags = [tags[Int(random.next() % UInt64(tags.count))]] }
            let matching = try projector.read(SearchProjection.self) { search in
                Set(
                    search.words(of: query.text).isEmpty
                        ? goods.compactMap { $0.goodsId?.description }
                        : try search.search(
                            {
                                var all = query; all.size = 100; all.category = nil; all.brand = nil; all.minPrice = nil;
                                all.maxPrice = nil; all.inStock = false; all.tags = []; all.sort = .relevance; return all
                            }()
                        ).hits.map(\.goodsId))
            }
            let expected = goods.filter { goods in
                guard let id = goods.goodsId?.description, matching.contains(id) else { return false }
                if let category = query.category, goods.category != category { return false }
                if let brand = query.brand, goods.brand != brand { return false }
                if let low = query.minPrice, goods.price.minorUnits < low { return false }
                if let high = query.maxPrice, goods.price.minorUnits > high { return false }
                if query.inStock, goods.available <= 0 { return false }
                if !query.tags.isEmpty, !query.tags.allSatisfy(goods.tags.contains) { return false }
                return true
            }
            // Walk every page by cursor, and by page number: the same hits, in an order the sort allows.
            var byCursor: [SearchHit] = []
            var cursorQuery = query
            var first = try projector.read(SearchProjection.self) { try $0.search(cursorQuery) }
            #expect(first.total == expected.count, "round \(round): \(query)")
            byCursor += first.hits
            while let next = first.nextCursor {
                cursorQuery.cursor = next
                first = try projector.read(SearchProjection.self) { try $0.search(cursorQuery) }
                byCursor += first.hits
            }
            var byPage: [SearchHit] = []
            var pageQuery = query
            while byPage.count < expected.count, pageQuery.page < 100 {
                byPage += try projector.read(SearchProjection.self) { try $0.search(pageQuery) }.hits
                pageQuery.page += 1
            }
            #expect(byCursor.map(\.goodsId) == byPage.map(\.goodsId), "round \(round)")
            #expect(Set(byCursor.map(\.goodsId)) == Set(expected.compactMap { $0.goodsId?.description }), "round \(round): \(query)")
            for (earlier, later) in zip(byCursor, byCursor.dropFirst()) {
                switch sort {
                case .priceAscending: #expect(earlier.price <= later.price)
                case .priceDescending: #expect(earlier.price >= later.price)
                case .sales: #expect(earlier.sold >= later.sold)
                case .rating: #expect((earlier.rating ?? 0) >= (later.rating ?? 0))
                case .newest: #expect(earlier.listedAt >= later.listedAt)
                case .relevance: #expect((earlier.matchedWords, -earlier.typos) >= (later.matchedWords, -later.typos))
                }
            }
            // Facet counts are the filtered hits counted by value.
            let categoryCounts = Dictionary(grouping: expected, by: \.category).mapValues(\.count)
            for facet in first.facets["category"] ?? [] { #expect(categoryCounts[facet.value] == facet.count) }
        }
    }

    @Test func delistedGoodsVanishAndPriceChangesShowOnceTheProjectionPassesThem() async throws {
        let shop = try await ProjectedShop()
        let projector = try shop.projector()
        projector.start()
        defer { projector.stop() }
        let goods = try #require(shop.named["matcha"])
        let before = try projector.read(SearchProjection.self) { try $0.search(SearchQuery(text: "matcha ")) }
        #expect(before.hits.first?.goodsId == goods)
        try await shop.run(.changePrice(try shop.goods("matcha"), price: Money(minorUnits: 1_234)), as: shop.merchant)
        #expect(await projector.wait("search", reaches: shop.log.headPosition, timeout: .seconds(60)))
        #expect(try projector.read(SearchProjection.self) { try $0.search(SearchQuery(text: "matcha ")) }.hits.first?.price == 1_234)
        try await shop.run(.delist(try shop.goods("matcha")), as: shop.merchant)
        #expect(await projector.wait("search", reaches: shop.log.headPosition, timeout: .seconds(60)))
        #expect(
            try projector.read(SearchProjection.self) { try $0.search(SearchQuery(text: "matcha ")) }.hits.map(\.goodsId).contains(goods)
                == false)
    }
}

/// The tokenizer's first implementation, by `String.Index` over unicode scalars: the oracle for the byte-level one.
enum ScalarTokenizer {
    static func tokens(_ text: String) -> [Tokenizer.Token] {
        var tokens: [Tokenizer.Token] = []
        var wordStart: String.Index?
        var cjkRun: [(Unicode.Scalar, String.Index)] = []
        let scalars = text.unicodeScalars

        func closeWord(at end: String.Index) {
            guard let start = wordStart else { return }
            wordStart = nil
            let term = Tokenizer.fold(text[start..<end])
            guard !term.isEmpty else { return }
            tokens.append(Tokenizer.Token(term: String(term.prefix(Tokenizer.termCharactersMax)), range: start..<end, isCJK: false))
        }
        func closeRun(at end: String.Index) {
            defer { cjkRun.removeAll(keepingCapacity: true) }
            guard let first = cjkRun.first else { return }
            if cjkRun.count == 1 {
                tokens.append(Tokenizer.Token(term: String(Character(first.0)), range: first.1..<end, isCJK: true))
                return
            }
            for index in 0..<(cjkRun.count - 1) {
                let rangeEnd = index + 2 < cjkRun.count ? cjkRun[index + 2].1 : end
                var term = String.UnicodeScalarView()
                term.append(cjkRun[index].0)
                term.append(cjkRun[index + 1].0)
                tokens.append(Tokenizer.Token(term: String(term), range: cjkRun[index].1..<rangeEnd, isCJK: true))
            }
        }

        // By scalar, with ASCII decided without Unicode tables (titles are mostly ASCII and CJK).
        var index = scalars.startIndex
        while index < scalars.endIndex {
            let scalar = scalars[index]
            let value = scalar.value
            if value < 0x80 {
                closeRun(at: index)
                let isWordByte = (0x30...0x39).contains(value) || (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value)
                if isWordByte { if wordStart == nil { wordStart = index } } else { closeWord(at: index) }
            } else if Tokenizer.isCJK(scalar) {
                closeWord(at: index)
                cjkRun.append((scalar, index))
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil
                || scalar.properties.generalCategory == .nonspacingMark
            {
                closeRun(at: index)
                if wordStart == nil { wordStart = index }
            } else {
                closeWord(at: index)
                closeRun(at: index)
            }
            index = scalars.index(after: index)
        }
        closeWord(at: text.endIndex)
        closeRun(at: text.endIndex)
        return tokens
    }
}

/// Whole words over their completions, a category or tag word as the goods' subject, and the commonest correction of a
/// typo: the flaws measured on a public films catalogue (issue 26), each on a catalogue of its own.
@Suite struct SearchRankingTests {
    /// The titles listed into a search model of their own (category and tags per title), with their goods ids.
    func model(_ films: [(title: String, category: String, tags: [String])]) -> (SearchProjection, [String: String]) {
        let model = SearchProjection()
        var ids: [String: String] = [:]
        let merchant = UserId(UUID())
        for (offset, film) in films.enumerated() {
            let id = GoodsId(UUID())
            ids[film.title] = id.description
            let listed = GoodsListed(
                goodsId: id, merchantId: merchant, title: film.title, description: "", category: film.category, brand: "",
                tags: film.tags, price: Money(minorUnits: 1_000), stock: 5, lowStockThreshold: 0,
                at: Instant(millisecondsSinceEpoch: 1_000 * Int64(offset)))
            model.apply(ProjectedEvent(position: UInt64(offset + 1), stream: .goods(id), event: .goods(.listed(listed))))
        }
        return (model, ids)
    }

    func titles(_ model: SearchProjection, _ ids: [String: String], _ text: String) throws -> [String] {
        let titles = Dictionary(uniqueKeysWithValues: ids.map { ($0.value, $0.key) })
        return try model.search(SearchQuery(text: text)).hits.compactMap { titles[$0.goodsId] }
    }

    @Test func aWholeWordRanksAboveTheLongerWordsItBegins() throws {
        let (films, ids) = model([
            ("Supercop", "action", []), ("Super Mario Bros.", "comedy", []), ("Crossfire", "drama", []),
            ("To Cross the Rubicon", "drama", []), ("Madame Butterfly", "drama", []), ("Hollywood Madam", "documentary", []),
        ])
        // Typed without a trailing space, the last word also matches as a prefix: the whole word still comes first.
        #expect(try titles(films, ids, "super") == ["Super Mario Bros.", "Supercop"])
        #expect(try titles(films, ids, "cross") == ["To Cross the Rubicon", "Crossfire"])
        #expect(try titles(films, ids, "madam").first == "Hollywood Madam")
    }

    @Test func aCategoryOrTagWordMakesTheGoodsItsSubject() throws {
        let (films, ids) = model([
            ("Star Wars", "sci-fi", ["space"]), ("I Shot Andy Warhol", "drama", ["art"]), ("Paths of Glory", "war", ["wwi"]),
            ("Das Boot", "war", ["submarine"]), ("The Thin Red Line", "drama", ["war", "wwii"]),
        ])
        let found = try titles(films, ids, "war")
        #expect(Set(found.prefix(3)) == ["Paths of Glory", "Das Boot", "The Thin Red Line"], "\(found)")
        // A whole title word counts for less than the goods' subject: war films before films with "war" in the title.
        let (titled, titledIds) = model([
            ("War of the Worlds", "sci-fi", ["aliens"]), ("The War Lover", "drama", []), ("Paths of Glory", "war", ["wwi"]),
            ("Das Boot", "drama", ["war", "submarine"]),
        ])
        let subjects = try titles(titled, titledIds, "war ")
        #expect(Set(subjects.prefix(2)) == ["Paths of Glory", "Das Boot"] && subjects.count == 4, "\(subjects)")
        // Two words: the one that is the goods' subject still decides among goods matching both.
        let (tea, teaIds) = model([("Green Tea Cup", "teaware", ["green"]), ("Longjing Green", "tea", ["green"])])
        #expect(try titles(tea, teaIds, "green tea ") == ["Longjing Green", "Green Tea Cup"])
    }

    @Test func aTypoIsReadAsTheWordTheShopUsesMost() throws {
        var catalogue: [(title: String, category: String, tags: [String])] = [("Angus", "comedy", [])]
        for sequel in ["Angels in the Outfield", "Angels and Demons", "City of Angels", "Charlie's Angels"] {
            catalogue.append((sequel, "drama", []))
        }
        let (films, ids) = model(catalogue)
        let found = try titles(films, ids, "angls ")
        #expect(found.count == 5 && found.last == "Angus", "\(found)")
        #expect(try films.search(SearchQuery(text: "angls ")).didYouMean == "angels")
    }
}

/// Variants' option values and attributes as search filters and facets; price and stock over variants.
@Suite struct SearchSpecificationTests {
    static let merchant = UserId(UUID())

    /// Lists each goods through the catalogue's decider and folds its events into a search model of its own.
    func model(_ listings: [(GoodsId, GoodsCommand)]) throws -> SearchProjection {
        let model = SearchProjection()
        var position: UInt64 = 0
        var states: [GoodsId: GoodsState] = [:]
        for (id, command) in listings {
            let decision = try Catalog.decide(
                command, actor: .user(Self.merchant, .merchant), goods: states[id] ?? GoodsState(),
                at: Instant(millisecondsSinceEpoch: Int64(position) * 1_000))
            for case .goods(let event) in decision.events(for: .goods(id)) {
                position += 1
                states[id] = (states[id] ?? GoodsState()).evolve(event)
                model.apply(ProjectedEvent(position: position, stream: .goods(id), event: .goods(event)))
            }
        }
        return model
    }

    static func variant(_ id: VariantId, _ values: [String], price: Int64, stock: Int) -> NewVariant {
        NewVariant(id, VariantTerms(sku: "", values: values, price: Money(minorUnits: price), stock: stock))
    }

    let tee = GoodsId(UUID())
    let hoodie = GoodsId(UUID())
    let mug = GoodsId(UUID())
    let teeBlueL = VariantId(UUID())

    func shop() throws -> SearchProjection {
        let options = ["颜色 Colour", "尺码 Size"]
        return try model([
            (
                tee,
                .listVariants(
                    tee, GoodsDetails(title: "Cotton T-shirt T恤", category: "clothing"), options: options,
                    variants: [
                        Self.variant(tee.defaultVariant, ["红 red", "M"], price: 9_900, stock: 0),
                        Self.variant(teeBlueL, ["蓝 blue", "L"], price: 12_900, stock: 3),
                    ], attributes: [.choice("材质 Material", "纯棉 cotton", of: ["纯棉 cotton", "涤纶 polyester"])])
            ),
            (
                hoodie,
                .listVariants(
                    hoodie, GoodsDetails(title: "Hoodie 卫衣", category: "clothing"), options: options,
                    variants: [Self.variant(hoodie.defaultVariant, ["红 red", "L"], price: 19_900, stock: 0)], attributes: [])
            ),
            (
                mug,
                .listVariants(
                    mug, GoodsDetails(title: "Mug 马克杯", category: "kitchen"), options: [],
                    variants: [Self.variant(mug.defaultVariant, [], price: 3_900, stock: 8)],
                    attributes: [.text("材质 Material", "陶瓷 ceramic"), .number("容量 Capacity", "350", unit: "ml")])
            ),
        ])
    }

    func ids(_ model: SearchProjection, _ change: (inout SearchQuery) -> Void) throws -> Set<String> {
        var query = SearchQuery()
        change(&query)
        return Set(try model.search(query).hits.map(\.goodsId))
    }

    @Test func optionAndAttributeValuesFilterAndAreCounted() throws {
        let model = try shop()
        let red = try ids(model) { $0.specifications = [SpecificationFilter(name: "colour", values: ["red"])] }
        #expect(red == [tee.description, hoodie.description])
        // Names and values match in either language, whole or by one of their words.
        #expect(try ids(model) { $0.specifications = [SpecificationFilter(name: "颜色", values: ["红"])] } == red)
        #expect(try ids(model) { $0.specifications = [SpecificationFilter(name: "size", values: ["M"])] } == [tee.description])
        let redLarge = try ids(model) {
            $0.specifications = [SpecificationFilter(name: "colour", values: ["red"]), SpecificationFilter(name: "size", values: ["L"])]
        }
        #expect(redLarge == [tee.description, hoodie.description], "the T-shirt has red and has L (in different variants)")
        #expect(try ids(model) { $0.specifications = [SpecificationFilter(name: "size", values: ["M", "XL"])] } == [tee.description])
        #expect(try ids(model) { $0.specifications = [SpecificationFilter(name: "material", values: ["ceramic"])] } == [mug.description])
        #expect(try ids(model) { $0.specifications = [SpecificationFilter(name: "capacity", values: ["350"])] } == [mug.description])
        #expect(try ids(model) { $0.specifications = [SpecificationFilter(name: "colour", values: ["green"])] }.isEmpty)
        #expect(try ids(model) { $0.specifications = [SpecificationFilter(name: "weight", values: ["1"])] }.isEmpty)

        let facets = try model.search(SearchQuery()).facets
        #expect(facets["attr.颜色 Colour"] == [FacetValue(value: "红 red", count: 2), FacetValue(value: "蓝 blue", count: 1)])
        #expect(facets["attr.尺码 Size"] == [FacetValue(value: "L", count: 2), FacetValue(value: "M", count: 1)])
        #expect(facets["attr.材质 Material"]?.map(\.count) == [1, 1])
        #expect(facets["attr.容量 Capacity"] == [FacetValue(value: "350 ml", count: 1)])
        // Counted over the goods that pass the filter.
        let kitchen = try model.search(
            {
                var query = SearchQuery(); query.category = "kitchen"; return query
            }()
        ).facets
        #expect(kitchen["attr.颜色 Colour"] == nil && kitchen["attr.容量 Capacity"]?.first?.count == 1)
        // Attribute values are words of the goods' text too.
        #expect(try model.search(SearchQuery(text: "cotton")).hits.first?.goodsId == tee.description)
    }

    @Test func priceAndStockAreOverTheVariants() throws {
        let model = try shop()
        // 9,900 to 12,900: a range reaching any of its variants' prices finds the T-shirt.
        #expect(
            try ids(model) {
                $0.minPrice = 12_000; $0.maxPrice = 13_000
            }.contains(tee.description))
        #expect(try !ids(model) { $0.minPrice = 13_000 }.contains(tee.description))
        #expect(try !ids(model) { $0.maxPrice = 9_000 }.contains(tee.description))
        // In stock: some variant is (the T-shirt's blue L); the hoodie's only variant is not.
        #expect(try ids(model) { $0.inStock = true } == [tee.description, mug.description])
    }

    @Test func aDelistedVariantsValuesLeaveTheFacets() throws {
        let model = try shop()
        let delisted = VariantDelisted(variantId: teeBlueL, at: Instant(millisecondsSinceEpoch: 99_000))
        model.apply(ProjectedEvent(position: 100, stream: .goods(tee), event: .goods(.variantDelisted(delisted))))
        #expect(try model.search(SearchQuery()).facets["attr.颜色 Colour"] == [FacetValue(value: "红 red", count: 2)])
        #expect(try ids(model) { $0.specifications = [SpecificationFilter(name: "colour", values: ["blue"])] }.isEmpty)
        #expect(try !ids(model) { $0.inStock = true }.contains(tee.description))
    }

    @Test func aGoodsFactsStayInOneCacheLine() {
        #expect(MemoryLayout<InvertedIndex.Facts>.size == 64)
    }
}
