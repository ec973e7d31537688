import CommandEngine
import Commerce
import EventStore
import Foundation

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

    public static func run(engine: Engine, clock: SeedClock, afterEach: @escaping (Step) throws -> Void = { _ in }) async throws -> Outcome
    {
        let script = Script(engine: engine, clock: clock, afterEach: afterEach)
        var marks: [String: UInt64] = [:]
        func user(_ email: String, _ name: String, _ role: Role) async throws -> Actor {
            let registered = try await script.perform(
                .registerUser(
                    email: email, password: "reference-password", name: name, phone: "+86 138 0000 0001",
                    role: role), as: .system)
            guard let userId = registered.userId else {
                throw EngineError(.internalError, "the reference scenario failed to register \(email)")
            }
            return .user(userId, role)
        }
        func missing(_ what: String) -> EngineError { EngineError(.internalError, "the reference scenario made no \(what)") }
        let admin = try await user("admin@reference.emporium", "Admin 管理员", .admin)
        let merchant = try await user("merchant@reference.emporium", "West Lake 西湖 Store", .merchant)
        let lilei = try await user("li.lei@reference.emporium", "Li Lei 李雷", .customer)
        let meimei = try await user("han.meimei@reference.emporium", "Han Meimei 韩梅梅", .customer)
        for (customer, name) in [(lilei, "李雷"), (meimei, "韩梅梅")] {
            try await script.perform(
                .addAddress(
                    Address(
                        recipient: name, phone: "+86 138 0000 0002", line1: "1 Nanjing Road 南京路", city: "Shanghai 上海",
                        postalCode: "200000", country: "CN")), as: customer)
        }
        guard
            let tea = try await script.perform(
                .listGoods(
                    GoodsDetails(
                        title: "Longjing green tea 龙井绿茶", description: "Spring harvest, West Lake", category: "tea",
                        brand: "West Lake 西湖", tags: ["green", "gift"], lowStockThreshold: 5),
                    price: Money(minorUnits: 12_800), stock: 50), as: merchant
            ).goodsId,
            let teapot = try await script.perform(
                .listGoods(
                    GoodsDetails(
                        title: "Ceramic teapot 陶瓷茶壶", description: "Hand-thrown, 500 ml", category: "home",
                        brand: "West Lake 西湖", tags: ["kitchen"], lowStockThreshold: 2),
                    price: Money(minorUnits: 8_800), stock: 10), as: merchant
            ).goodsId
        else { throw missing("goods") }
        try await script.perform(
            .createCoupon(
                CouponTerms(
                    code: "WELCOME10", kind: .percent, value: 10, validUntil: Instant(millisecondsSinceEpoch: 4_102_444_800_000),
                    totalLimit: 100, perUserLimit: 1)), as: admin)
        try await script.perform(.addToCart(tea, quantity: 2), as: lilei)
        try await script.perform(.addToCart(teapot, quantity: 1), as: lilei)
        try await script.perform(.applyCoupon(code: "WELCOME10"), as: lilei)
        guard let order = try await script.perform(.placeOrder(), as: lilei).orderId else { throw missing("order") }
        marks["placed"] = engine.log.headPosition
        guard let paymentId = try await script.perform(.initiatePayment(order), as: lilei).paymentId else { throw missing("payment") }
        clock.advance(seconds: 30)
        guard let amount = try engine.paymentAmount(paymentId), let verifier = engine.configuration.paymentProviders["sandbox"] else {
            throw missing("payment to pay")
        }
        let body = Array(
            try JSONEncoder().encode(
                ProviderNotification(
                    paymentId: paymentId.description, transactionId: "sbx_reference_1",
                    status: "succeeded", amount: amount)))
        let timestamp = clock.now().nanosecondsSinceEpoch / 1_000_000_000
        try script.record(
            "ProviderCallback",
            try await engine.handleProviderCallback(
                provider: "sandbox", body: body, timestamp: timestamp,
                signature: verifier.sign(body: body, timestamp: timestamp),
                correlationId: engine.configuration.ids.next()))
        try await script.perform(.shipOrder(order, carrier: "SF Express 顺丰", trackingNumber: "SF1234567890"), as: merchant)
        marks["shipped"] = engine.log.headPosition
        try await script.perform(.confirmReceipt(order), as: lilei)
        let review = try await script.perform(.postReview(goodsId: tea, orderId: order, rating: 5, text: "很香 Fragrant"), as: lilei).reviewId
        guard let review else { throw missing("review") }
        try await script.perform(.moderateReview(goodsId: tea, reviewId: review, verdict: .approve), as: merchant)
        try await script.perform(.replyToReview(goodsId: tea, reviewId: review, text: "谢谢 Thank you"), as: merchant)
        try await script.perform(.requestRefund(order, reason: "the teapot arrived cracked"), as: lilei)
        try await script.perform(.approveRefund(order), as: merchant)
        marks["refunded"] = engine.log.headPosition
        try await script.perform(.addToCart(teapot, quantity: 1), as: meimei)
        guard let second = try await script.perform(.placeOrder(), as: meimei).orderId else { throw missing("second order") }
        try await script.perform(.cancelOrder(second, reason: "ordered by mistake"), as: meimei)
        try await script.perform(.forgetUser(userId: meimei.userId), as: admin)
        marks["end"] = engine.log.headPosition
        return Outcome(steps: script.steps, marks: marks)
    }
}

/// Runs the scenario's commands one minute apart, recording each step.
private final class Script {
    let engine: Engine
    let clock: SeedClock
    let afterEach: (ReferenceScenario.Step) throws -> Void
    private(set) var steps: [ReferenceScenario.Step] = []

    init(engine: Engine, clock: SeedClock, afterEach: @escaping (ReferenceScenario.Step) throws -> Void) {
        self.engine = engine
        self.clock = clock
        self.afterEach = afterEach
    }

    @discardableResult
    func perform(_ command: Command, as actor: Actor?) async throws -> CommandResult {
        clock.advance(seconds: 60)
        let outcome = try await engine.execute(
            command, context: CommandContext(actor: actor, correlationId: engine.configuration.ids.next()))
        try record(command.kind.rawValue, outcome)
        return outcome.result
    }

    func record(_ type: String, _ outcome: CommandOutcome) throws {
        let step = ReferenceScenario.Step(
            command: type, position: engine.log.headPosition, streams: Array(Set(outcome.events.map(\.stream))).sorted())
        steps.append(step)
        try afterEach(step)
    }
}
