import Commerce
import Foundation
import TestSupport
import Testing
@testable import CommandEngine
@testable import EventStore
import History

let sandboxSecret = Array("sandbox-secret-for-tests-0123456789abcdef".utf8)

/// An engine over a real (temporary) LMDB log.
final class TestShop: @unchecked Sendable {
    let directory: String
    let log: EventLog
    let vault: KeyVault
    let snapshots: SnapshotStore
    let engine: Engine

    init(clock: any LogClock = SystemClock(), snapshotInterval: UInt64 = SnapshotStore.defaultInterval) throws {
        directory = temporaryDirectory("engine")
        var options = EventLog.Options()
        options.initialMapSizeBytes = 64 << 20
        options.clock = clock
        log = try EventLog(directory: directory + "/log", options: options)
        vault = try KeyVault(directory: directory + "/keys")
        snapshots = try SnapshotStore(directory: directory + "/snapshots", interval: snapshotInterval)
        var configuration = Engine.Configuration(tokenSecret: Array(repeating: 7, count: 32), sandboxSecret: sandboxSecret)
        configuration.policy.passwordHashing = .fastForTests
        configuration.clock = clock
        engine = try Engine(log: log, vault: vault, snapshots: snapshots, configuration: configuration)
    }

    @discardableResult
    func run(_ type: String, _ data: [String: Any] = [:], as actor: Actor?, key: String? = nil) async throws -> CommandResult {
        let body = try JSONSerialization.data(withJSONObject: data)
        return try await engine.execute(type: type, data: body, context: CommandContext(actor: actor, correlationId: UUID(), idempotencyKey: key))
    }

    func register(_ email: String, role: Role = .customer) async throws -> Actor {
        let result = try await run("RegisterUser", ["email": email, "password": "correct horse", "name": "测试 Tester", "role": role.rawValue], as: .system)
        let id = try #require(UserId(result.result["userId"] ?? ""))
        return .user(id, role)
    }

    func shopper(_ email: String) async throws -> Actor {
        let actor = try await register(email)
        try await run("AddAddress", ["address": ["recipient": "韩梅梅", "phone": "123", "line1": "1 Main St", "city": "Beijing",
                                                 "postalCode": "100080", "country": "CN"]], as: actor)
        return actor
    }

    func listGoods(by merchant: Actor, price: Int = 1_999, stock: Int = 10) async throws -> String {
        try await run("ListGoods", ["title": "Green tea 绿茶", "category": "tea", "price": price, "stock": stock], as: merchant).result["goodsId"] ?? ""
    }

    func signedCallback(paymentId: String, transaction: String, amount: Int, status: String = "succeeded") async throws -> CommandResult {
        let body = Array(try JSONEncoder().encode(ProviderNotification(paymentId: paymentId, transactionId: transaction, status: status, amount: Int64(amount))))
        let timestamp = engine.configuration.clock.now().nanosecondsSinceEpoch / 1_000_000_000
        let signature = CallbackVerifier(provider: "sandbox", secret: sandboxSecret).sign(body: body, timestamp: timestamp)
        return try await engine.handleProviderCallback(provider: "sandbox", body: body, timestamp: timestamp, signature: signature, correlationId: UUID())
    }
}

func expectEngineError(_ code: String, _ shop: TestShop, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
    let head = shop.log.headPosition
    do {
        try await body()
        Issue.record("expected \(code); the command was accepted", sourceLocation: sourceLocation)
    } catch let error as EngineError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
    #expect(shop.log.headPosition == head, "a refused command appended events", sourceLocation: sourceLocation)
}

