import Commerce
import Foundation

public enum SearchSort: String, Sendable, CaseIterable, Codable {
    case relevance
    case priceAscending = "price_asc"
    case priceDescending = "price_desc"
    case sales
    case rating
    case newest
}

public struct SearchQuery: Sendable, Hashable {
    public var text = ""
    public var category: String?
    public var brand: String?
    /// Minor units, inclusive.
    public var minPrice: Int64?
    public var maxPrice: Int64?
    public var inStock = false
    /// Every tag must be present.
    public var tags: [String] = []
    public var sort = SearchSort.relevance
    /// 1-based; ignored when `cursor` is given.
    public var page = 1
    public var size = 20
    /// The `nextCursor` of the previous page.
    public var cursor: String?
    /// Count facet values (suggest does without).
    public var facets = true

    public static let sizeMax = 100
    public static let pageMax = 1_000

    public init(text: String = "") { self.text = text }
}

public struct SearchHit: Codable, Sendable, Hashable {
    public var goodsId: String
    public var title: String
    /// The title with matched words in `<em>…</em>` (the rest HTML-escaped).
    public var highlight: String
    public var brand: String
    public var category: String
    public var tags: [String]
    public var price: Int64
    public var available: Int
    public var sold: Int
    public var rating: Double?
    public var ratingCount: Int
    public var listedAt: Int64
    /// Query words matched, typos used, and the BM25F score with boosts.
    public var matchedWords: Int
    public var typos: Int
    public var score: Double
}

public struct FacetValue: Codable, Sendable, Hashable {
    public var value: String
    public var count: Int
}

public struct SearchResults: Codable, Sendable, Hashable {
    public var query: String
    public var total: Int
    public var page: Int
    public var size: Int
    public var hits: [SearchHit]
    public var facets: [String: [FacetValue]]
    public var nextCursor: String?
    /// The query with its typos corrected, when some word matched only through typos.
    public var didYouMean: String?
}

public struct SearchQueryError: Error, CustomStringConvertible {
    public let field: String
    public let description: String
}

extension SearchProjection {
    /// One matching goods while ranking.
    struct Candidate {
        var number: Int32
        var matched = 0
        var typos = 0
        var score = 0.0
    }

    /// What one query word may match: terms with their typo count and whether they came from a prefix.
    struct WordMatch {
        var word: String
        var alternatives: [(term: String, typos: Int, prefix: Bool)]
    }

