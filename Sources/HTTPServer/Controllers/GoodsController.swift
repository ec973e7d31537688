import CommandAPI
import CommandEngine
import Commerce
import Hummingbird

/// One goods, as the engine holds it now.
struct GoodsController: Sendable {
    let engine: Engine

    func register(on endpoints: Endpoints) {
        endpoints.get("/v1/goods/:goodsId", "goods", "One goods", answer: .of(Priced<GoodsView>.self)) { _, context in
            guard let id = context.parameters.get("goodsId").flatMap(GoodsId.init) else {
                throw EngineError(.domain(.goodsNotFound), "no such goods")
            }
            return try Responses.json(Priced(engine.goods(id), currency: engine.policy.currency))
        }
        endpoints.get(
            "/v1/goods/:goodsId/history", "goodsHistory",
            "The goods' price, stock and listing after each of its latest events, newest first (its merchant and admins)",
            access: .role(.merchant, scope: .analyticsRead), answer: .of([Priced<GoodsHistoryEntry>].self)
        ) { _, context in
            guard let id = context.parameters.get("goodsId").flatMap(GoodsId.init) else {
                throw EngineError(.domain(.goodsNotFound), "no such goods")
            }
            return try Responses.json(Priced.each(engine.goodsHistory(id, for: context.caller), currency: engine.policy.currency))
        }
        endpoints.get(
            "/v1/promotions", "promotions", "The promotions running (at: as of a moment; all: every promotion made), newest first",
            parameters: [
                .query("at", .integer(0), "milliseconds since the Unix epoch (default: now)"),
                .query("all", .oneOf(["true", "false"]), "true: every promotion ever made, ended ones too"),
            ], answer: .of([Priced<PromotionView>].self)
        ) { request, _ in
            let at = request.uri.queryParameters.get("at").flatMap { Int64($0) }.map(Instant.init(millisecondsSinceEpoch:))
            let all = request.uri.queryParameters.get("all") == "true"
            return try Responses.json(Priced.each(engine.promotions(at: at, all: all), currency: engine.policy.currency))
        }
        endpoints.get(
            "/v1/promotions/:promotionId", "promotion", "One promotion and what its budget has given",
            answer: .of(Priced<PromotionView>.self)
        ) {
            _, context in
            guard let id = context.parameters.get("promotionId").flatMap(PromotionId.init) else {
                throw EngineError(.domain(.promotionNotFound), "no such promotion")
            }
            return try Responses.json(Priced(engine.promotion(id), currency: engine.policy.currency))
        }
        endpoints.get(
            "/v1/merchants/:merchantId/delivery-methods", "deliveryMethods",
            "The delivery methods a merchant offers: each one's fee rule and the areas it serves",
            answer: .of([Priced<DeliveryMethod>].self)
        ) { _, context in
            guard let merchant = context.parameters.get("merchantId").flatMap(UserId.init) else {
                throw EngineError(.domain(.userNotFound), "no such merchant")
            }
            return try Responses.json(Priced.each(engine.deliveryMethods(of: merchant), currency: engine.policy.currency))
        }
    }
}
