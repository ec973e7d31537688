import CommandAPI
import CommandEngine
import Commerce
import Hummingbird
import ReadModels

/// Hot goods, new arrivals, similar and bought-together goods, and a signed-in customer's feed.
struct RecommendationsController: Sendable {
    let reads: ReadModelReads

    static let parameters: [Parameter] = [.limit(default: 10, max: RecommendProjection.resultsMax), .after]

    func register(on endpoints: Endpoints) {
        endpoints.get(
            "/v1/recommendations/hot", "recommendHot", "Hot goods: time-decayed views, carts and purchases (limit)",
            parameters: Self.parameters, answer: .of([RecommendProjection.Recommendation].self)
        ) {
            request, _ in
            let limit = try ReadModelReads.limit(request.uri.queryParameters)
            return try await reads.json(RecommendProjection.self, request) { $0.hot(limit: limit) }
        }
        endpoints.get(
            "/v1/recommendations/new", "recommendNew", "New arrivals (limit)", parameters: Self.parameters,
            answer: .of([RecommendProjection.Recommendation].self)
        ) { request, _ in
            let limit = try ReadModelReads.limit(request.uri.queryParameters)
            return try await reads.json(RecommendProjection.self, request) { $0.newArrivals(limit: limit) }
        }
        endpoints.get(
            "/v1/recommendations/similar/:goodsId", "recommendSimilar", "Goods like this one (limit)", parameters: Self.parameters,
            answer: .of([RecommendProjection.Recommendation].self)
        ) { request, context in
            let (goods, limit) = try Self.goodsAndLimit(request, context)
            return try await reads.json(RecommendProjection.self, request) { $0.similar(to: goods, limit: limit) }
        }
        endpoints.get(
            "/v1/recommendations/also-bought/:goodsId", "recommendAlsoBought", "Goods bought with this one (limit)",
            parameters: Self.parameters, answer: .of([RecommendProjection.Recommendation].self)
        ) {
            request, context in
            let (goods, limit) = try Self.goodsAndLimit(request, context)
            return try await reads.json(RecommendProjection.self, request) { $0.alsoBought(with: goods, limit: limit) }
        }
        endpoints.get(
            "/v1/recommendations/feed", "recommendFeed", "My home feed (limit)", access: .signedIn, parameters: Self.parameters,
            answer: .of([RecommendProjection.Recommendation].self)
        ) { request, context in
            let user = try ReadModelReads.signedInUser(context)
            let limit = try ReadModelReads.limit(request.uri.queryParameters)
            return try await reads.json(RecommendProjection.self, request) { $0.feed(for: user, limit: limit) }
        }
    }

    /// The path's goods (as the model keys it) and `limit`; an id that is not one is no such goods.
    static func goodsAndLimit(_ request: Request, _ context: AppRequestContext) throws -> (String, Int) {
        let limit = try ReadModelReads.limit(request.uri.queryParameters)
        guard let goods = context.parameters.get("goodsId").flatMap(GoodsId.init)?.description else {
            throw EngineError(.domain(.goodsNotFound), "no such goods")
        }
        return (goods, limit)
    }
}
