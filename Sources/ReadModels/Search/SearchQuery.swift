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
    /// `attr.<name>=<value>[,<value>…]`: an option or attribute with one of these values; every one named must match.
    public var specifications: [SpecificationFilter] = []
    public var sort = SearchSort.relevance
    /// 1-based; ignored when `cursor` is given.
    public var page = 1
    public var size = 20
    /// The `nextCursor` of the previous page.
    public var cursor: String?
    /// Count facet values (suggest does without).
    public var facets = true

    public static let sizeMax = 100
    public static let specificationsMax = 10
    public static let pageMax = 1_000

    public init(text: String = "") { self.text = text }
}

/// Goods whose option or attribute `name` has one of `values` (a name or value matches its whole text or one of its words).
public struct SpecificationFilter: Sendable, Hashable {
    public var name: String
    public var values: [String]

    public init(name: String, values: [String]) {
        self.name = name
        self.values = values
    }
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
        /// Words matched only as the prefix of a longer word (an exact word ranks first: "super" finds
        /// *Super Mario Bros.* before *Supercop*).
        var prefixed = 0
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
        guard (1...SearchQuery.sizeMax).contains(query.size) else {
            throw SearchQueryError(field: "size", description: "size must be 1…\(SearchQuery.sizeMax)")
        }
        guard (1...SearchQuery.pageMax).contains(query.page) else {
            throw SearchQueryError(field: "page", description: "page must be 1…\(SearchQuery.pageMax)")
        }
        if let low = query.minPrice, let high = query.maxPrice, low > high {
            throw SearchQueryError(field: "minPrice", description: "minPrice is above maxPrice")
        }
        let after = try query.cursor.map { cursor throws(SearchQueryError) in try SearchCursor(cursor) }
        let words = self.words(of: query.text)
        guard let filter = Filter(query, index) else {
            return SearchResults(
                query: query.text, total: 0, page: query.page, size: query.size, hits: [], facets: [:], nextCursor: nil, didYouMean: nil)
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
        var rankings = [Ranking](
            repeating: Ranking(index: index, filter: filter, query: query, words: words, after: after, wanted: offset + query.size),
            count: parts)
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
        let specCounts = ranking.specCounts
        var facets: [String: [String: Int]] = [:]
        if query.facets {
            func named(_ counts: [Int]) -> [String: Int] {
                var named: [String: Int] = [:]
                for (id, count) in counts.enumerated() where count > 0 && !index.values[id].isEmpty {
                    named[index.values[id], default: 0] += count
                }
                return named
            }
            facets = ["category": named(categories), "brand": named(brands), "tags": named(tags)]
            // Each option or attribute as `attr.<name>`, its values counted over the matching goods.
            for (spec, count) in specCounts {
                facets["attr." + index.values[Int(spec.name)], default: [:]][index.values[Int(spec.value)], default: 0] += count
            }
        }
        let page = kept.dropFirst(offset)
        let highlighted = Set(words.flatMap { $0.alternatives.map(\.term) })
        let hits = page.compactMap { hit(for: $0.1, highlighting: highlighted) }
        let more = eligible > wanted
        return SearchResults(
            query: query.text, total: total, page: after == nil ? query.page : 0, size: query.size, hits: hits,
            facets: facets.mapValues(Self.topFacetValues), nextCursor: more ? page.last.map { $0.0.encoded(keys) } : nil,
            didYouMean: correction(words))
    }

}