@Suite struct EngineJourneyTests {
    @Test func aWholeShopJourneyLeavesATimelineWithEveryActor() async throws {
        let shop = try TestShop()
        let merchant = try await shop.register("shop@example.com", role: .merchant)
        let customer = try await shop.shopper("buyer@example.com")
        let login = try await shop.run("Login", ["email": "BUYER@example.com", "password": "correct horse"], as: nil)
        let token = try #require(login.result["token"])
        #expect(try shop.engine.tokens.verify(token).userId == customer.userId)
        let goodsId = try await shop.listGoods(by: merchant, price: 2_500, stock: 5)
        try await shop.run("RecordView", ["goodsId": goodsId], as: customer)
        try await shop.run("CreateCoupon", ["code": "WELCOME", "kind": "fixed", "value": 500, "validUntil": 4_000_000_000_000, "totalLimit": 10], as: .system)
        try await shop.run("AddToCart", ["goodsId": goodsId, "quantity": 2], as: customer)
        try await shop.run("ApplyCoupon", ["code": "welcome"], as: customer)
        let placed = try await shop.run("PlaceOrder", [:], as: customer)
        let orderId = try #require(placed.result["orderId"])
        #expect(placed.result["total"] == "4500")
        #expect(placed.result["number"]?.count == 15)
        #expect(Set(placed.events.map(\.type)).isSuperset(of: ["OrderPlaced", "StockReserved", "CouponRedeemed", "CartCheckedOut"]))
        let payment = try await shop.run("InitiatePayment", ["orderId": orderId], as: customer)
        let paymentId = try #require(payment.result["paymentId"])
        #expect(payment.result["amount"] == "4500")
        let paid = try await shop.signedCallback(paymentId: paymentId, transaction: "sbx-1", amount: 4_500)
        #expect(paid.events.map(\.type) == ["PaymentSucceeded", "OrderPaid"])
        try await shop.run("ShipOrder", ["orderId": orderId, "carrier": "SF Express", "trackingNumber": "SF1234567890"], as: merchant)
        let received = try await shop.run("ConfirmReceipt", ["orderId": orderId], as: customer)
        #expect(received.events.map(\.type) == ["OrderReceived", "PointsEarned"])
        try await shop.run("PostReview", ["goodsId": goodsId, "orderId": orderId, "rating": 5, "text": "好茶"], as: customer)

        let timeline = try shop.log.readStream(try StreamName("order-\(orderId)"))
        #expect(timeline.map(\.type) == ["OrderPlaced", "OrderPaid", "OrderShipped", "OrderReceived"])
        #expect(timeline.map(\.metadata.actor) == [customer.description, "provider:sandbox", merchant.description, customer.description])
        #expect(timeline.allSatisfy { $0.metadata.causationId != nil })
        #expect(try shop.log.verify().isHealthy)
    }
}