    public func search(_ query: SearchQuery) throws(SearchQueryError) -> SearchResults {
        guard query.text.count <= SearchLimits.queryCharactersMax else {
            throw SearchQueryError(field: "q", description: "a query has at most \(SearchLimits.queryCharactersMax) characters")
        }
        guard (1...SearchQuery.sizeMax).contains(query.size) else { throw SearchQueryError(field: "size", description: "size must be 1…\(SearchQuery.sizeMax)") }
        guard (1...SearchQuery.pageMax).contains(query.page) else { throw SearchQueryError(field: "page", description: "page must be 1…\(SearchQuery.pageMax)") }
        if let low = query.minPrice, let high = query.maxPrice, low > high {
            throw SearchQueryError(field: "minPrice", description: "minPrice is above maxPrice")
        }
        let after = try query.cursor.map { cursor throws(SearchQueryError) in try Cursor(cursor) }
        let words = self.words(of: query.text)
        let candidates = words.isEmpty ? [] : match(words)
        guard let filter = Filter(query, index) else {
            return SearchResults(query: query.text, total: 0, page: query.page, size: query.size, hits: [], facets: [:], nextCursor: nil, didYouMean: nil)
        }
        // One pass over the matches: filter, count facets, and keep only the best `offset + size` keys,
        // so a query matching most of the catalogue allocates nothing per goods.
        // The index's arrays are read into locals once: each access to a class's stored array is an exclusivity check.
        let keys = index.keys
        let order = index.keyOrder
        let allFacts = index.facts
        let tagLists = index.tagLists
        let offset = after == nil ? (query.page - 1) * query.size : 0
        let wanted = offset + query.size
        var kept: [(Cursor, Candidate)] = []
        kept.reserveCapacity(wanted + 1)
        var total = 0
        var eligible = 0
        var categories = [Int](repeating: 0, count: query.facets ? index.values.count : 0)
        var brands = categories
        var tags = categories
        func consider(_ candidate: Candidate) {
            let number = Int(candidate.number)
            let facts = allFacts[number]
            guard filter.passes(facts, tags: { tagLists[number] }) else { return }
            total += 1
            if query.facets {
                categories[Int(facts.category)] += 1
                brands[Int(facts.brand)] += 1
                if facts.hasTags {
                    let list = tagLists[number]
                    for (position, tag) in list.enumerated() where !list[..<position].contains(tag) { tags[Int(tag)] += 1 }
                }
            }
            var scored = candidate
            scored.score += Self.boost(facts)
            let key = Self.sortKey(scored, facts, query.sort)
            if let after, !after.precedes(key, order) { return }
            eligible += 1
            if kept.count == wanted, let last = kept.last, !key.precedes(last.0, order) { return }
            var low = 0
            var high = kept.count
            while low < high {
                let middle = (low + high) / 2
                if key.precedes(kept[middle].0, order) { high = middle } else { low = middle + 1 }
            }
            kept.insert((key, scored), at: low)
            if kept.count > wanted { kept.removeLast() }
        }
        if words.isEmpty {
            for number in 0..<Int32(index.documentCount) { consider(Candidate(number: number)) }
        } else {
            for candidate in candidates { consider(candidate) }
        }
        var facets: [String: [String: Int]] = [:]
        if query.facets {
            func named(_ counts: [Int]) -> [String: Int] {
                var named: [String: Int] = [:]
                for (id, count) in counts.enumerated() where count > 0 && !index.values[id].isEmpty { named[index.values[id], default: 0] += count }
                return named
            }
            facets = ["category": named(categories), "brand": named(brands), "tags": named(tags)]
        }
        let page = kept.dropFirst(offset)
        let highlighted = Set(words.flatMap { $0.alternatives.map(\.term) })
        let hits = page.compactMap { hit(for: $0.1, highlighting: highlighted) }
        let more = eligible > wanted
        return SearchResults(query: query.text, total: total, page: after == nil ? query.page : 0, size: query.size, hits: hits,
                             facets: facets.mapValues(Self.topFacetValues), nextCursor: more ? page.last.map { $0.0.encoded(keys) } : nil,
                             didYouMean: correction(words))
    }

    /// The query's words; the last Latin word also matches as a prefix (search as you type) unless the query ends with a space.
    func words(of text: String) -> [WordMatch] {
        let tokens = Array(Tokenizer.tokens(text).prefix(SearchLimits.queryWordsMax))
        let typing = !(text.last?.isWhitespace ?? true)
        return tokens.enumerated().map { offset, token in
            var alternatives: [(String, Int, Bool)] = []
            if index.postings[token.term] != nil { alternatives.append((token.term, 0, false)) }
            if offset == tokens.count - 1, typing {
                for term in index.terms(startingWith: token.term, limit: SearchLimits.prefixExpansionsMax) where term != token.term {
                    alternatives.append((term, 0, true))
                }
            }
            if !token.isCJK {
                for (term, typos) in index.typoCandidates(of: token.term).prefix(SearchLimits.prefixExpansionsMax) { alternatives.append((term, typos, false)) }
            }
            return WordMatch(word: token.term, alternatives: alternatives)
        }
    }

