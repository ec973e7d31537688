import Commerce
import EventStore
import Foundation
import History

extension Engine {
    /// The engine's current state of a stream (from its cache or the log), for tools and tests that compare it with a replay.
    public func aggregate(_ stream: StreamId) throws -> AnyAggregate {
        func load<S: AggregateState>(_: S.Type) throws -> S { try store.load(stream, as: S.self).state }
        switch stream {
        case .emailClaim: return .emailClaim(try load(EmailClaimState.self))
        case .user: return .user(try load(UserState.self))
        case .goods: return .goods(try load(GoodsState.self))
        case .cart: return .cart(try load(CartState.self))
        case .coupon: return .coupon(try load(CouponState.self))
        case .couponCode: return .couponCode(try load(CouponCodeState.self))
        case .order: return .order(try load(OrderState.self))
        case .orderNumbers: return .orderNumbers(try load(OrderNumbersState.self))
        case .payment: return .payment(try load(PaymentState.self))
        case .points: return .points(try load(PointsState.self))
        case .apiKey: return .apiKey(try load(ApiKeyState.self))
        }
    }
}

/// `emporium seed --scenario reference`: one small, fixed shop history
/// (fixed clock, ids, salts and keys) whose export and replayed states are
/// locked in `Snapshots/reference/`. It walks one order through payment,
/// shipping, receipt, review and refund, and a second customer who cancels
/// and is then forgotten (crypto-shredded).
public enum ReferenceScenario {
    public static let seed: UInt64 = 2_026
    public static let tokenSecret = Array("reference-scenario-token-secret-0123456789".utf8)
    public static let sandboxSecret = Array("reference-scenario-sandbox-secret".utf8)
    /// The points whose replayed states are locked, in order.
    public static let markNames = ["placed", "shipped", "refunded", "end"]

    /// One command of the run: its type, the head after it and the streams it appended to.
    public struct Step: Sendable {
        public var command: String
        public var position: UInt64
        public var streams: [String]
    }

    public struct Outcome: Sendable {
        public var steps: [Step]
        /// Position of each mark in `markNames`.
        public var marks: [String: UInt64]
    }

    /// The engine configuration the scenario runs with; give the vault `keyBytes`' bytes too.
    public static func configuration(clock: SeedClock) -> Engine.Configuration {
        .seeded(seed, clock: clock, tokenSecret: tokenSecret, sandboxSecret: sandboxSecret)
    }

    /// Key and nonce bytes for the scenario's vault.
    public static func keyBytes() -> @Sendable (Int) -> [UInt8] {
        let bytes = SeededBytes(seed: seed &+ 1)
        return { bytes.next($0) }
    }