@Suite struct EngineConcurrencyTests {
    @Test func aFlashSaleOf200BuyersSellsExactlyTheStock() async throws {
        let shop = try TestShop()
        let merchant = try await shop.register("flash@example.com", role: .merchant)
        let goodsId = try await shop.listGoods(by: merchant, stock: 50)
        var buyers: [Actor] = []
        for index in 0..<200 {
            let buyer = try await shop.shopper("fan\(index)@example.com")
            try await shop.run("AddToCart", ["goodsId": goodsId, "quantity": 1], as: buyer)
            buyers.append(buyer)
        }
        let outcomes = await withTaskGroup(of: String.self) { group in
            for buyer in buyers {
                group.addTask {
                    do {
                        _ = try await shop.run("PlaceOrder", [:], as: buyer)
                        return "placed"
                    } catch let error as EngineError {
                        return error.code
                    } catch {
                        return "\(error)"
                    }
                }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == "placed" }.count == 50)
        #expect(outcomes.filter { $0 == "insufficient_stock" }.count == 150, "\(Set(outcomes))")
        let goods: GoodsState = try shop.engine.store.load(.goods(try #require(GoodsId(goodsId)))).state
        #expect(goods.reserved == 50 && goods.available == 0 && goods.onHand == 50)
        #expect(try shop.log.verify().isHealthy)
    }

    @Test func aHundredDeliveriesOfOneCallbackPayOnce() async throws {
        let shop = try TestShop()
        let merchant = try await shop.register("m@example.com", role: .merchant)
        let buyer = try await shop.shopper("b@example.com")
        try await shop.run("AddToCart", ["goodsId": try await shop.listGoods(by: merchant, price: 800), "quantity": 1], as: buyer)
        let orderId = try #require(try await shop.run("PlaceOrder", [:], as: buyer).result["orderId"])
        let paymentId = try #require(try await shop.run("InitiatePayment", ["orderId": orderId], as: buyer).result["paymentId"])
        let results = try await withThrowingTaskGroup(of: CommandResult.self) { group in
            for _ in 0..<100 { group.addTask { try await shop.signedCallback(paymentId: paymentId, transaction: "sbx-once", amount: 800) } }
            return try await group.reduce(into: [CommandResult]()) { $0.append($1) }
        }
        #expect(results.filter { !$0.events.isEmpty }.count == 1)
        #expect(try shop.log.events(ofType: "PaymentSucceeded").count == 1)
        #expect(try shop.log.events(ofType: "OrderPaid").count == 1)
    }

    @Test func anIdempotencyKeyAnswersTwiceButActsOnce() async throws {
        let shop = try TestShop()
        let merchant = try await shop.register("m@example.com", role: .merchant)
        let first = try await shop.run("ListGoods", ["title": "Cup", "category": "ware", "price": 100, "stock": 1], as: merchant, key: "list-cup-1")
        let again = try await shop.run("ListGoods", ["title": "Cup", "category": "ware", "price": 100, "stock": 1], as: merchant, key: "list-cup-1")
        #expect(again.replayed && !first.replayed)
        #expect(again.result == first.result)
        #expect(again.events == first.events)
        #expect(try shop.log.events(ofType: "GoodsListed").count == 1)
        let outcomes = try await withThrowingTaskGroup(of: CommandResult.self) { group in
            for _ in 0..<20 {
                group.addTask { try await shop.run("ListGoods", ["title": "Pot", "category": "ware", "price": 900, "stock": 3], as: merchant, key: "list-pot") }
            }
            return try await group.reduce(into: [CommandResult]()) { $0.append($1) }
        }
        #expect(Set(outcomes.map(\.result)).count == 1)
        #expect(try shop.log.events(ofType: "GoodsListed").count == 2)
        // Keys are per caller: another merchant's same key is another command.
        let other = try await shop.register("other@example.com", role: .merchant)
        _ = try await shop.run("ListGoods", ["title": "Pot", "category": "ware", "price": 900, "stock": 3], as: other, key: "list-pot")
        #expect(try shop.log.events(ofType: "GoodsListed").count == 3)
        // The same request laid out otherwise is a retry; another request under a used key is refused and appends nothing.
        let spaced = Data(#"{ "stock": 1, "price": 100,  "category": "ware", "title": "Cup" }"#.utf8)
        let retried = try await shop.engine.execute(type: "ListGoods", data: spaced,
                                                    context: CommandContext(actor: merchant, correlationId: UUID(), idempotencyKey: "list-cup-1"))
        #expect(retried.replayed && retried.result == first.result)
        let head = try shop.log.head().position
        await expectEngineError("idempotency_key_reused", shop) {
            _ = try await shop.run("ListGoods", ["title": "Cup", "category": "ware", "price": 101, "stock": 1], as: merchant, key: "list-cup-1")
        }
        await expectEngineError("idempotency_key_reused", shop) { _ = try await shop.run("ClearCart", [:], as: merchant, key: "list-cup-1") }
        #expect(try shop.log.head().position == head)
        // Racing requests under one key: one runs, the same request is answered with its result, another is refused.
        let raced = await withTaskGroup(of: (answer: CommandResult?, code: String?).self) { group in
            for index in 0..<12 {
                group.addTask {
                    do {
                        return (try await shop.run("ListGoods", ["title": index % 2 == 0 ? "Bowl" : "Jug", "category": "ware", "price": 5, "stock": 1],
                                                   as: merchant, key: "list-race"), nil)
                    } catch let error as EngineError {
                        return (nil, error.code)
                    } catch {
                        return (nil, "\(error)")
                    }
                }
            }
            return await group.reduce(into: [(answer: CommandResult?, code: String?)]()) { $0.append($1) }
        }
        let answered = raced.compactMap(\.answer)
        #expect(answered.count == 6 && Set(answered.map(\.result)).count == 1 && answered.filter { !$0.replayed }.count == 1)
        #expect(raced.compactMap(\.code) == Array(repeating: "idempotency_key_reused", count: 6))
        #expect(try shop.log.events(ofType: "GoodsListed").count == 4)
    }
}

@Suite struct EngineBadInputTests {
    @Test func badInputIsRefusedWithAStableCodeAndAppendsNothing() async throws {
        let shop = try TestShop()
        let merchant = try await shop.register("m@example.com", role: .merchant)
        let rival = try await shop.register("r@example.com", role: .merchant)
        let buyer = try await shop.shopper("b@example.com")
        let stranger = try await shop.shopper("s@example.com")
        let goodsId = try await shop.listGoods(by: merchant)
        try await shop.run("AddToCart", ["goodsId": goodsId, "quantity": 1], as: buyer)
        let orderId = try #require(try await shop.run("PlaceOrder", [:], as: buyer).result["orderId"])

        await expectEngineError("unknown_command", shop) { try await shop.run("DropTables", [:], as: buyer) }
        await expectEngineError("missing_field", shop) { try await shop.run("AddToCart", ["quantity": 1], as: buyer) }
        await expectEngineError("wrong_type", shop) { try await shop.run("AddToCart", ["goodsId": goodsId, "quantity": "two"], as: buyer) }
        await expectEngineError("invalid_value", shop) { try await shop.run("AddToCart", ["goodsId": "not-a-uuid", "quantity": 1], as: buyer) }
        await expectEngineError("quantity_out_of_range", shop) { try await shop.run("AddToCart", ["goodsId": goodsId, "quantity": -1], as: buyer) }
        await expectEngineError("quantity_out_of_range", shop) { try await shop.run("AddToCart", ["goodsId": goodsId, "quantity": 1_000_000], as: buyer) }
        await expectEngineError("invalid_input", shop) {
            try await shop.run("ListGoods", ["title": String(repeating: "x", count: 5_000), "category": "tea", "price": 1, "stock": 1], as: merchant)
        }
        await expectEngineError("not_owner", shop) { try await shop.run("CancelOrder", ["orderId": orderId], as: stranger) }
        await expectEngineError("not_owner", shop) { try await shop.run("ChangePrice", ["goodsId": goodsId, "price": 1], as: rival) }
        await expectEngineError("forbidden", shop) { try await shop.run("ListGoods", ["title": "x", "category": "y", "price": 1, "stock": 1], as: buyer) }
        await expectEngineError("unauthenticated", shop) { try await shop.run("AddToCart", ["goodsId": goodsId, "quantity": 1], as: nil) }
        await expectEngineError("order_not_found", shop) { try await shop.run("ConfirmReceipt", ["orderId": UUID().uuidString], as: buyer) }
        await expectEngineError("invalid_idempotency_key", shop) { try await shop.run("ClearCart", [:], as: buyer, key: "has space") }
        await expectEngineError("invalid_credentials", shop) { try await shop.run("Login", ["email": "nobody@example.com", "password": "whatever1"], as: nil) }
    }

    @Test func forgedExpiredAndMalformedTokensAreRefused() throws {
        let shop = try TestShop()
        let token = shop.engine.tokens.issue(for: UserId(UUID()), role: .admin)
        #expect(throws: EngineError.self) { try shop.engine.tokens.verify(token + "x") }
        let parts = token.split(separator: ".")
        let forged = TokenAuthority.base64URL(Array(#"{"sub":"x","role":"admin","iat":0,"exp":99999999999}"#.utf8)) + "." + parts[1]
        #expect(throws: EngineError(.unauthenticated, code: "invalid_token", "the token's signature is wrong")) { try shop.engine.tokens.verify(forged) }
        #expect(throws: EngineError.self) { try shop.engine.tokens.verify("garbage") }
        let expired = TokenAuthority(secret: Array(repeating: 7, count: 32), lifetimeSeconds: -1, clock: SystemClock()).issue(for: UserId(UUID()), role: .customer)
        do {
            _ = try shop.engine.tokens.verify(expired)
            Issue.record("an expired token was accepted")
        } catch {
            #expect(error.code == "token_expired")
        }
    }

    @Test func callbacksWithBadSignaturesOrOldTimestampsAreRefused() async throws {
        let shop = try TestShop()
        let body = Array(try JSONEncoder().encode(ProviderNotification(paymentId: UUID().uuidString, transactionId: "t", status: "succeeded", amount: 1)))
        let now = SystemClock().now().nanosecondsSinceEpoch / 1_000_000_000
        let verifier = CallbackVerifier(provider: "sandbox", secret: sandboxSecret)
        await expectEngineError("invalid_signature", shop) {
            _ = try await shop.engine.handleProviderCallback(provider: "sandbox", body: body, timestamp: now, signature: String(repeating: "0", count: 64), correlationId: UUID())
        }
        await expectEngineError("stale_timestamp", shop) {
            _ = try await shop.engine.handleProviderCallback(provider: "sandbox", body: body, timestamp: now - 3_600,
                                                             signature: verifier.sign(body: body, timestamp: now - 3_600), correlationId: UUID())
        }
        // Timestamps whose distance from now does not fit 64 bits (the smallest crashed the server, unsigned).
        for timestamp in [Int64.min, Int64.min + 1, -Int64.max / 2 - now, Int64.max] {
            await expectEngineError("stale_timestamp", shop) {
                _ = try await shop.engine.handleProviderCallback(provider: "sandbox", body: body, timestamp: timestamp,
                                                                 signature: verifier.sign(body: body, timestamp: timestamp), correlationId: UUID())
            }
        }
        await expectEngineError("unknown_provider", shop) {
            _ = try await shop.engine.handleProviderCallback(provider: "paypal", body: body, timestamp: now, signature: "", correlationId: UUID())
        }
        await expectEngineError("payment_not_found", shop) {
            _ = try await shop.engine.handleProviderCallback(provider: "sandbox", body: body, timestamp: now, signature: verifier.sign(body: body, timestamp: now), correlationId: UUID())
        }
    }
}

/// A clock tests move by hand.
final class HandClock: LogClock, @unchecked Sendable {
    private let lock = NSLock()
    private var nanoseconds = SystemClock().now().nanosecondsSinceEpoch

    func now() -> Timestamp {
        lock.lock()
        defer { lock.unlock() }
        return Timestamp(nanosecondsSinceEpoch: nanoseconds)
    }

    func advance(seconds: Int64) {
        lock.lock()
        nanoseconds += seconds * 1_000_000_000
        lock.unlock()
    }
}

@Suite struct OrderExpiryTests {
    @Test func unpaidOrdersExpireWhenTheirTimeComesAndPaidOnesNever() async throws {
        let clock = HandClock()
        let shop = try TestShop(clock: clock)
        let merchant = try await shop.register("m@example.com", role: .merchant)
        let buyer = try await shop.shopper("b@example.com")
        let goodsId = try await shop.listGoods(by: merchant, price: 100, stock: 10)
        try await shop.run("AddToCart", ["goodsId": goodsId, "quantity": 3], as: buyer)
        let unpaid = try #require(try await shop.run("PlaceOrder", [:], as: buyer).result["orderId"])
        try await shop.run("AddToCart", ["goodsId": goodsId, "quantity": 2], as: buyer)
        let paid = try #require(try await shop.run("PlaceOrder", [:], as: buyer).result["orderId"])
        let paymentId = try #require(try await shop.run("InitiatePayment", ["orderId": paid], as: buyer).result["paymentId"])
        let expiry = OrderExpiry(engine: shop.engine)
        #expect(try await expiry.sweep() == 0)
        #expect(expiry.unpaidCount == 2)
        clock.advance(seconds: shop.engine.policy.orderExpirySeconds - 10)
        _ = try await shop.signedCallback(paymentId: paymentId, transaction: "tx", amount: 200)
        #expect(try await expiry.sweep() == 0)
        #expect(expiry.unpaidCount == 1)
        clock.advance(seconds: 10)
        #expect(try await expiry.sweep() == 1)
        let goods: GoodsState = try shop.engine.store.load(.goods(try #require(GoodsId(goodsId)))).state
        #expect(goods.reserved == 2)
        let expiredEvents = try shop.log.readStream(try StreamName("order-\(unpaid)")).map(\.type)
        #expect(expiredEvents == ["OrderPlaced", "OrderExpired"])
        #expect(try shop.log.readStream(try StreamName("order-\(paid)")).map(\.type) == ["OrderPlaced", "OrderPaid"])
        #expect(try await expiry.sweep() == 0)
    }
}

@Suite struct DemoShopTests {
    func seededLog(seed: UInt64) async throws -> (EventLog, DemoShop.Outcome) {
        let clock = SeedClock()
        var options = EventLog.Options()
        options.clock = clock
        options.initialMapSizeBytes = 64 << 20
        let directory = temporaryDirectory("seed")
        let log = try EventLog(directory: directory + "/log", options: options)
        let keyBytes = SeededBytes(seed: seed &+ 1)
        let vault = try KeyVault(directory: directory + "/keys", randomBytes: { keyBytes.next($0) })
        let configuration = Engine.Configuration.seeded(seed, clock: clock, tokenSecret: Array(repeating: 1, count: 32), sandboxSecret: sandboxSecret)
        var size = DemoShop.Size()
        size.goods = 24
        size.customers = 6
        size.orders = 60
        let outcome = try await DemoShop.seed(engine: try Engine(log: log, vault: vault, configuration: configuration), clock: clock, size: size, seed: seed)
        return (log, outcome)
    }

    @Test func theSameSeedMakesTheSameShopEventForEvent() async throws {
        let (first, outcome) = try await seededLog(seed: 7)
        let (second, _) = try await seededLog(seed: 7)
        let (other, _) = try await seededLog(seed: 8)
        #expect(try first.head() == second.head())
        #expect(try first.head().hash != other.head().hash)
        #expect(outcome.orders > 30 && outcome.goods.count == 24)
        let types = Set(try first.read(from: 1).map(\.type))
        #expect(types.isSuperset(of: ["OrderPaid", "OrderShipped", "OrderReceived", "ReviewPosted", "OrderCancelled", "OrderExpired"]))
        #expect(try first.verify().isHealthy)
        #expect(try first.head().recordedAt.map { $0.nanosecondsSinceEpoch < SeedClock.start + 200 * 86_400 * 1_000_000_000 } == true)
    }
}

@Suite struct OrderNumberTests {
    @Test func numbersComeFromReservedBlocksAndNeverRepeat() async throws {
        let shop = try TestShop()
        let merchant = try await shop.register("m@example.com", role: .merchant)
        let goodsId = try await shop.listGoods(by: merchant, stock: 500)
        var buyers: [Actor] = []
        for index in 0..<30 {
            let buyer = try await shop.shopper("n\(index)@example.com")
            try await shop.run("AddToCart", ["goodsId": goodsId, "quantity": 1], as: buyer)
            buyers.append(buyer)
        }
        let numbers = try await withThrowingTaskGroup(of: String.self) { group in
            for buyer in buyers { group.addTask { try await shop.run("PlaceOrder", [:], as: buyer).result["number"] ?? "" } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(numbers).count == 30)
        #expect(numbers.allSatisfy { $0.hasSuffix(String(format: "%06d", Int($0.suffix(6)) ?? 0)) && $0.count == 15 })
        #expect(Set(numbers.compactMap { Int($0.suffix(6)) }) == Set(1...30))
        // One block reservation, not one contended append per order.
        #expect(try shop.log.events(ofType: "OrderNumbersReserved").count == 1)
        // A second engine on the same log takes the next block.
        let second = try Engine(log: shop.log, vault: shop.vault, configuration: shop.engine.configuration)
        let buyer = try await shop.shopper("late@example.com")
        try await shop.run("AddToCart", ["goodsId": goodsId, "quantity": 1], as: buyer)
        let late = try await second.execute(type: "PlaceOrder", data: Data("{}".utf8), context: CommandContext(actor: buyer, correlationId: UUID()))
        #expect(late.result["number"]?.hasSuffix("000101") == true)
    }

    /// The next block is reserved when half of one is used, so the hundred-and-first order finds it ready.
    @Test func theNextBlockIsReservedBeforeTheCurrentOneRunsOut() async throws {
        let shop = try TestShop()
        let merchant = try await shop.register("m@example.com", role: .merchant)
        let goodsId = try await shop.listGoods(by: merchant, stock: 500)
        let buyer = try await shop.shopper("b@example.com")
        var numbers: [Int] = []
        for _ in 0..<(OrderNumbers.blockSize / 2 + 1) {
            numbers.append(Int(try await shop.run("PlaceOrder", ["items": [["goodsId": goodsId, "quantity": 1]]], as: buyer).result["number"]?.suffix(6) ?? "") ?? 0)
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while try shop.log.events(ofType: "OrderNumbersReserved").count < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(try shop.log.events(ofType: "OrderNumbersReserved").count == 2, "the spare block was reserved at half of the first")
        for _ in numbers.count..<(OrderNumbers.blockSize + 20) {
            numbers.append(Int(try await shop.run("PlaceOrder", ["items": [["goodsId": goodsId, "quantity": 1]]], as: buyer).result["number"]?.suffix(6) ?? "") ?? 0)
        }
        #expect(numbers == Array(1...(OrderNumbers.blockSize + 20)))
        #expect(try shop.log.events(ofType: "OrderNumbersReserved").count == 2, "orders 101–120 came from the spare block, with no reservation of their own")
        // Seeded runs reserve only when a block runs out, so their logs do not depend on timing.
        var configuration = shop.engine.configuration
        configuration.reservesOrderNumbersAhead = false
        let seeded = try Engine(log: shop.log, vault: shop.vault, configuration: configuration)
        for _ in 0..<(OrderNumbers.blockSize - 1) {
            _ = try await seeded.execute(type: "PlaceOrder", data: try JSONSerialization.data(withJSONObject: ["items": [["goodsId": goodsId, "quantity": 1]]]),
                                         context: CommandContext(actor: buyer, correlationId: UUID()))
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(try shop.log.events(ofType: "OrderNumbersReserved").count == 3, "one block for the second engine, none ahead")
    }

    /// A spare block left from yesterday does not stop today's blocks from being reserved ahead.
    @Test func aSpareBlockFromAnEndedDayIsDropped() async throws {
        let clock = HandClock()
        let shop = try TestShop(clock: clock)
        let merchant = try await shop.register("m@example.com", role: .merchant)
        let goodsId = try await shop.listGoods(by: merchant, stock: 500)
        func reservations() throws -> [String] { try shop.log.events(ofType: "OrderNumbersReserved").map(\.stream.rawValue) }
        func placeHalfABlockAndWaitForASpare(as buyer: Actor, reservationsAfter count: Int) async throws {
            for _ in 0..<(OrderNumbers.blockSize / 2 + 1) {
                try await shop.run("PlaceOrder", ["items": [["goodsId": goodsId, "quantity": 1]]], as: buyer)
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while try reservations().count < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        }
        try await placeHalfABlockAndWaitForASpare(as: try await shop.shopper("b@example.com"), reservationsAfter: 2)
        let yesterday = try reservations()
        #expect(yesterday.count == 2 && Set(yesterday).count == 1, "\(yesterday)")
        let seconds = clock.now().nanosecondsSinceEpoch / 1_000_000_000
        clock.advance(seconds: 86_400 - seconds % 86_400 + 1)  // just past midnight (UTC)
        try await placeHalfABlockAndWaitForASpare(as: try await shop.shopper("c@example.com"), reservationsAfter: 4)
        let today = try reservations().dropFirst(2)
        #expect(today.count == 2 && Set(today).count == 1 && !yesterday.contains(today.first ?? ""),
                "today's first block and a spare for today: \(Array(today))")
    }
}

@Suite struct TokenCacheTests {
    @Test func aCachedTokenStillExpiresAndAForgedOneIsNeverCached() throws {
        let clock = HandClock()
        let authority = TokenAuthority(secret: Array(repeating: 3, count: 32), lifetimeSeconds: 60, clock: clock)
        let user = UserId(UUID())
        let token = authority.issue(for: user, role: .merchant)
        #expect(try authority.verify(token) == .user(user, .merchant))
        #expect(try authority.verify(token) == .user(user, .merchant))  // from the cache
        #expect(throws: EngineError.self) { try authority.verify(token + "A") }
        clock.advance(seconds: 61)
        do {
            _ = try authority.verify(token)
            Issue.record("an expired token was served from the cache")
        } catch {
            #expect(error.code == "token_expired")
        }
    }
}

@Suite struct CommandEnvelopeTests {
    /// The body's faults, each with the code and field a client reads; unknown types and bad data wait for `execute`.
    @Test func envelopeFaultsHaveStableCodes() async throws {
        let envelopeFaults: [(String, String, String?)] = [
            ("{not json", "malformed_json", nil),
            ("[1,2]", "malformed_json", nil),
            (#""text""#, "malformed_json", nil),
            (#"{"data":{}}"#, "missing_field", "type"),
            (#"{"type":7}"#, "wrong_type", "type"),
            (#"{"type":"ClearCart","expectedVersion":-1}"#, "wrong_type", "expectedVersion"),
            (#"{"type":"ClearCart","expectedVersion":"two"}"#, "wrong_type", "expectedVersion"),
            (#"{"type":"ClearCart","type":"ForgetUser","data":{}}"#, "duplicate_key", "type"),
        ]
        for (body, code, field) in envelopeFaults {
            do {
                _ = try DecodedCommand(envelope: Data(body.utf8))
                Issue.record("\(body) was accepted")
            } catch {
                #expect(error.code == code, "\(body): \(error)")
                #expect(error.details["field"] == field, "\(body): \(error)")
            }
        }
        let dataFaults: [(String, String, String)] = [
            (#"{"type":"Explode","data":{}}"#, "unknown_command", ""),
            (#"{"type":"ClearCart","data":7}"#, "wrong_type", "data"),
            (#"{"type":"ClearCart","data":null}"#, "wrong_type", "data"),
            (#"{"type":"AddToCart","data":{"quantity":1}}"#, "missing_field", "goodsId"),
            (#"{"type":"AddToCart","data":{"goodsId":"not-a-uuid","quantity":1}}"#, "invalid_value", "goodsId"),
            (#"{"type":"AddToCart","data":{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":"many"}}"#, "wrong_type", "quantity"),
            (#"{"type":"AddAddress","data":{"address":{"recipient":"x"}}}"#, "missing_field", "address.phone"),
            (#"{"type":"PlaceOrder","data":{"items":[{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1},{"goodsId":"nope","quantity":1}]}}"#,
             "invalid_value", "items[1].goodsId"),
            // Foundation's decoder calls these "not valid JSON"; the first number that is not a 64-bit whole number is named.
            (#"{"type":"AddToCart","data":{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1.5}}"#, "wrong_type", "quantity"),
            (#"{"type":"AddToCart","data":{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":99999999999999999999999}}"#,
             "wrong_type", "quantity"),
            (#"{"type":"PlaceOrder","data":{"items":[{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1},{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":-2.5}]}}"#,
             "wrong_type", "items[1].quantity"),
            // A repeated key is refused by name, escaped spellings included, at any depth.
            (#"{"type":"AddToCart","data":{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1,"quantity":90}}"#, "duplicate_key", "quantity"),
            (#"{"type":"AddToCart","data":{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1,"quan\u0074ity":90}}"#,
             "duplicate_key", "quantity"),
            (#"{"type":"PlaceOrder","data":{"items":[{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1},{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1,"goodsId":"0195c0de-0000-7000-8000-000000000002"}]}}"#,
             "duplicate_key", "items[1].goodsId"),
        ]
        // The same key in different objects, and a key's name as a string value, are not repeats.
        let distinct = #"{"type":"PlaceOrder","data":{"items":[{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1},{"goodsId":"0195c0de-0000-7000-8000-000000000002","quantity":2}],"note":"type"}}"#
        if case .failure(let error) = try DecodedCommand(envelope: Data(distinct.utf8)).decoded { Issue.record("\(distinct): \(error)") }
        if case .failure(let error) = DecodedCommand(type: "AddToCart", data: Data(#"{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1,"quantity":2}"#.utf8)).decoded {
            #expect(error.code == "duplicate_key" && error.details["field"] == "quantity", "\(error)")
        } else {
            Issue.record("a repeated key in data given apart was decoded")
        }
        let longType = String(repeating: "X", count: 100_000)
        if case .failure(let error) = try DecodedCommand(envelope: Data(#"{"type":"\#(longType)","data":{}}"#.utf8)).decoded {
            #expect(error.code == "unknown_command" && error.message.utf8.count < 200 && (error.details["type"]?.utf8.count ?? 0) < 200, "\(error.message)")
        } else {
            Issue.record("a 100 KB command type was decoded")
        }
        let apart = DecodedCommand(type: "AddToCart", data: Data(#"{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1e30}"#.utf8))
        if case .failure(let error) = apart.decoded {
            #expect(error.code == "wrong_type" && error.details["field"] == "quantity", "\(error)")
        } else {
            Issue.record("a quantity of 1e30 was decoded")
        }
        for broken in [#"{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1"#, "1.5"] {
            if case .failure(let error) = DecodedCommand(type: "AddToCart", data: Data(broken.utf8)).decoded {
                #expect(error.code == (broken == "1.5" ? "wrong_type" : "malformed_json"), "\(broken): \(error)")
            } else {
                Issue.record("\(broken) was decoded")
            }
        }
        let shop = try TestShop()
        let buyer = try await shop.register("b@example.com")
        for (body, code, field) in dataFaults {
            let command = try DecodedCommand(envelope: Data(body.utf8))
            await expectEngineError(code, shop) { _ = try await shop.engine.execute(command, context: CommandContext(actor: buyer, correlationId: UUID())) }
            if case .failure(let error) = command.decoded, code != "unknown_command" {
                #expect(error.details["field"] == field, "\(body): \(error)")
                #expect(error.message.hasPrefix(field == "data" ? "data must" : "data.\(field)"), "\(body): \(error.message)")
            }
        }
    }

    /// The envelope read in one pass decodes the same command as `data` given apart; no `data` is `{}`.
    @Test func envelopeAndSeparateDataRunTheSameCommand() async throws {
        let shop = try TestShop()
        let merchant = try await shop.register("m@example.com", role: .merchant)
        let buyer = try await shop.shopper("b@example.com")
        let goodsId = try await shop.listGoods(by: merchant)
        let context = CommandContext(actor: buyer, correlationId: UUID())
        let added = try await shop.engine.execute(try DecodedCommand(envelope: Data(#"{"type":"AddToCart","expectedVersion":0,"data":{"goodsId":"\#(goodsId)","quantity":2}}"#.utf8)),
                                                  context: context)
        #expect(added.events.map(\.type) == ["CartItemAdded"])
        let command = try DecodedCommand(envelope: Data(#"{"type":"ClearCart"}"#.utf8))
        #expect(command.expectedVersion == nil)
        let cleared = try await shop.engine.execute(command, context: context)
        #expect(cleared.events.map(\.type) == ["CartCleared"])
        #expect(try DecodedCommand(envelope: Data(#"{"type":"AddToCart","expectedVersion":0,"data":{}}"#.utf8)).expectedVersion == 0)
    }

    /// The hand-written answer is byte for byte what `JSONEncoder` writes, whatever the strings hold.
    @Test func answerJSONIsTheEncodersJSON() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var generator = SplitMix64(seed: 11)
        let alphabet = Array("aZ09 \"\\/\n\r\t\u{08}\u{0C}\u{01}\u{1F}\u{7F}é绿茶🍵-_:") + [Character("\u{00}")]
        func text() -> String { String((0..<Int(generator.next() % 12)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }) }
        for _ in 0..<300 {
            let events = (0..<Int(generator.next() % 4)).map { _ in
                AppendedEvent(stream: text(), version: generator.next() % 1_000, position: generator.next(), type: text())
            }
            var values: [String: String] = [:]
            for _ in 0..<Int(generator.next() % 4) { values[text()] = text() }
            let result = CommandResult(events: events, result: values, replayed: generator.next() % 2 == 0)
            #expect(result.json == Array(try encoder.encode(result)), "\(result)")
        }
    }
}
