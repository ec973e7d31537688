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
        guard Limits.fits(query.text, characters: SearchLimits.queryCharactersMax) else {
            throw SearchQueryError(field: "q", description: "a query has at most \(SearchLimits.queryCharactersMax) characters")
        }
        guard (1...SearchQuery.sizeMax).contains(query.size) else { throw SearchQueryError(field: "size", description: "size must be 1…\(SearchQuery.sizeMax)") }
        guard (1...SearchQuery.pageMax).contains(query.page) else { throw SearchQueryError(field: "page", description: "page must be 1…\(SearchQuery.pageMax)") }
        if let low = query.minPrice, let high = query.maxPrice, low > high {
            throw SearchQueryError(field: "minPrice", description: "minPrice is above maxPrice")
        }
        let after = try query.cursor.map { cursor throws(SearchQueryError) in try SearchCursor(cursor) }
        let words = self.words(of: query.text)
        guard let filter = Filter(query, index) else {
            return SearchResults(query: query.text, total: 0, page: query.page, size: query.size, hits: [], facets: [:], nextCursor: nil, didYouMean: nil)
        }
        var work = scratch.take(count: index.documentCount, stamps: words.count + 1)
        defer { scratch.give(work) }
        if !words.isEmpty { match(words, &work) }
        // One pass over the matches: filter, count facets, and keep only the best `offset + size` keys,
        // so a query matching most of the catalogue allocates nothing per goods.
        // Matches come in goods-number order, which follows listing time: sorted by newest, every goods would
        // beat the ones kept so far and be inserted. Visiting blocks of them in a scrambled (but fixed) order
        // leaves few goods better than the worst kept, so most are turned away by one comparison.
        // A long list is ranked in halves on two cores, then merged.
        let offset = after == nil ? (query.page - 1) * query.size : 0
        let count = words.isEmpty ? index.documentCount : work.candidates.count
        let parts = count >= parallelRankingMin ? 2 : 1  // on one core `concurrentPerform` runs the halves in turn
        var rankings = [Ranking](repeating: Ranking(index: index, filter: filter, query: query, after: after, wanted: offset + query.size), count: parts)
        let candidates = work.candidates
        let (browsing, partCount) = (words.isEmpty, rankings.count)
        @Sendable func rank(_ ranking: inout Ranking, _ part: Int) {
            let range = (count * part / partCount)..<(count * (part + 1) / partCount)
            for block in ScrambledBlocks(count: range.count) {
                let slice = (block.lowerBound + range.lowerBound)..<(block.upperBound + range.lowerBound)
                if browsing {
                    for number in slice { ranking.consider(Candidate(number: Int32(number))) }
                } else {
                    ranking.consider(candidates[slice])
                }
            }
        }
        if rankings.count == 1 {
            rank(&rankings[0], 0)
        } else {
            rankings.withUnsafeMutableBufferPointer { parts in
                let shared = UncheckedRankings(parts: parts)
                DispatchQueue.concurrentPerform(iterations: shared.parts.count) { part in rank(&shared.parts[part], part) }
            }
        }
        let ranking = Ranking(merging: rankings)
        let (kept, total, eligible, wanted) = (ranking.kept, ranking.total, ranking.eligible, ranking.wanted)
        let (categories, brands, tags, keys) = (ranking.categories, ranking.brands, ranking.tags, index.keys)
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

    /// Goods matching every word into `work.candidates`; when none does, goods matching the most words
    /// (Meilisearch's "last" strategy). Scores accumulate in per-goods slots, not dictionaries.
    func match(_ words: [WordMatch], _ work: inout MatchScratch.Work) {
        var stamp = work.firstStamp
        let query = stamp
        let scorer = BM25(index)
        for word in words {
            stamp += 1
            work.wordTouched.removeAll(keepingCapacity: true)
            for alternative in word.alternatives {
                guard let postings = index.postings[alternative.term] else { continue }
                let idf = index.inverseDocumentFrequency(alternative.term)
                // Exact beats prefix beats typo within the same ranking step.
                let penalty = alternative.prefix ? 0.9 : alternative.typos == 0 ? 1.0 : 0.6 / Double(alternative.typos)
                let typos = Int16(alternative.typos)
                for posting in postings {
                    let number = Int(posting.number)
                    let score = scorer.score(number, posting.counts, idf) * penalty
                    if work.slots[number].wordStamp != stamp {
                        work.slots[number].wordStamp = stamp
                        work.slots[number].wordScore = score
                        work.slots[number].wordTypos = typos
                        work.wordTouched.append(posting.number)
                    } else if typos < work.slots[number].wordTypos || (typos == work.slots[number].wordTypos && score > work.slots[number].wordScore) {
                        work.slots[number].wordScore = score
                        work.slots[number].wordTypos = typos
                    }
                }
            }
            for touched in work.wordTouched {
                let number = Int(touched)
                if work.slots[number].queryStamp != query {
                    work.slots[number].queryStamp = query
                    work.slots[number].matched = 0
                    work.slots[number].typos = 0
                    work.slots[number].score = 0
                    work.touched.append(touched)
                }
                work.slots[number].matched += 1
                work.slots[number].typos += work.slots[number].wordTypos
                work.slots[number].score += work.slots[number].wordScore
            }
        }
        var most: Int16 = 0
        for number in work.touched { most = max(most, work.slots[Int(number)].matched) }
        for number in work.touched where work.slots[Int(number)].matched == most {
            let slot = work.slots[Int(number)]
            work.candidates.append(Candidate(number: number, matched: Int(slot.matched), typos: Int(slot.typos), score: slot.score))
        }
    }

    /// BM25F over the three fields, with the index's lengths read once per query.
    struct BM25 {
        let lengths: [Int32]
        let averages: (Double, Double, Double)
        static let k1 = 1.2
        static let b = 0.75

        init(_ index: InvertedIndex) {
            lengths = index.lengths
            averages = (index.averageLength(.title), index.averageLength(.attributes), index.averageLength(.description))
        }

        func score(_ number: Int, _ counts: InvertedIndex.Counts, _ idf: Double) -> Double {
            func field(_ frequency: UInt16, _ length: Int32, _ average: Double, _ weight: Double) -> Double {
                guard frequency > 0 else { return 0 }
                let frequency = Double(frequency)
                let norm = Self.k1 * (1 - Self.b + Self.b * Double(length) / average)
                return weight * idf * frequency * (Self.k1 + 1) / (frequency + norm)
            }
            let base = number * 3
            return field(counts.byField.0, lengths[base], averages.0, InvertedIndex.Field.title.weight)
                + field(counts.byField.1, lengths[base + 1], averages.1, InvertedIndex.Field.attributes.weight)
                + field(counts.byField.2, lengths[base + 2], averages.2, InvertedIndex.Field.description.weight)
        }
    }


    /// Filters, counts facets and keeps the best `wanted` keys of one query's matches.
    /// A struct with the index's arrays copied in, so the hot loop does no exclusivity checks on the index.
    struct Ranking {
        let order: [IdOrder]
        let allFacts: [InvertedIndex.Facts]
        let tagLists: [[Int32]]
        let filter: Filter
        let sort: SearchSort
        let countsFacets: Bool
        let after: SearchCursor?
        let wanted: Int
        /// The best keys so far, best first.
        var kept: [(SearchCursor, Candidate)] = []
        /// Matches passing the filter, and those of them past the cursor.
        var total = 0
        var eligible = 0
        var categories: [Int]
        var brands: [Int]
        var tags: [Int]

        init(index: InvertedIndex, filter: Filter, query: SearchQuery, after: SearchCursor?, wanted: Int) {
            order = index.keyOrder
            allFacts = index.facts
            tagLists = index.tagLists
            self.filter = filter
            sort = query.sort
            countsFacets = query.facets
            self.after = after
            self.wanted = wanted
            kept.reserveCapacity(wanted + 1)
            gathered.reserveCapacity(Self.gatherChunk)
            categories = [Int](repeating: 0, count: query.facets ? index.values.count : 0)
            brands = categories
            tags = categories
        }

        /// The parts' counts added up and their best keys merged.
        init(merging parts: [Ranking]) {
            var merged = parts[0]
            for part in parts.dropFirst() {
                merged.total += part.total
                merged.eligible += part.eligible
                for index in merged.categories.indices {
                    merged.categories[index] += part.categories[index]
                    merged.brands[index] += part.brands[index]
                    merged.tags[index] += part.tags[index]
                }
                let order = merged.order
                merged.kept = Array((merged.kept + part.kept).sorted { $0.0.precedes($1.0, order) }.prefix(merged.wanted))
            }
            self = merged
        }

        /// Scattered matches: their facts are first gathered into a buffer by a loop so short that the processor
        /// has many of the (mostly cache-missing) loads in flight at once, then considered from there.
        mutating func consider(_ candidates: ArraySlice<Candidate>) {
            var start = candidates.startIndex
            while start < candidates.endIndex {
                let chunk = candidates[start..<Swift.min(candidates.endIndex, start + Self.gatherChunk)]
                gathered.removeAll(keepingCapacity: true)
                for candidate in chunk { gathered.append(allFacts[Int(candidate.number)]) }
                for (candidate, facts) in zip(chunk, gathered) { consider(candidate, facts) }
                start = chunk.endIndex
            }
        }

        static let gatherChunk = 256
        private var gathered: [InvertedIndex.Facts] = []

        mutating func consider(_ candidate: Candidate) { consider(candidate, allFacts[Int(candidate.number)]) }

        mutating func consider(_ candidate: Candidate, _ facts: InvertedIndex.Facts) {
            let number = Int(candidate.number)
            guard filter.passes(facts, tags: facts.tagsInline ? nil : tagLists[number]) else { return }
            total += 1
            if countsFacets {
                categories[Int(facts.category)] += 1
                brands[Int(facts.brand)] += 1
                if facts.tagsInline {
                    for position in 0..<Int(facts.tagCount) { tags[Int(facts.inlineTag(position))] += 1 }
                } else {
                    for tag in tagLists[number] { tags[Int(tag)] += 1 }
                }
            }
            var scored = candidate
            scored.score += facts.boost
            let key = SearchProjection.sortKey(scored, facts, sort)
            if let after, !after.precedes(key, order) { return }
            eligible += 1
            let order = self.order
            kept.insert((key, scored), keepingBest: wanted) { $0.0.precedes($1.0, order) }
        }
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

        /// `list`: the goods' tags when they are not all inline in `goods`.
        func passes(_ goods: InvertedIndex.Facts, tags list: [Int32]?) -> Bool {
            guard goods.isListed, goods.price >= minPrice, goods.price <= maxPrice else { return false }
            if let category, goods.category != category { return false }
            if let brand, goods.brand != brand { return false }
            if inStock, !goods.inStock { return false }
            if tags.isEmpty { return true }
            if let list { return tags.allSatisfy(list.contains) }
            return tags.allSatisfy(goods.hasInlineTag)
        }
    }

    static func sortKey(_ candidate: Candidate, _ goods: InvertedIndex.Facts, _ sort: SearchSort) -> SearchCursor {
        let relevance = (-Double(candidate.matched), Double(candidate.typos), -candidate.score)
        let id = candidate.number
        switch sort {
        case .relevance: return SearchCursor(nil, relevance: relevance, id: id)
        case .priceAscending: return SearchCursor(Double(goods.price), relevance: relevance, id: id)
        case .priceDescending: return SearchCursor(-Double(goods.price), relevance: relevance, id: id)
        case .sales: return SearchCursor(-Double(goods.sold), relevance: relevance, id: id)
        case .rating:
            let average = goods.ratingCount > 0 ? Double(goods.ratingTotal) / Double(goods.ratingCount) : 0
            return SearchCursor(-average, -Double(goods.ratingCount), relevance: relevance, id: id)
        case .newest: return SearchCursor(-Double(goods.listedAt), relevance: relevance, id: id)
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
}

/// Each part of a split ranking is written by one thread only.
private struct UncheckedRankings: @unchecked Sendable {
    let parts: UnsafeMutableBufferPointer<SearchProjection.Ranking>
}

/// Every index below `count` once: blocks of `size` consecutive indexes (kept
/// together for the memory's sake), the blocks in an order spread by a
/// golden-ratio stride.
struct ScrambledBlocks: Sequence, IteratorProtocol {
    static let size = 1_024
    private let count: Int
    private let blocks: Int
    private let stride: Int
    private var block = 0
    private var visited = 0

    init(count: Int) {
        self.count = count
        blocks = (count + Self.size - 1) / Self.size
        var stride = Swift.max(1, Int(Double(blocks) * 0.618))
        while Self.gcd(stride, blocks) != 1 { stride += 1 }
        self.stride = stride
    }

    mutating func next() -> Range<Int>? {
        guard visited < blocks else { return nil }
        let start = block * Self.size
        visited += 1
        block = (block + stride) % blocks
        return start..<Swift.min(count, start + Self.size)
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
}

/// A position in a sorted result list: the last hit's sort values and id,
/// opaque to clients. At most five values, kept inline, and nothing
/// reference-counted: a query ranks every matching goods by one of these.
struct SearchCursor {
    static let valuesMax = 5
    private var storage: (Double, Double, Double, Double, Double) = (0, 0, 0, 0, 0)
    private(set) var count = 0
    /// The goods while ranking; -1 for a cursor a client sent (then `sentOrder` orders its goods id).
    var number: Int32 = -1
    private var sentOrder = IdOrder(high: 0, low: 0)

    init(values: [Double], id: String) {
        precondition(values.count <= Self.valuesMax, "a cursor holds at most \(Self.valuesMax) values")
        sentOrder = IdOrder(id)
        for value in values { append(value) }
    }

    /// A primary value (or two) followed by the relevance triple, for the goods numbered `id`.
    init(_ primary: Double?, _ secondary: Double? = nil, relevance: (Double, Double, Double), id: Int32) {
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

    /// The goods id as two integers that order as the id's text does (ids are fixed-format lowercase hex UUIDs).
    func idOrder(_ order: [IdOrder]) -> IdOrder { number >= 0 ? order[Int(number)] : sentOrder }

    /// Whether this key sorts before `other`: by value, then (only on a tie) by goods id.
    func precedes(_ other: SearchCursor, _ order: [IdOrder]) -> Bool {
        if count == other.count {
            // Unused values are zero in both: compare all five without counting.
            let (a, b) = (storage, other.storage)
            if a.0 != b.0 { return a.0 < b.0 }
            if a.1 != b.1 { return a.1 < b.1 }
            if a.2 != b.2 { return a.2 < b.2 }
            if a.3 != b.3 { return a.3 < b.3 }
            if a.4 != b.4 { return a.4 < b.4 }
            return idOrder(order) < other.idOrder(order)
        }
        for index in 0..<min(count, other.count) where value(index) != other.value(index) { return value(index) < other.value(index) }
        if count != other.count { return count < other.count }
        return idOrder(order) < other.idOrder(order)
    }

    /// Only for a ranked key (a client's cursor is never sent back).
    func encoded(_ keys: [String]) -> String {
        let text = (values.map { "\($0)" } + [keys[Int(number)]]).joined(separator: "|")
        return Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

}

/// A goods id as two integers ordered like its text (a lowercase UUID: hex digits and dashes at fixed places).
struct IdOrder: Comparable {
    var high: UInt64
    var low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

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
