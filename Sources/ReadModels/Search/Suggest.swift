import Commerce
import Foundation
import Synchronization

/// What people searched for (folded, with how often), for popular-query
/// suggestions. Not a projection: searches are not events. It is kept in
/// `<data>/projections` and written with the projector's next transaction.
public final class SearchLog: Sendable {
    /// Distinct queries remembered; past it only known queries are counted.
    public static let queriesMax = 50_000
    static let queryCharactersMax = 100

    private struct State {
        var counts: [String: Int] = [:]
        /// Every query in byte order, so the queries starting with a prefix are one contiguous range.
        var sorted: [String] = []
        var dirty: Set<String> = []

        mutating func add(_ query: String, count: Int) {
            if counts[query] == nil { sorted.insert(query, at: firstIndex(notBefore: query)) }
            counts[query] = count
        }

        /// The first position whose query does not sort (by bytes) before `text`.
        func firstIndex(notBefore text: String) -> Int {
            sorted.partitioningIndex { !$0.utf8.lexicographicallyPrecedes(text.utf8) }
        }
    }

    private let state = Mutex(State())

    public init() {}

    /// Counts a search that found something.
    public func record(_ query: String) {
        let normalised = Self.normalise(query)
        guard !normalised.isEmpty, Limits.fits(normalised, characters: Self.queryCharactersMax) else { return }
        state.withLock { state in
            let count = state.counts[normalised]
            guard count != nil || state.counts.count < Self.queriesMax else { return }
            state.add(normalised, count: (count ?? 0) + 1)
            state.dirty.insert(normalised)
        }
    }

    static func normalise(_ query: String) -> String { Tokenizer.fold(query).split(whereSeparator: \.isWhitespace).joined(separator: " ") }

    /// The most frequent queries starting with `prefix` (ties: alphabetical). Looks only at the queries
    /// holding the prefix (a binary search finds them), keeping the best `limit`.
    public func popular(startingWith prefix: String, limit: Int) -> [FacetValue] {
        let folded = Self.normalise(prefix)
        return state.withLock { state in
            let holding = state.sorted[state.firstIndex(notBefore: folded)...].prefix { $0.utf8.starts(with: folded.utf8) }
            let counts = state.counts
            return holding.lazy.map { FacetValue(value: $0, count: counts[$0] ?? 0) }
                .best(limit) { ($0.count, $1.value) > ($1.count, $0.value) }
        }
    }

    func load(_ query: String, count: Int) { state.withLock { $0.add(query, count: count) } }

    /// The counts changed since the last call (taken: the caller writes them).
    func takeChanges() -> [(String, Int)] {
        state.withLock { state in
            defer { state.dirty.removeAll() }
            return state.dirty.compactMap { key in state.counts[key].map { (key, $0) } }
        }
    }
}

public struct Suggestions: Codable, Sendable, Hashable {
    /// Words in the catalogue that complete the last word typed.
    public var completions: [String]
    /// Popular searches starting with what was typed.
    public var popular: [FacetValue]
    /// The best few goods for what was typed.
    public var goods: [SearchHit]
    public var didYouMean: String?
}

extension SearchProjection {
    public static let suggestionsMax = 8
    public static let suggestedGoodsMax = 5

    /// The listed goods among `numbers` that sold most (ties: better rated, then id), best first.
    func bestSellers(among numbers: some Sequence<Int32>, count: Int, highlighting terms: Set<String>) -> [SearchHit] {
        let facts = index.facts
        let order = index.keyOrder
        func precedes(_ a: Int32, _ b: Int32) -> Bool {
            let (x, y) = (facts[Int(a)], facts[Int(b)])
            if x.sold != y.sold { return x.sold > y.sold }
            if x.ratingTotal != y.ratingTotal { return x.ratingTotal > y.ratingTotal }
            return order[Int(a)] < order[Int(b)]
        }
        let kept = numbers.lazy.filter { facts[Int($0)].isListed }.best(count, by: precedes)
        return kept.compactMap { hit(for: Candidate(number: $0, matched: terms.isEmpty ? 0 : 1), highlighting: terms) }
    }

    public func suggest(_ text: String, searchLog: SearchLog) throws(SearchQueryError) -> Suggestions {
        guard Limits.fits(text, characters: SearchLimits.queryCharactersMax) else {
            throw SearchQueryError(field: "q", description: "a query has at most \(SearchLimits.queryCharactersMax) characters")
        }
        let tokens = Tokenizer.tokens(text)
        var completions: [String] = []
        if let last = tokens.last {
            let head = text[..<last.range.lowerBound]
            completions = index.terms(startingWith: last.term, limit: Self.suggestionsMax).map { String(head) + $0 }
        }
        let popular = searchLog.popular(startingWith: text, limit: Self.suggestionsMax)
        if tokens.isEmpty {
            // Nothing typed yet: popular searches and the catalogue's best sellers.
            return Suggestions(
                completions: [], popular: popular,
                goods: bestSellers(among: 0..<Int32(index.documentCount), count: Self.suggestedGoodsMax, highlighting: []), didYouMean: nil)
        }
        if tokens.count == 1, let last = tokens.last, let best = index.terms(startingWith: last.term, limit: 1).first {
            // One word being typed: the best sellers among goods holding its most common completion (no full search).
            let holding = (index.postings[best] ?? []).lazy.map(\.number)
            return Suggestions(
                completions: completions, popular: popular,
                goods: bestSellers(among: holding, count: Self.suggestedGoodsMax, highlighting: [best]), didYouMean: nil)
        }
        var query = SearchQuery(text: text)
        query.size = Self.suggestedGoodsMax
        query.facets = false
        let results = try search(query)
        return Suggestions(
            completions: completions, popular: popular,
            goods: results.hits, didYouMean: results.didYouMean)
    }
}
