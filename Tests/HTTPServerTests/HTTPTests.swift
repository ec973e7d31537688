import Assembly
import CommandAPI
import CommandEngine
import Commerce
import EventStore
import Foundation
import HTTPTypes
import History
import Hummingbird
import HummingbirdTesting
import Logging
import ReadModels
import ShopTestSupport
import TestSupport
import Testing

@testable import HTTPServer

/// An engine over a real temporary log, and the application built by the same composition root as `emporium serve`.
struct Harness {
    let shop: TestShop
    /// The data directory (`log/`, `keys/`, `projections/`), for tests that run the CLI on it.
    var directory: String { shop.directory }
    var log: EventLog { shop.log }
    var engine: Engine { shop.engine }
    let projector: Projector
    let metrics: ServerMetrics
    let app: any ApplicationProtocol
    /// What the router serves, as its controllers registered it.
    let routes: [RouteSpec]

    /// `logger` is handed to the engine, the projector and the HTTP layer, as `emporium serve` hands them theirs.
    init(port: Int = 0, logger: Logger? = nil, configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        let metrics = ServerMetrics()
        var options = TestShop.options(readModels: true)
        options.engine.tokenSecret = Array(repeating: 9, count: 32)
        options.log.onCommit = { metrics.logCommitted(events: $0.events, nanoseconds: UInt64($0.commitNanoseconds)) }
        if let logger {
            options.engine.logger = logger
            options.projections?.logger = logger
        }
        try self.init(shop: try TestShop(options: options, label: "http"), metrics: metrics, logger: logger) { server in
            server.port = port
            configure(&server)
        }
    }

    /// Serves `shop` (a node of a cluster, say), as `emporium serve` would.
    init(
        shop: TestShop, metrics: ServerMetrics = ServerMetrics(), logger: Logger? = nil,
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) throws {
        self.shop = shop
        self.metrics = metrics
        projector = try #require(shop.projector)
        projector.start()
        var server = ServerConfiguration(sandboxSecret: sandboxSecret)
        configure(&server)
        let backends = ServerBackends(engine: shop.engine, projector: projector, audit: shop.shop.audit)
        routes = buildRouter(backends, configuration: server, metrics: metrics).routes.all
        ContractCheck.register(routes)
        app = buildApplication(backends, configuration: server, metrics: metrics, logger: logger ?? Logger(label: "test"))
    }
}

struct Reply {
    let status: HTTPResponse.Status
    let json: [String: Any]
    let headers: HTTPFields
    let text: String

    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    /// The command answer's `result`, each value as text (numbers in decimal, lists joined by spaces).
    var result: [String: String] {
        (json["result"] as? [String: Any] ?? [:]).mapValues { value in
            switch value {
            case let text as String: text
            case let list as [Any]: list.map { "\($0)" }.joined(separator: " ")
            default: "\(value)"
            }
        }
    }
}

extension TestClientProtocol {
    func call(
        _ method: HTTPRequest.Method, _ uri: String, body: String? = nil, token: String? = nil, headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        headers[.contentType] = "application/json"
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            let text = String(buffer: response.body)
            let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
            ContractCheck.check(method, uri, status: response.status, request: body, body: text)
            return Reply(status: response.status, json: json, headers: response.headers, text: text)
        }
    }

    func command(_ type: String, _ data: [String: Any] = [:], token: String? = nil, key: String? = nil) async throws -> Reply {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: ["type": type, "data": data]), as: UTF8.self)
        var headers: HTTPFields = [:]
        if let key, let name = HTTPField.Name("Idempotency-Key") { headers[name] = key }
        return try await call(.post, "/v1/commands", body: body, token: token, headers: headers)
    }

    /// Registers (as the system when an admin token is not needed) and logs in; returns the token.
    func user(_ email: String, role: Role = .customer, engine: Engine) async throws -> String {
        if role == .customer {
            _ = try await command("RegisterUser", ["email": email, "password": "correct horse", "name": "Tester"])
        } else {
            _ = try await engine.execute(
                .registerUser(email: email, password: "correct horse", name: "Tester", role: role),
                context: CommandContext(actor: .system, correlationId: UUID()))
        }
        return try await command("Login", ["email": email, "password": "correct horse"]).result["token"] ?? ""
    }

    func shopper(_ email: String, engine: Engine) async throws -> String {
        let token = try await user(email, engine: engine)
        _ = try await command(
            "AddAddress",
            [
                "address": [
                    "recipient": "韩梅梅", "phone": "1", "line1": "1 Main St", "city": "Beijing",
                    "postalCode": "100080", "country": "CN",
                ]
            ], token: token)
        return token
    }

    func head() async throws -> String { (try await call(.get, "/health").json["headPosition"] as? NSNumber).map { "\($0)" } ?? "" }
}

