import Commerce
import CommandEngine
import EventStore
import Foundation
import Hummingbird
import HummingbirdCore
import ReadModels

/// Queries answered by the projections: search, suggest, recommendations,
/// analytics and my pages. Each takes `?after=POSITION` (a position from a
/// command's answer) and then waits, up to `ServerConfiguration.readYourWritesWaitMax`, until the
/// read model has folded that position (read-your-writes), or answers 503
/// `projection_behind`. My pages wait for the head as of the request by
/// themselves (a customer expects to see the order they just placed), and
/// answer from the model as it is if that takes too long.
extension Routes {
    static let readTable: [RouteSpec] = [
        RouteSpec(name: "search", method: .get, path: "/v1/search",
                  summary: "Search listed goods: q, category, brand, minPrice, maxPrice, inStock, tags (comma-separated), sort (relevance|price_asc|price_desc|sales|rating|newest), page, size, cursor, after",
                  access: .anyone),
        RouteSpec(name: "suggest", method: .get, path: "/v1/search/suggest", summary: "Completions, popular searches and top goods for what is typed (q); popular searches and best sellers when nothing is", access: .anyone),
        RouteSpec(name: "recommendHot", method: .get, path: "/v1/recommendations/hot", summary: "Hot goods: time-decayed views, carts and purchases (limit)", access: .anyone),
        RouteSpec(name: "recommendNew", method: .get, path: "/v1/recommendations/new", summary: "New arrivals (limit)", access: .anyone),
        RouteSpec(name: "recommendSimilar", method: .get, path: "/v1/recommendations/similar/:goodsId", summary: "Goods like this one (limit)", access: .anyone),
        RouteSpec(name: "recommendAlsoBought", method: .get, path: "/v1/recommendations/also-bought/:goodsId", summary: "Goods bought with this one (limit)", access: .anyone),
        RouteSpec(name: "recommendFeed", method: .get, path: "/v1/recommendations/feed", summary: "My home feed (limit)", access: .signedIn),
        RouteSpec(name: "analyticsSales", method: .get, path: "/v1/analytics/sales",
                  summary: "Sales per day (from, to as YYYY-MM-DD; merchantId for admins); merchants see their own", access: .role(.merchant, scope: .analyticsRead)),
        RouteSpec(name: "analyticsFunnel", method: .get, path: "/v1/analytics/funnel", summary: "Admins: views → carts → orders → paid (from, to)", access: .role(.admin, scope: .analyticsRead)),
        RouteSpec(name: "analyticsTopGoods", method: .get, path: "/v1/analytics/top-goods", summary: "Best sellers by paid revenue (limit; merchants see their own)", access: .role(.merchant, scope: .analyticsRead)),
        RouteSpec(name: "analyticsRefunds", method: .get, path: "/v1/analytics/refunds", summary: "Admins: refund rate (from, to)", access: .role(.admin, scope: .analyticsRead)),
        RouteSpec(name: "analyticsLowStock", method: .get, path: "/v1/analytics/low-stock", summary: "Listed goods at or below their threshold (merchants see their own)", access: .role(.merchant, scope: .analyticsRead)),
        RouteSpec(name: "favorites", method: .get, path: "/v1/me/favorites", summary: "My favorites, newest first", access: .signedIn),
        RouteSpec(name: "footprints", method: .get, path: "/v1/me/footprints", summary: "Goods I viewed recently, newest first", access: .signedIn),
        RouteSpec(name: "reviews", method: .get, path: "/v1/me/reviews", summary: "My reviews, newest first", access: .signedIn),
        RouteSpec(name: "projections", method: .get, path: "/v1/admin/projections", summary: "Admins: each projection's checkpoint, lag and size", access: .role(.admin, scope: .projectionsManage)),
        RouteSpec(name: "rebuildProjection", method: .post, path: "/v1/admin/projections/:name/rebuild",
                  summary: "Admins: rebuild a projection (or all) beside the serving one", access: .role(.admin, scope: .projectionsManage)),
    ]

