import CommandAPI
import CommandEngine
import Commerce
import Hummingbird
import ReadModels

/// The signed-in customer's own pages: cart, profile and orders from the
/// engine; points, favorites, footprints and waitlists from the my-pages model (reviews: `ReviewsController`).
struct MeController: Sendable {
    let engine: Engine
    let reads: ReadModelReads

    func register(on endpoints: Endpoints) {
        endpoints.get(
            "/v1/me/cart", "cart", "My cart at current prices, with the promotions running now (or at: what it would cost then)",
            access: .signedIn, parameters: [.query("at", .integer(0), "milliseconds since the Unix epoch (default: now)")],
            answer: .of(Priced<CartView>.self)
        ) { request, context in
            let at = request.uri.queryParameters.get("at").flatMap { Int64($0) }.map(Instant.init(millisecondsSinceEpoch:))
            return try Responses.json(Priced(engine.cart(of: context.caller, at: at), currency: engine.policy.currency))
        }
        endpoints.get(
            "/v1/me/orders", "orders", "My orders, newest first (status, limit, after)", access: .signedIn,
            parameters: [
                .query("status", .oneOf(OrderStatus.allCases.map(\.rawValue)), "only orders in this status"),
                .limit(default: 20, max: MyPagesProjection.ordersPageMax), .after,
            ], answer: .of([Priced<MyPagesProjection.OrderSummary>].self), orders)
        endpoints.get(
            "/v1/orders/:orderId", "order", "An order with its timeline", access: .role(.customer, scope: .ordersRead),
            answer: .of(Priced<OrderView>.self)
        ) {
            _, context in
            guard let id = context.parameters.get("orderId").flatMap(OrderId.init) else {
                throw EngineError(.domain(.orderNotFound), "no such order")
            }
            return try Responses.json(Priced(engine.order(id, for: context.caller), currency: engine.policy.currency))
        }
        endpoints.get(
            "/v1/after-sales/:afterSaleId", "afterSale",
            "An after-sale request (a return or a claim) with its steps, for the order's buyer, its merchant or an admin",
            access: .role(.customer, scope: .ordersRead), answer: .of(Priced<AfterSaleView>.self)
        ) {
            _, context in
            guard let id = context.parameters.get("afterSaleId").flatMap(AfterSaleId.init) else {
                throw EngineError(.domain(.afterSaleNotFound), "no such after-sale request")
            }
            return try Responses.json(Priced(engine.afterSale(id, for: context.caller), currency: engine.policy.currency))
        }
        endpoints.get(
            "/v1/me/points", "points", "My points balance and ledger", access: .signedIn, parameters: [.after],
            answer: .of(MyPagesProjection.PointsPage.self)
        ) { request, context in
            let user = try ReadModelReads.signedInUser(context)
            return try await reads.json(MyPagesProjection.self, request, waitingForHead: true) { $0.points(of: user) }
        }
        endpoints.get(
            "/v1/me/profile", "profile", "My profile, addresses, favorites and footprints", access: .signedIn,
            answer: .of(ProfileView.self)
        ) { _, context in
            try Responses.json(engine.profile(of: context.caller))
        }
        endpoints.get(
            "/v1/me/favorites", "favorites", "My favorites, newest first", access: .signedIn, parameters: [.after],
            answer: .of([MyPagesProjection.Footprint].self)
        ) { request, context in
            let user = try ReadModelReads.signedInUser(context)
            return try await reads.json(MyPagesProjection.self, request, waitingForHead: true) { $0.favorites(of: user) }
        }
        endpoints.get(
            "/v1/me/footprints", "footprints", "Goods I viewed recently, newest first", access: .signedIn,
            parameters: [.after], answer: .of([MyPagesProjection.Footprint].self)
        ) { request, context in
            let user = try ReadModelReads.signedInUser(context)
            return try await reads.json(MyPagesProjection.self, request, waitingForHead: true) { $0.footprints(of: user) }
        }
        endpoints.get(
            "/v1/me/waitlist", "waitlist", "The variants I wait for to be back in stock, and those I was told are back, newest first",
            access: .signedIn, parameters: [.after], answer: .of([MyPagesProjection.Waiting].self)
        ) { request, context in
            let user = try ReadModelReads.signedInUser(context)
            return try await reads.json(MyPagesProjection.self, request, waitingForHead: true) { $0.waitlist(of: user) }
        }
    }

    @Sendable func orders(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let user = try ReadModelReads.signedInUser(context)
        let parameters = request.uri.queryParameters
        let status = try parameters.get("status").map { text in
            guard let status = OrderStatus(rawValue: text) else {
                throw Responses.badQuery("status", "one of \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return status
        }
        let limit = try ReadModelReads.limit(parameters, default: 20, max: MyPagesProjection.ordersPageMax)
        return try await reads.json(MyPagesProjection.self, request, waitingForHead: true) {
            Priced.each($0.orders(of: user, status: status, limit: limit), currency: engine.policy.currency)
        }
    }
}