    /// Goods matching every word; when none does, goods matching the most words (Meilisearch's "last" strategy).
    /// Scores accumulate in arrays indexed by goods number (`scratch`), not dictionaries.
    func match(_ words: [WordMatch]) -> [Candidate] {
        scratch.prepare(count: index.documentCount)
        var touched: [Int32] = []
        for word in words {
            scratch.nextWord()
            var wordTouched: [Int32] = []
            for alternative in word.alternatives {
                guard let postings = index.postings[alternative.term] else { continue }
                let idf = index.inverseDocumentFrequency(alternative.term)
                // Exact beats prefix beats typo within the same ranking step.
                let penalty = alternative.prefix ? 0.9 : alternative.typos == 0 ? 1.0 : 0.6 / Double(alternative.typos)
                let typos = Int16(alternative.typos)
                for posting in postings {
                    let number = Int(posting.number)
                    let score = bm25(posting.number, posting.counts, idf) * penalty
                    if scratch.wordStamp[number] != scratch.word {
                        scratch.wordStamp[number] = scratch.word
                        scratch.wordScore[number] = score
                        scratch.wordTypos[number] = typos
                        wordTouched.append(posting.number)
                    } else if typos < scratch.wordTypos[number] || (typos == scratch.wordTypos[number] && score > scratch.wordScore[number]) {
                        scratch.wordScore[number] = score
                        scratch.wordTypos[number] = typos
                    }
                }
            }
            for number in wordTouched.map(Int.init) {
                if scratch.queryStamp[number] != scratch.query {
                    scratch.queryStamp[number] = scratch.query
                    scratch.matched[number] = 0
                    scratch.typos[number] = 0
                    scratch.score[number] = 0
                    touched.append(Int32(number))
                }
                scratch.matched[number] += 1
                scratch.typos[number] += scratch.wordTypos[number]
                scratch.score[number] += scratch.wordScore[number]
            }
        }
        let most = touched.reduce(Int16(0)) { max($0, scratch.matched[Int($1)]) }
        return touched.compactMap { number in
            let n = Int(number)
            guard scratch.matched[n] == most else { return nil }
            return Candidate(number: number, matched: Int(scratch.matched[n]), typos: Int(scratch.typos[n]), score: scratch.score[n])
        }
    }

    func bm25(_ number: Int32, _ counts: InvertedIndex.Counts, _ idf: Double) -> Double {
        let k1 = 1.2
        let b = 0.75
        var score = 0.0
        for field in InvertedIndex.Field.allCases {
            let frequency = Double(counts[field])
            guard frequency > 0 else { continue }
            let length = Double(index.lengths[Int(number) * 3 + field.rawValue])
            let norm = k1 * (1 - b + b * length / index.averageLength(field))
            score += field.weight * idf * frequency * (k1 + 1) / (frequency + norm)
        }
        return score
    }

    /// Sales and rating lift goods a little, never past a better text match.
    static func boost(_ goods: InvertedIndex.Facts) -> Double {
        let rating = goods.ratingCount > 0 ? Double(goods.ratingTotal) / Double(goods.ratingCount) : 3
        return 0.3 * log1p(Double(goods.sold)) + 0.2 * (rating - 3) * min(1, Double(goods.ratingCount) / 5)
    }

    func document(_ number: Int32) -> GoodsState? { goods[index.keys[Int(number)]] }

    /// A query's filters, resolved to value ids once.
    struct Filter {
        var category: Int32?
        var brand: Int32?
        var tags: [Int32]
        var minPrice: Int64
        var maxPrice: Int64
        var inStock: Bool

        /// nil when a filter names a value no goods has: nothing can match.
        init?(_ query: SearchQuery, _ index: InvertedIndex) {
            if let category = query.category { guard let id = index.valueId(category) else { return nil }; self.category = id }
            if let brand = query.brand { guard let id = index.valueId(brand) else { return nil }; self.brand = id }
            var tags: [Int32] = []
            for tag in query.tags {
                guard let id = index.valueId(tag) else { return nil }
                tags.append(id)
            }
            self.tags = tags
            minPrice = query.minPrice ?? .min
            maxPrice = query.maxPrice ?? .max
            inStock = query.inStock
        }

        func passes(_ goods: InvertedIndex.Facts, tags list: () -> [Int32]) -> Bool {
            guard goods.isListed, goods.price >= minPrice, goods.price <= maxPrice else { return false }
            if let category, goods.category != category { return false }
            if let brand, goods.brand != brand { return false }
            if inStock, goods.available <= 0 { return false }
            return tags.isEmpty || tags.allSatisfy(list().contains)
        }
    }

