import Commerce
import Foundation

extension SearchProjection {
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
        let specLists: [[InvertedIndex.Spec]]
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
        /// Matches per specification (name and value), counted when facets are.
        var specCounts: [InvertedIndex.Spec: Int] = [:]
        /// The query's words that are a category or tag value of the shop: a goods whose category or tag one is has
        /// it for its subject (a war film for "war"), and ranks above goods that only mention the word.
        let subjectValues: [Int32]

        init(
            index: InvertedIndex, filter: Filter, query: SearchQuery, words: [WordMatch], after: SearchCursor?, wanted: Int
        ) {
            order = index.keyOrder
            allFacts = index.facts
            tagLists = index.tagLists
            specLists = index.specLists
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
            subjectValues = Array(Set(words.compactMap { index.valueId($0.word) }))
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
                merged.specCounts.merge(part.specCounts, uniquingKeysWith: +)
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
            let specs = facts.hasSpecs ? specLists[number] : []
            guard filter.passes(facts, tags: facts.tagsInline ? nil : tagLists[number], specs: specs) else { return }
            total += 1
            if countsFacets {
                for spec in specs { specCounts[spec, default: 0] += 1 }
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
            var subjects = 0
            for value in subjectValues {
                if facts.category == value {
                    subjects += 1
                } else if facts.tagsInline {
                    if (0..<Int(facts.tagCount)).contains(where: { facts.inlineTag($0) == value }) { subjects += 1 }
                } else if tagLists[number].contains(value) {
                    subjects += 1
                }
            }
            let key = SearchProjection.sortKey(scored, facts, sort, subjects: subjects)
            if let after, !after.precedes(key, order) { return }
            eligible += 1
            let order = self.order
            kept.insert((key, scored), keepingBest: wanted) { $0.0.precedes($1.0, order) }
        }
    }

    /// Above any BM25F score: a goods with more of the query's words for its subject ranks first among equals.
    static let subjectTier = 1e6

    static func sortKey(_ candidate: Candidate, _ goods: InvertedIndex.Facts, _ sort: SearchSort, subjects: Int = 0) -> SearchCursor {
        // More words matched; then fewer typos, a word matched only as the prefix of a longer one counting as half a typo
        // (the exact word first, before any typo); then more of the words as the goods' category or tags; then the score.
        let relevance = (
            -Double(candidate.matched), Double(candidate.typos) + 0.5 * Double(candidate.prefixed),
            -(Double(subjects) * subjectTier + candidate.score)
        )
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

}