    func handleRead(_ name: String, _ request: Request, _ context: AppRequestContext, caller: Actor?) async throws -> Response? {
        let parameters = request.uri.queryParameters
        switch name {
        case "search":
            let query = try searchQuery(parameters)
            let results = try await read(SearchProjection.self, request) { search in
                do { return try search.search(query) } catch let error as SearchQueryError { throw Self.badQuery(error) }
            }
            if results.total > 0, let projector { projector.searchLog.record(query.text) }
            return try json(results)
        case "suggest":
            let text = parameters.get("q") ?? ""
            guard let projector else { throw Self.projectionsOff }
            return try json(try await read(SearchProjection.self, request) { search in
                do { return try search.suggest(text, searchLog: projector.searchLog) } catch let error as SearchQueryError { throw Self.badQuery(error) }
            })
        case "recommendHot":
            let limit = try self.limit(parameters)
            return try json(try await read(RecommendProjection.self, request) { $0.hot(limit: limit) })
        case "recommendNew":
            let limit = try self.limit(parameters)
            return try json(try await read(RecommendProjection.self, request) { $0.newArrivals(limit: limit) })
        case "recommendSimilar", "recommendAlsoBought":
            let limit = try self.limit(parameters)
            guard let goods = context.parameters.get("goodsId").flatMap(GoodsId.init)?.description else {
                throw EngineError(.domain(.goodsNotFound), "no such goods")
            }
            return try json(try await read(RecommendProjection.self, request) {
                name == "recommendSimilar" ? $0.similar(to: goods, limit: limit) : $0.alsoBought(with: goods, limit: limit)
            })
        case "recommendFeed":
            let user = try signedInUser(caller)
            let limit = try self.limit(parameters)
            return try json(try await read(RecommendProjection.self, request) { $0.feed(for: user, limit: limit) })
        case "analyticsSales", "analyticsTopGoods", "analyticsLowStock", "analyticsFunnel", "analyticsRefunds":
            return try await analytics(name, request, caller: caller)
        case "orders":
            let user = try signedInUser(caller)
            let status = try parameters.get("status").map { text in
                guard let status = OrderStatus(rawValue: text) else {
                    throw Self.badQuery("status", "one of \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return status
            }
            let limit = try self.limit(parameters, default: 20, max: MyPagesProjection.ordersPageMax)
            return try json(try await read(MyPagesProjection.self, request, waitingForHead: true) { $0.orders(of: user, status: status, limit: limit) })
        case "points":
            let user = try signedInUser(caller)
            return try json(try await read(MyPagesProjection.self, request, waitingForHead: true) { $0.points(of: user) })
        case "favorites":
            let user = try signedInUser(caller)
            return try json(try await read(MyPagesProjection.self, request, waitingForHead: true) { $0.favorites(of: user) })
        case "footprints":
            let user = try signedInUser(caller)
            return try json(try await read(MyPagesProjection.self, request, waitingForHead: true) { $0.footprints(of: user) })
        case "reviews":
            let user = try signedInUser(caller)
            return try json(try await read(MyPagesProjection.self, request, waitingForHead: true) { $0.reviews(of: user) })
        case "projections":
            guard let projector else { throw Self.projectionsOff }
            return try json(try projector.status())
        case "rebuildProjection":
            guard let projector else { throw Self.projectionsOff }
            let projection = context.parameters.get("name") ?? ""
            let names = projection == "all" ? projector.names : [projection]
            guard projection == "all" || Projections.named(projection) != nil else {
                throw EngineError(.projectionNotFound, "no projection \(LogLimits.shown(projection)); one of: all, \(projector.names.joined(separator: ", "))")
            }
            do {
                for name in names { try projector.startRebuild(name) }
            } catch let error as ProjectionError {
                throw EngineError(.rebuildRunning, error.description)
            }
            return try json(try projector.status().filter { names.contains($0.name) })
        default: return nil
        }
    }

    static let projectionsOff = EngineError(.projectionsUnavailable, "this server runs without read models")

    /// Runs `body` on a projection once it has passed `?after=`. With `waitingForHead` and no `after=`, it first
    /// waits (as long as `after=` would) for the head as of the request, and then answers as the model is.
    func read<P: Projection, R: Sendable>(_ type: P.Type, _ request: Request, waitingForHead: Bool = false,
                                          _ body: @escaping (P) throws -> R) async throws -> R {
        guard let projector else { throw Self.projectionsOff }
        if waitingForHead, request.uri.queryParameters.get("after") == nil {
            _ = await projector.wait(type.name, reaches: engine.log.headPosition, timeout: configuration.readYourWritesWaitMax)
        }
        if let text = request.uri.queryParameters.get("after") {
            guard let position = UInt64(text) else { throw Self.badQuery("after", "must be a log position") }
            guard await projector.wait(type.name, reaches: position, timeout: configuration.readYourWritesWaitMax) else {
                throw EngineError(.projectionBehind, "\(type.name) has not reached position \(position) yet; try again",
                                  details: ["checkpoint": String(projector.checkpoint(type.name))])
            }
        }
        do {
            return try projector.read(type, body)
        } catch let error as ProjectionError {
            throw EngineError(.projectionsUnavailable, error.description)
        }
    }

    /// The user a signed-in route was admitted for.
    func signedInUser(_ caller: Actor?) throws -> UserId {
        guard let user = caller?.userId else { throw EngineError(.forbidden, "these pages belong to users") }
        return user
    }

    func limit(_ parameters: FlatDictionary<Substring, Substring>, default value: Int = 10, max: Int = RecommendProjection.resultsMax) throws -> Int {
        guard let text = parameters.get("limit") else { return value }
        guard let limit = Int(text), (1...max).contains(limit) else { throw Self.badQuery("limit", "must be 1…\(max)") }
        return limit
    }

    func searchQuery(_ parameters: FlatDictionary<Substring, Substring>) throws -> SearchQuery {
        var query = SearchQuery(text: parameters.get("q") ?? "")
        query.category = parameters.get("category")
        query.brand = parameters.get("brand")
        func integer(_ name: String) throws -> Int64? {
            guard let text = parameters.get(name) else { return nil }
            guard let value = Int64(text), value >= 0 else { throw Self.badQuery(name, "must be a non-negative integer") }
            return value
        }
        query.minPrice = try integer("minPrice")
        query.maxPrice = try integer("maxPrice")
        if let text = parameters.get("inStock") {
            guard let value = Bool(text) else { throw Self.badQuery("inStock", "must be true or false") }
            query.inStock = value
        }
        query.tags = parameters.get("tags").map { $0.split(separator: ",").map(String.init) } ?? []
        if let text = parameters.get("sort") {
            guard let sort = SearchSort(rawValue: text) else {
                throw Self.badQuery("sort", "one of \(SearchSort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            query.sort = sort
        }
        query.page = Int(try integer("page") ?? 1)
        query.size = Int(try integer("size") ?? 20)
        query.cursor = parameters.get("cursor")
        return query
    }

    /// Admins see the whole shop (or one merchant with `merchantId`); a merchant only their own goods; customers nothing.
    func analytics(_ name: String, _ request: Request, caller: Actor?) async throws -> Response {
        let parameters = request.uri.queryParameters
        var merchant: UserId?
        if caller?.isAdmin == true {
            merchant = try parameters.get("merchantId").map { text in
                guard let id = UserId(text) else { throw Self.badQuery("merchantId", "must be a user id") }
                return id
            }
        } else if caller?.role == .merchant, let id = caller?.userId {
            merchant = id  // the route admits merchants to their own sales, best sellers and low stock only
        } else {
            throw EngineError(.forbidden, "analytics are for merchants and admins")
        }
        let from = try day(parameters.get("from") ?? "0000-01-01", "from")
        let to = try day(parameters.get("to") ?? "9999-12-31", "to")
        guard from <= to else { throw Self.badQuery("from", "must not be after to") }  // same-width days: text order is time order
        let limit = try self.limit(parameters, default: 20, max: AnalyticsProjection.topGoodsMax)
        switch name {
        case "analyticsSales": return try json(try await read(AnalyticsProjection.self, request) { $0.sales(from: from, to: to, merchant: merchant) })
        case "analyticsFunnel": return try json(try await read(AnalyticsProjection.self, request) { $0.funnel(from: from, to: to) })
        case "analyticsRefunds": return try json(try await read(AnalyticsProjection.self, request) { $0.refunds(from: from, to: to) })
        case "analyticsTopGoods": return try json(try await read(AnalyticsProjection.self, request) { $0.topGoods(merchant: merchant, limit: limit) })
        default: return try json(try await read(AnalyticsProjection.self, request) { $0.lowStock(merchant: merchant, limit: limit) })
        }
    }

    /// A search model's refusal: its description is a whole sentence already ("page must be 1…1000").
    static func badQuery(_ error: SearchQueryError) -> EngineError {
        EngineError(.invalidQuery, error.description, details: ["field": error.field])
    }

    /// A calendar day as `YYYY-MM-DD` (ASCII digits, a month that exists, a day that month has).
    func day(_ text: String, _ field: String) throws -> String {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1...12).contains(month), (1...Self.days(inMonth: month, of: year)).contains(day) else {
            throw Self.badQuery(field, "must be a day, YYYY-MM-DD")
        }
        return text
    }

    static func days(inMonth month: Int, of year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
