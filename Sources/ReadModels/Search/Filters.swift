import Commerce
import Foundation

extension SearchProjection {
    func document(_ number: Int32) -> GoodsState? { goods[index.keys[Int(number)]] }

    /// A query's filters, resolved to value ids once.
    struct Filter {
        var category: Int32?
        var brand: Int32?
        var tags: [Int32]
        var minPrice: Int64
        var maxPrice: Int64
        var inStock: Bool
        /// Per specification named: the name ids and value ids that satisfy it.
        var specifications: [(names: Set<Int32>, values: Set<Int32>)]

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
            var specifications: [(names: Set<Int32>, values: Set<Int32>)] = []
            for filter in query.specifications {
                let names = index.ids(in: index.specNames, naming: filter.name)
                let values = filter.values.reduce(into: Set<Int32>()) { $0.formUnion(index.ids(in: index.specValues, naming: $1)) }
                guard !names.isEmpty, !values.isEmpty else { return nil }
                specifications.append((names, values))
            }
            self.specifications = specifications
            minPrice = query.minPrice ?? .min
            maxPrice = query.maxPrice ?? .max
            inStock = query.inStock
        }

        /// `list`: the goods' tags when they are not all inline in `goods`; `specs`: its specifications. A price range
        /// passes a goods when some of its variants' prices can fall in it (its lowest to its highest).
        func passes(_ goods: InvertedIndex.Facts, tags list: [Int32]?, specs: [InvertedIndex.Spec]) -> Bool {
            guard goods.isListed, goods.price + Int64(goods.priceSpread) >= minPrice, goods.price <= maxPrice else { return false }
            for (names, values) in specifications where !specs.contains(where: { names.contains($0.name) && values.contains($0.value) }) {
                return false
            }
            if let category, goods.category != category { return false }
            if let brand, goods.brand != brand { return false }
            if inStock, !goods.inStock { return false }
            if tags.isEmpty { return true }
            if let list { return tags.allSatisfy(list.contains) }
            return tags.allSatisfy(goods.hasInlineTag)
        }
    }

    static func topFacetValues(_ counts: [String: Int]) -> [FacetValue] {
        counts.map { FacetValue(value: $0.key, count: $0.value) }
            .sorted { ($1.count, $0.value) < ($0.count, $1.value) }
            .prefix(SearchLimits.facetValuesMax).map { $0 }
    }
}