@Suite struct ContractTests {
    /// Each command's `data` schema is read from the code that decodes it: required where it `decode`s, optional where it
    /// `decodeIfPresent`s, enumerations by their cases, ids as UUIDs, nested objects and lists, the domain's bounds.
    @Test func commandDataSchemasAreReadFromTheirDecoders() {
        let register = CommandContract.dataSchema(.registerUser)
        #expect(register.required == ["email", "name", "password"])
        #expect(Set(register.properties.keys) == ["email", "name", "password", "phone", "role"])
        #expect(register.properties["role"]?.enumeration == Role.allCases.map(\.rawValue))
        #expect(register.properties["email"]?.maxLength == Limits.emailCharactersMax)
        let order = CommandContract.dataSchema(.placeOrder)
        #expect(order.required.isEmpty && order.properties["addressId"]?.format == "uuid")
        let line = order.properties["items"]?.items?.schema
        #expect(order.properties["items"]?.maxItems == Limits.cartLinesMax)
        #expect(line?.required == ["goodsId", "quantity"] && line?.properties["quantity"]?.maximum == Int64(Limits.quantityPerLineMax))
        let address = CommandContract.dataSchema(.addAddress).properties["address"]
        #expect(address?.required == ["city", "country", "line1", "phone", "postalCode", "recipient"])
        // A plain goods sends price and stock, one with variants sends them per variant: neither is required on its own.
        let listGoods = CommandContract.dataSchema(.listGoods)
        #expect(listGoods.required == ["category", "title"])
        #expect(listGoods.properties["variants"]?.maxItems == Limits.variantsPerGoodsMax)
        #expect(listGoods.properties["variants"]?.items?.schema.required == ["price", "stock", "values"])
        #expect(listGoods.properties["attributes"]?.items?.schema.properties["kind"]?.enumeration == ["text", "number", "choice"])
        #expect(listGoods.properties["options"]?.items?.schema.maxLength == Limits.tagCharactersMax)
        #expect(CommandContract.dataSchema(.createCoupon).properties["kind"]?.enumeration == CouponKind.allCases.map(\.rawValue))
        #expect(CommandContract.dataSchema(.clearCart).properties.isEmpty)
        // Every command's decoder took the probe's samples to the end: no schema is cut short.
        for kind in CommandKind.allCases {
            #expect(CommandContract.dataSchema(kind).summary == nil, "\(kind): \(CommandContract.dataSchema(kind).summary ?? "")")
        }
        // A body the schema admits decodes; one it refuses (a field missing) is refused by the decoder too.
        let sample = #"{"type":"PlaceOrder","data":{"items":[{"goodsId":"019de0d5-c800-7000-8000-000000000001","quantity":2}]}}"#
        #expect(
            Schema.ref("Command").violations(of: JSONValue(parsing: Data(sample.utf8)) ?? .null, components: OpenAPI.components).isEmpty)
        let missing = #"{"type":"PlaceOrder","data":{"items":[{"quantity":2}]}}"#
        #expect(
            !Schema.ref("Command").violations(of: JSONValue(parsing: Data(missing.utf8)) ?? .null, components: OpenAPI.components).isEmpty)
    }

    @Test func theOpenAPIDocumentListsExactlyTheRoutes() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let reply = try await client.call(.get, "/openapi.json")
            #expect(reply.status == .ok)
            let paths = try #require(reply.json["paths"] as? [String: [String: Any]])
            let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })
            let expected: Set<String> = [
                "POST /v1/commands", "POST /v1/payments/{provider}/callback", "POST /v1/payments/sandbox/checkout/{paymentId}",
                "GET /v1/goods/{goodsId}", "GET /v1/me/cart", "GET /v1/me/orders", "GET /v1/orders/{orderId}", "GET /v1/me/points",
                "GET /v1/after-sales/{afterSaleId}",
                "GET /v1/me/profile", "GET /v1/events", "GET /health", "GET /metrics", "GET /openapi.json",
                "GET /v1/audit/events", "GET /v1/audit/streams/{stream}", "GET /v1/audit/digest",
                "GET /v1/search", "GET /v1/search/suggest", "GET /v1/recommendations/hot", "GET /v1/recommendations/new",
                "GET /v1/recommendations/similar/{goodsId}", "GET /v1/recommendations/also-bought/{goodsId}",
                "GET /v1/recommendations/feed",
                "GET /v1/analytics/sales", "GET /v1/analytics/funnel", "GET /v1/analytics/top-goods", "GET /v1/analytics/refunds",
                "GET /v1/analytics/low-stock", "GET /v1/me/favorites", "GET /v1/me/footprints", "GET /v1/me/waitlist", "GET /v1/me/reviews",
                "GET /v1/goods/{goodsId}/reviews", "GET /v1/reviews",
                "GET /v1/admin/projections", "POST /v1/admin/projections/{name}/rebuild", "POST /v1/admin/recommendations/train",
                "GET /v1/admin/api-keys", "GET /v1/admin/merchant-applications", "GET /v1/admin/webhooks",
                "GET /v1/admin/webhooks/{webhookId}", "GET /console", "GET /console/{file}", "GET /docs",
                "GET /v1/history/shop", "GET /v1/history/streams/{stream}", "GET /v1/history/changes", "GET /v1/history/carts/{userId}",
                "GET /v1/analytics/orders-to-act", "GET /v1/analytics/stock", "GET /v1/goods/{goodsId}/history",
                "GET /v1/merchants/{merchantId}/delivery-methods", "GET /v1/promotions", "GET /v1/promotions/{promotionId}",
                "GET /v1/audit/streams", "GET /v1/audit/categories", "POST /v1/audit/verify",
            ]
            #expect(documented == expected)
            // Every documented route is served: none answers with the router's own 404.
            for entry in documented {
                let parts = entry.split(separator: " ")
                let uri = String(parts[1]).replacingOccurrences(of: "{provider}", with: "sandbox")
                    .replacingOccurrences(of: "{paymentId}", with: UUID().uuidString).replacingOccurrences(
                        of: "{goodsId}", with: UUID().uuidString
                    )
                    .replacingOccurrences(of: "{orderId}", with: UUID().uuidString).replacingOccurrences(of: "{stream}", with: "order-1")
                    .replacingOccurrences(of: "{merchantId}", with: UUID().uuidString)
                    .replacingOccurrences(of: "{name}", with: "search").replacingOccurrences(of: "{file}", with: "api.js")
                let answer = try await client.call(HTTPRequest.Method(String(parts[0])) ?? .get, uri, body: "{}")
                #expect(answer.errorCode != "not_found", "\(entry) is documented but not routed")
            }
            // Each command a component of its own, named by the discriminator's mapping (generators need references).
            let schemas = (reply.json["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:]
            let command = schemas["Command"] as? [String: Any] ?? [:]
            let mapping = (command["discriminator"] as? [String: Any])?["mapping"] as? [String: String] ?? [:]
            #expect((command["oneOf"] as? [[String: String]])?.compactMap { $0["$ref"] }.sorted() == mapping.values.sorted())
            let types = mapping.compactMap { type, reference in
                let variant = schemas[String(reference.dropFirst("#/components/schemas/".count))] as? [String: Any]
                let constant = ((variant?["properties"] as? [String: Any])?["type"] as? [String: Any])?["const"] as? String
                return constant == type ? type : nil
            }
            #expect(Set(types) == Set(CommandKind.allCases.map(\.rawValue)) && types.count == CommandKind.allCases.count)
        }
    }

    @Test func requestIdsAreEchoedAndBecomeCorrelationIds() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let id = UUID()
            let reply = try await client.call(
                .post, "/v1/commands", body: #"{"type":"RegisterUser","data":{"email":"a@b.com","password":"correct horse","name":"A"}}"#,
                headers: [HTTPField.Name("X-Request-Id") ?? .via: id.uuidString])
            #expect(reply.status == .ok)
            #expect(reply.headers[HTTPField.Name("X-Request-Id") ?? .via] == id.uuidString.lowercased())
            #expect(try harness.log.events(correlatedWith: id).count == 2)
            let fresh = try await client.call(.get, "/health")
            #expect(UUID(uuidString: fresh.headers[HTTPField.Name("X-Request-Id") ?? .via] ?? "") != nil)
            // An id that is not a UUID is refused, not silently replaced: the caller would look for it in vain.
            let head = try harness.log.head().position
            let bad = try await client.call(
                .post, "/v1/commands", body: #"{"type":"RegisterUser","data":{"email":"c@d.com","password":"correct horse","name":"C"}}"#,
                headers: [HTTPField.Name("X-Request-Id") ?? .via: "{}"])
            #expect(bad.status == .badRequest && bad.errorCode == "invalid_request_id")
            #expect(try harness.log.head().position == head)
        }
    }
}