    static func sortKey(_ candidate: Candidate, _ goods: InvertedIndex.Facts, _ sort: SearchSort) -> Cursor {
        let relevance = (-Double(candidate.matched), Double(candidate.typos), -candidate.score)
        let id = candidate.number
        switch sort {
        case .relevance: return Cursor(nil, relevance: relevance, id: id)
        case .priceAscending: return Cursor(Double(goods.price), relevance: relevance, id: id)
        case .priceDescending: return Cursor(-Double(goods.price), relevance: relevance, id: id)
        case .sales: return Cursor(-Double(goods.sold), relevance: relevance, id: id)
        case .rating:
            let average = goods.ratingCount > 0 ? Double(goods.ratingTotal) / Double(goods.ratingCount) : 0
            return Cursor(-average, -Double(goods.ratingCount), relevance: relevance, id: id)
        case .newest: return Cursor(-Double(goods.listedAt), relevance: relevance, id: id)
        }
    }

    func hit(for candidate: Candidate, highlighting terms: Set<String>) -> SearchHit? {
        guard let goods = document(candidate.number), let id = goods.goodsId else { return nil }
        return SearchHit(goodsId: id.description, title: goods.title, highlight: Self.highlight(goods.title, terms: terms),
                         brand: goods.brand, category: goods.category, tags: goods.tags, price: goods.price.minorUnits,
                         available: goods.available, sold: goods.sold,
                         rating: goods.ratingCount > 0 ? Double(goods.ratingTotal) / Double(goods.ratingCount) : nil,
                         ratingCount: goods.ratingCount, listedAt: goods.listedAt?.millisecondsSinceEpoch ?? 0,
                         matchedWords: candidate.matched, typos: candidate.typos, score: candidate.score)
    }

    /// `text` HTML-escaped, with the tokens whose term matched wrapped in `<em>`.
    static func highlight(_ text: String, terms: Set<String>) -> String {
        var ranges: [Range<String.Index>] = []
        for token in Tokenizer.tokens(text) where terms.contains(token.term) {
            if let last = ranges.last, last.upperBound >= token.range.lowerBound {
                ranges[ranges.count - 1] = last.lowerBound..<max(last.upperBound, token.range.upperBound)
            } else {
                ranges.append(token.range)
            }
        }
        var output = ""
        var cursor = text.startIndex
        for range in ranges {
            output += escape(text[cursor..<range.lowerBound]) + "<em>" + escape(text[range]) + "</em>"
            cursor = range.upperBound
        }
        return output + escape(text[cursor...])
    }

    static func escape(_ text: Substring) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "&": escaped += "&amp;"
            case "\"": escaped += "&quot;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// The query with each word that matched nothing itself replaced by its most common typo correction.
    func correction(_ words: [WordMatch]) -> String? {
        var corrected = false
        let fixed = words.map { word -> String in
            guard !word.alternatives.contains(where: { $0.typos == 0 }) else { return word.word }
            let best = word.alternatives.min { ($0.typos, -(index.postings[$0.term]?.count ?? 0), $0.term) < ($1.typos, -(index.postings[$1.term]?.count ?? 0), $1.term) }
            guard let best else { return word.word }
            corrected = true
            return best.term
        }
        return corrected ? fixed.joined(separator: " ") : nil
    }

    static func topFacetValues(_ counts: [String: Int]) -> [FacetValue] {
        counts.map { FacetValue(value: $0.key, count: $0.value) }
            .sorted { ($1.count, $0.value) < ($0.count, $1.value) }
            .prefix(SearchLimits.facetValuesMax).map { $0 }
    }

    /// The `count` smallest elements in order, without sorting everything.
    static func smallest<T>(_ elements: [T], count: Int, by less: (T, T) -> Bool) -> [T] {
        guard elements.count > count * 4 else { return Array(elements.sorted(by: less).prefix(count)) }
        var kept: [T] = []
        kept.reserveCapacity(count + 1)
        for element in elements {
            if kept.count == count, let last = kept.last, !less(element, last) { continue }
            var low = 0
            var high = kept.count
            while low < high {
                let middle = (low + high) / 2
                if less(element, kept[middle]) { high = middle } else { low = middle + 1 }
            }
            kept.insert(element, at: low)
            if kept.count > count { kept.removeLast() }
        }
        return kept
    }
}