    public static func run(engine: Engine, clock: SeedClock, afterEach: (Step) throws -> Void = { _ in }) async throws -> Outcome {
        var steps: [Step] = []
        var marks: [String: UInt64] = [:]
        @discardableResult
        func run(_ type: String, _ data: [String: Any], as actor: Actor?) async throws -> [String: String] {
            clock.advance(seconds: 60)
            let body = try JSONSerialization.data(withJSONObject: data)
            let result = try await engine.execute(type: type, data: body, context: CommandContext(actor: actor, correlationId: engine.configuration.ids.next()))
            try record(type, result)
            return result.result
        }
        func record(_ type: String, _ result: CommandResult) throws {
            let step = Step(command: type, position: engine.log.headPosition, streams: Array(Set(result.events.map(\.stream))).sorted())
            steps.append(step)
            try afterEach(step)
        }
        func user(_ email: String, _ name: String, _ role: Role) async throws -> Actor {
            let id = try await run("RegisterUser", ["email": email, "password": "reference-password", "name": name, "phone": "+86 138 0000 0001", "role": role.rawValue],
                                   as: .system)["userId"] ?? ""
            guard let userId = UserId(id) else { throw EngineError(.internalFailure, "the reference scenario failed to register \(email)") }
            return .user(userId, role)
        }
        let admin = try await user("admin@reference.emporium", "Admin 管理员", .admin)
        let merchant = try await user("merchant@reference.emporium", "West Lake 西湖 Store", .merchant)
        let lilei = try await user("li.lei@reference.emporium", "Li Lei 李雷", .customer)
        let meimei = try await user("han.meimei@reference.emporium", "Han Meimei 韩梅梅", .customer)
        for (customer, name) in [(lilei, "李雷"), (meimei, "韩梅梅")] {
            try await run("AddAddress", ["address": ["recipient": name, "phone": "+86 138 0000 0002", "line1": "1 Nanjing Road 南京路",
                                                     "city": "Shanghai 上海", "postalCode": "200000", "country": "CN"]], as: customer)
        }
        let tea = try await run("ListGoods", ["title": "Longjing green tea 龙井绿茶", "description": "Spring harvest, West Lake", "category": "tea",
                                              "brand": "West Lake 西湖", "tags": ["green", "gift"], "price": 12_800, "stock": 50, "lowStockThreshold": 5],
                                as: merchant)["goodsId"] ?? ""
        let teapot = try await run("ListGoods", ["title": "Ceramic teapot 陶瓷茶壶", "description": "Hand-thrown, 500 ml", "category": "home",
                                                 "brand": "West Lake 西湖", "tags": ["kitchen"], "price": 8_800, "stock": 10, "lowStockThreshold": 2],
                                   as: merchant)["goodsId"] ?? ""
        try await run("CreateCoupon", ["code": "WELCOME10", "kind": "percent", "value": 10, "validUntil": 4_102_444_800_000, "totalLimit": 100, "perUserLimit": 1],
                      as: admin)
        try await run("AddToCart", ["goodsId": tea, "quantity": 2], as: lilei)
        try await run("AddToCart", ["goodsId": teapot, "quantity": 1], as: lilei)
        try await run("ApplyCoupon", ["code": "WELCOME10"], as: lilei)
        let order = try await run("PlaceOrder", [:], as: lilei)["orderId"] ?? ""
        marks["placed"] = engine.log.headPosition
        let payment = try await run("InitiatePayment", ["orderId": order], as: lilei)["paymentId"] ?? ""
        clock.advance(seconds: 30)
        guard let paymentId = PaymentId(payment), let amount = try engine.paymentAmount(paymentId),
              let verifier = engine.configuration.paymentProviders["sandbox"] else { throw EngineError(.internalFailure, "the reference payment is missing") }
        let body = Array(try JSONEncoder().encode(ProviderNotification(paymentId: payment, transactionId: "sbx_reference_1", status: "succeeded", amount: amount)))
        let timestamp = clock.now().nanosecondsSinceEpoch / 1_000_000_000
        try record("ProviderCallback", try await engine.handleProviderCallback(provider: "sandbox", body: body, timestamp: timestamp,
                                                                               signature: verifier.sign(body: body, timestamp: timestamp),
                                                                               correlationId: engine.configuration.ids.next()))
        try await run("ShipOrder", ["orderId": order, "carrier": "SF Express 顺丰", "trackingNumber": "SF1234567890"], as: merchant)
        marks["shipped"] = engine.log.headPosition
        try await run("ConfirmReceipt", ["orderId": order], as: lilei)
        try await run("PostReview", ["goodsId": tea, "orderId": order, "rating": 5, "text": "很香 Fragrant"], as: lilei)
        try await run("RequestRefund", ["orderId": order, "reason": "the teapot arrived cracked"], as: lilei)
        try await run("ApproveRefund", ["orderId": order, "reason": "photos show the crack"], as: merchant)
        marks["refunded"] = engine.log.headPosition
        try await run("AddToCart", ["goodsId": teapot, "quantity": 1], as: meimei)
        let second = try await run("PlaceOrder", [:], as: meimei)["orderId"] ?? ""
        try await run("CancelOrder", ["orderId": second, "reason": "ordered by mistake"], as: meimei)
        try await run("ForgetUser", ["userId": meimei.userId?.description ?? ""], as: admin)
        marks["end"] = engine.log.headPosition
        return Outcome(steps: steps, marks: marks)
    }
}