@Suite struct JourneyOverHTTPTests {
    @Test func aCustomerBuysPaysAndReviewsAndTheTimelineShowsWhoDidWhat() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("shop@example.com", role: .merchant, engine: harness.engine)
            let buyer = try await client.shopper("buyer@example.com", engine: harness.engine)
            let listed = try await client.command(
                "ListGoods", ["title": "Green tea 绿茶", "category": "tea", "price": 3_000, "stock": 8], token: merchant)
            #expect(listed.status == .ok)
            let goodsId = try #require(listed.result["goodsId"])
            #expect(try await client.call(.get, "/v1/goods/\(goodsId)").json["title"] as? String == "Green tea 绿茶")
            _ = try await client.command("RecordView", ["goodsId": goodsId], token: buyer)
            _ = try await client.command("AddToCart", ["goodsId": goodsId, "quantity": 2], token: buyer)
            #expect(try await client.call(.get, "/v1/me/cart", token: buyer).json["total"] as? Int == 6_000)
            let placed = try await client.command("PlaceOrder", token: buyer)
            let orderId = try #require(placed.result["orderId"])
            let payment = try await client.command("InitiatePayment", ["orderId": orderId], token: buyer)
            let paymentId = try #require(payment.result["paymentId"])
            let once: HTTPFields = [try #require(HTTPField.Name("Idempotency-Key")): "checkout-once"]
            let paid = try await client.call(.post, "/v1/payments/sandbox/checkout/\(paymentId)", token: buyer, headers: once)
            #expect(paid.status == .ok, "\(paid.text)")
            // Its answer lost, the checkout is retried under the same key: the same answer, one capture.
            let again = try await client.call(.post, "/v1/payments/sandbox/checkout/\(paymentId)", token: buyer, headers: once)
            #expect(again.status == .ok, "\(again.text)")
            #expect(try harness.log.events(ofType: PaymentSucceeded.eventType, from: 1, limit: 10).count == 1)
            #expect(
                try await client.command("ShipOrder", ["orderId": orderId, "carrier": "SF", "trackingNumber": "SF1"], token: merchant)
                    .status == .ok)
            #expect(try await client.command("ConfirmReceipt", ["orderId": orderId], token: buyer).status == .ok)
            #expect(
                try await client.command("PostReview", ["goodsId": goodsId, "orderId": orderId, "rating": 5], token: buyer).status == .ok)
            let detail = try await client.call(.get, "/v1/orders/\(orderId)", token: buyer)
            let timeline = try #require(detail.json["timeline"] as? [[String: Any]])
            #expect(timeline.compactMap { $0["type"] as? String } == ["OrderPlaced", "OrderPaid", "OrderShipped", "OrderReceived"])
            let actors = timeline.compactMap { $0["actor"] as? String }
            #expect(actors[1] == "provider:sandbox" && actors[2].hasSuffix(":merchant") && actors[3].hasSuffix(":customer"))
            #expect(try await client.call(.get, "/v1/me/points", token: buyer).json["balance"] as? Int == 60)
            let mine = try await client.call(.get, "/v1/me/orders", token: buyer)
            #expect(mine.status == .ok)
            let metrics = try await client.call(.get, "/metrics")
            #expect(metrics.text.contains(#"emporium_commands_total{type="PlaceOrder",outcome="ok"} 1"#))
        }
    }
}