/// A position in a sorted result list: the last hit's sort values and id,
/// opaque to clients. At most five values, kept inline: a query ranks every
/// matching goods by one of these, so it must not allocate.
struct Cursor {
    static let valuesMax = 5
    private var storage: (Double, Double, Double, Double, Double) = (0, 0, 0, 0, 0)
    private(set) var count = 0
    /// The goods id of a cursor a client sent, or empty while ranking (then `number` names the goods).
    var id: String
    var number: Int32 = -1

    init(values: [Double], id: String) {
        precondition(values.count <= Self.valuesMax, "a cursor holds at most \(Self.valuesMax) values")
        self.id = id
        for value in values { append(value) }
    }

    /// A primary value (or two) followed by the relevance triple, for the goods numbered `id`.
    init(_ primary: Double?, _ secondary: Double? = nil, relevance: (Double, Double, Double), id: Int32) {
        self.id = ""
        self.number = id
        if let primary { append(primary) }
        if let secondary { append(secondary) }
        append(relevance.0)
        append(relevance.1)
        append(relevance.2)
    }

    private mutating func append(_ value: Double) {
        switch count {
        case 0: storage.0 = value
        case 1: storage.1 = value
        case 2: storage.2 = value
        case 3: storage.3 = value
        default: storage.4 = value
        }
        count += 1
    }

    func value(_ index: Int) -> Double {
        switch index {
        case 0: return storage.0
        case 1: return storage.1
        case 2: return storage.2
        case 3: return storage.3
        default: return storage.4
        }
    }

    var values: [Double] { (0..<count).map(value) }

    init(_ encoded: String) throws(SearchQueryError) {
        let invalid = SearchQueryError(field: "cursor", description: "the cursor is not one this server gave")
        guard let data = Data(base64Encoded: encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")),
              let text = String(data: data, encoding: .utf8) else { throw invalid }
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count >= 2, let id = parts.last, !id.isEmpty, parts.count <= Self.valuesMax + 1 else { throw invalid }
        var values: [Double] = []
        for part in parts.dropLast() {
            guard let value = Double(part), value.isFinite else { throw invalid }
            values.append(value)
        }
        self.init(values: values, id: String(id))
    }

    func goodsId(_ keys: [String]) -> String { number >= 0 ? keys[Int(number)] : id }

    /// The goods id as two integers that order as the id's text does (ids are fixed-format lowercase hex UUIDs).
    func idOrder(_ order: [IdOrder]) -> IdOrder { number >= 0 ? order[Int(number)] : IdOrder(id) }

    /// Whether this key sorts before `other`: by value, then (only on a tie) by goods id.
    func precedes(_ other: Cursor, _ order: [IdOrder]) -> Bool {
        for index in 0..<min(count, other.count) where value(index) != other.value(index) { return value(index) < other.value(index) }
        if count != other.count { return count < other.count }
        return idOrder(order) < other.idOrder(order)
    }

    func encoded(_ keys: [String]) -> String {
        let text = (values.map { "\($0)" } + [goodsId(keys)]).joined(separator: "|")
        return Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

}

/// A goods id as two integers ordered like its text (a lowercase UUID: hex digits and dashes at fixed places).
struct IdOrder: Comparable {
    var high: UInt64
    var low: UInt64

    init(_ id: String) {
        var digits: [UInt64] = []
        digits.reserveCapacity(32)
        for byte in id.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(UInt64(byte - UInt8(ascii: "0")))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digits.append(UInt64(byte - UInt8(ascii: "a") + 10))
            default: continue
            }
        }
        high = digits.prefix(16).reduce(0) { $0 << 4 | $1 }
        low = digits.dropFirst(16).prefix(16).reduce(0) { $0 << 4 | $1 }
    }

    static func < (lhs: IdOrder, rhs: IdOrder) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }
}
