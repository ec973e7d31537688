import CommandAPI
import CommandEngine
import Hummingbird
import HummingbirdCore
import ReadModels

/// Search over listed goods, and suggestions as the customer types.
struct SearchController: Sendable {
    let reads: ReadModelReads

    func register(on endpoints: Endpoints) {
        endpoints.get(
            "/v1/search", "search",
            "Search listed goods: q, category, brand, minPrice, maxPrice (some variant's price in range), inStock (some variant in stock), tags (comma-separated), attr.<option or attribute>=<value>[,<value>…] (e.g. attr.colour=red&attr.size=M; facets `attr.<name>` count their values), sort (relevance|price_asc|price_desc|sales|rating|newest), page, size, cursor, after",
            parameters: [
                .query("q", .string(maxLength: 200), "words to find (all of them, the last one as a prefix)"),
                .query("category", .string(maxLength: 100), "only this category"),
                .query("brand", .string(maxLength: 100), "only this brand"),
                .query("minPrice", .integer(0), "minor units"), .query("maxPrice", .integer(0), "minor units"),
                .query("inStock", Schema(.boolean), "only goods in stock"), .query("tags", .string(), "comma-separated; all of them"),
                .query("sort", .oneOf(SearchSort.allCases.map(\.rawValue)), "the order (relevance by default)"),
                .query("page", .integer(1, Int64(SearchQuery.pageMax)), "1-based"),
                .query("size", .integer(1, Int64(SearchQuery.sizeMax)), "results per page (default 20)"),
                .query("cursor", .string(maxLength: 512), "the previous page's `next`: deep paging"), .after,
            ], answer: .of(Priced<SearchResults>.self), search)
        endpoints.get(
            "/v1/search/suggest", "suggest",
            "Completions, popular searches and top goods for what is typed (q); popular searches and best sellers when nothing is",
            parameters: [.query("q", .string(maxLength: 200), "what is typed so far"), .after], answer: .of(Priced<Suggestions>.self),
            suggest)
    }

    @Sendable func search(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let query = try Self.searchQuery(request.uri.queryParameters)
        let results = try await reads.read(SearchProjection.self, request) { search in
            do { return try search.search(query) } catch let error as SearchQueryError { throw ReadModelReads.badQuery(error) }
        }
        if results.total > 0 { try reads.requireProjector().searchLog.record(query.text) }
        return try Responses.json(Priced(results, currency: reads.currency))
    }

    @Sendable func suggest(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let text = request.uri.queryParameters.get("q") ?? ""
        let searchLog = try reads.requireProjector().searchLog
        return try await reads.json(SearchProjection.self, request) { search in
            do { return Priced(try search.suggest(text, searchLog: searchLog), currency: reads.currency) } catch let error
                as SearchQueryError
            {
                throw ReadModelReads.badQuery(error)
            }
        }
    }

    static func searchQuery(_ parameters: FlatDictionary<Substring, Substring>) throws -> SearchQuery {
        var query = SearchQuery(text: parameters.get("q") ?? "")
        query.category = parameters.get("category")
        query.brand = parameters.get("brand")
        func integer(_ name: String) throws -> Int64? {
            guard let text = parameters.get(name) else { return nil }
            guard let value = Int64(text), value >= 0 else { throw Responses.badQuery(name, "must be a non-negative integer") }
            return value
        }
        query.minPrice = try integer("minPrice")
        query.maxPrice = try integer("maxPrice")
        if let text = parameters.get("inStock") {
            guard let value = Bool(text) else { throw Responses.badQuery("inStock", "must be true or false") }
            query.inStock = value
        }
        query.tags = parameters.get("tags").map { $0.split(separator: ",").map(String.init) } ?? []
        for (key, value) in parameters where key.hasPrefix("attr.") {
            let name = String(key.dropFirst("attr.".count))
            let values = value.split(separator: ",").map(String.init).filter { !$0.isEmpty }
            guard !name.isEmpty, !values.isEmpty, query.specifications.count < SearchQuery.specificationsMax else {
                throw Responses.badQuery(
                    String(key), "attr.<name> takes comma-separated values, at most \(SearchQuery.specificationsMax) names")
            }
            query.specifications.append(SpecificationFilter(name: name, values: values))
        }
        if let text = parameters.get("sort") {
            guard let sort = SearchSort(rawValue: text) else {
                throw Responses.badQuery("sort", "one of \(SearchSort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            query.sort = sort
        }
        query.page = Int(try integer("page") ?? 1)
        query.size = Int(try integer("size") ?? 20)
        query.cursor = parameters.get("cursor")
        return query
    }
}