@Suite struct BadInputOverHTTPTests {
    @Test func everyBadRequestGetsA4xxWithACodeAndAppendsNothing() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("m@example.com", role: .merchant, engine: harness.engine)
            let rival = try await client.user("r@example.com", role: .merchant, engine: harness.engine)
            let buyer = try await client.shopper("b@example.com", engine: harness.engine)
            let stranger = try await client.shopper("s@example.com", engine: harness.engine)
            let goodsId = try #require(
                try await client.command("ListGoods", ["title": "Tea", "category": "tea", "price": 100, "stock": 5], token: merchant)
                    .result["goodsId"])
            _ = try await client.command("AddToCart", ["goodsId": goodsId, "quantity": 1], token: buyer)
            let orderId = try #require(try await client.command("PlaceOrder", token: buyer).result["orderId"])
            let expired = TokenFactory.expired()

            let cases: [(String, HTTPResponse.Status, String, () async throws -> Reply)] = [
                (
                    "malformed JSON", .badRequest, "malformed_json",
                    { try await client.call(.post, "/v1/commands", body: "{not json", token: buyer) }
                ),
                (
                    "not an object", .badRequest, "malformed_json",
                    { try await client.call(.post, "/v1/commands", body: "[1,2]", token: buyer) }
                ),
                (
                    "missing type", .badRequest, "missing_field",
                    { try await client.call(.post, "/v1/commands", body: #"{"data":{}}"#, token: buyer) }
                ),
                (
                    "data not an object", .badRequest, "wrong_type",
                    { try await client.call(.post, "/v1/commands", body: #"{"type":"ClearCart","data":7}"#, token: buyer) }
                ),
                ("unknown command", .badRequest, "unknown_command", { try await client.command("Explode", token: buyer) }),
                ("missing field", .badRequest, "missing_field", { try await client.command("AddToCart", ["quantity": 1], token: buyer) }),
                (
                    "wrong type", .badRequest, "wrong_type",
                    { try await client.command("AddToCart", ["goodsId": goodsId, "quantity": "many"], token: buyer) }
                ),
                (
                    "fractional quantity", .badRequest, "wrong_type",
                    {
                        try await client.call(
                            .post, "/v1/commands", body: #"{"type":"AddToCart","data":{"goodsId":"\#(goodsId)","quantity":1.5}}"#,
                            token: buyer)
                    }
                ),
                (
                    "quantity beyond 64 bits", .badRequest, "wrong_type",
                    {
                        try await client.call(
                            .post, "/v1/commands", body: #"{"type":"AddToCart","data":{"goodsId":"\#(goodsId)","quantity":1e30}}"#,
                            token: buyer)
                    }
                ),
                (
                    "repeated key", .badRequest, "duplicate_key",
                    {
                        try await client.call(
                            .post, "/v1/commands",
                            body: #"{"type":"AddToCart","data":{"goodsId":"\#(goodsId)","quantity":1,"quantity":3}}"#, token: buyer)
                    }
                ),
                (
                    "negative quantity", .badRequest, "quantity_out_of_range",
                    { try await client.command("AddToCart", ["goodsId": goodsId, "quantity": -2], token: buyer) }
                ),
                (
                    "huge quantity", .badRequest, "quantity_out_of_range",
                    { try await client.command("AddToCart", ["goodsId": goodsId, "quantity": 99_999_999], token: buyer) }
                ),
                (
                    "buy now, negative quantity", .badRequest, "quantity_out_of_range",
                    {
                        try await client.command("PlaceOrder", ["items": [["goodsId": goodsId, "quantity": -1]]], token: buyer)
                    }
                ),
                (
                    "buy now, items not a list", .badRequest, "wrong_type",
                    { try await client.command("PlaceOrder", ["items": goodsId], token: buyer) }
                ),
                (
                    "buy now, no items", .unprocessableContent, "cart_empty",
                    { try await client.command("PlaceOrder", ["items": [Any]()], token: buyer) }
                ),
                (
                    "overlong string", .badRequest, "invalid_input",
                    {
                        try await client.command(
                            "ListGoods", ["title": String(repeating: "长", count: 300), "category": "t", "price": 1, "stock": 1],
                            token: merchant)
                    }
                ),
                (
                    "oversized body", .contentTooLarge, "body_too_large",
                    {
                        try await client.call(
                            .post, "/v1/commands",
                            body: #"{"type":"ClearCart","data":{"pad":""# + String(repeating: "x", count: 70_000) + #""}}"#, token: buyer)
                    }
                ),
                ("no token", .unauthorized, "unauthenticated", { try await client.command("ClearCart") }),
                ("expired token", .unauthorized, "token_expired", { try await client.command("ClearCart", token: expired) }),
                ("forged token", .unauthorized, "invalid_token", { try await client.command("ClearCart", token: buyer + "x") }),
                (
                    "not a bearer", .unauthorized, "invalid_token",
                    { try await client.call(.get, "/v1/me/cart", headers: [.authorization: "Basic abc"]) }
                ),
                (
                    "another user's order", .forbidden, "not_owner",
                    { try await client.command("CancelOrder", ["orderId": orderId], token: stranger) }
                ),
                (
                    "another user's order detail", .notFound, "order_not_found",
                    { try await client.call(.get, "/v1/orders/\(orderId)", token: stranger) }
                ),
                (
                    "someone else's goods", .forbidden, "not_owner",
                    { try await client.command("ChangePrice", ["goodsId": goodsId, "price": 1], token: rival) }
                ),
                (
                    "customer lists goods", .forbidden, "forbidden",
                    { try await client.command("ListGoods", ["title": "x", "category": "y", "price": 1, "stock": 1], token: buyer) }
                ),
                (
                    "business rule", .unprocessableContent, "order_not_shippable",
                    {
                        try await client.command(
                            "ShipOrder", ["orderId": orderId, "carrier": "SF", "trackingNumber": "1"], token: merchant)
                    }
                ),
                // Numbers so large that arithmetic on them overflowed (and crashed the server) before they were bounded.
                (
                    "adjusting stock by the largest integer", .unprocessableContent, "stock_out_of_range",
                    {
                        try await client.command("AdjustStock", ["goodsId": goodsId, "delta": Int.max, "reason": "count"], token: merchant)
                    }
                ),
                (
                    "restocking the largest integer", .unprocessableContent, "stock_out_of_range",
                    {
                        try await client.command("Restock", ["goodsId": goodsId, "quantity": Int.max], token: merchant)
                    }
                ),
                (
                    "a points coupon valid for ages", .badRequest, "invalid_input",
                    {
                        try await client.command("ExchangePoints", ["points": 1, "validDays": Int.max], token: buyer)
                    }
                ),
                ("unknown route", .notFound, "not_found", { try await client.call(.get, "/v1/nothing") }),
                (
                    "wrong method", .methodNotAllowed, "method_not_allowed",
                    { try await client.call(.put, "/v1/commands", body: "{}", token: buyer) }
                ),
                (
                    "wrong method on a templated path", .methodNotAllowed, "method_not_allowed",
                    { try await client.call(.delete, "/v1/orders/\(orderId)", token: buyer) }
                ),
                (
                    "unsigned callback", .unauthorized, "invalid_signature",
                    { try await client.call(.post, "/v1/payments/sandbox/callback", body: "{}") }
                ),
            ]
            for (name, status, code, request) in cases {
                let before = try await client.head()
                let reply = try await request()
                #expect(reply.status == status, "\(name): \(reply.status) \(reply.text.prefix(200))")
                #expect(reply.errorCode == code, "\(name): \(reply.text.prefix(200))")
                #expect(try await client.head() == before, "\(name) appended events")
            }
            #expect(try await client.call(.get, "/v1/commands").headers[.allow] == "POST")
            #expect(try await client.call(.post, "/v1/orders/\(orderId)", body: "{}").headers[.allow] == "GET")
        }
    }
}

/// A token signed with the test secret that has already expired.
enum TokenFactory {
    static func expired() -> String {
        TokenAuthority(secret: Array(repeating: 9, count: 32), lifetimeSeconds: -60, clock: SystemClock()).issue(
            for: UserId(UUID()), role: .customer)
    }
}
