import Assembly
import Commerce
import Fixtures
import Foundation
import History
import ShopTestSupport
import Synchronization
import TestSupport
import Testing

@testable import CommandEngine
@testable import EventStore

@Suite struct EngineJourneyTests {
    @Test func aWholeShopJourneyLeavesATimelineWithEveryActor() async throws {
        let shop = try TestShop()
        let merchant = try await shop.register("shop@example.com", role: .merchant)
        let customer = try await shop.shopper("buyer@example.com")
        let login = try await shop.run(.login(email: "BUYER@example.com", password: "correct horse"), as: nil)
        let token = try #require(login.result.token)
        #expect(try shop.engine.tokens.verify(token).userId == customer.userId)
        let goodsId = try await shop.listGoods(by: merchant, price: 2_500, stock: 5)
        try await shop.run(.recordView(goodsId), as: customer)
        let terms = CouponTerms(
            code: "WELCOME", kind: .fixed, value: 500, validUntil: Instant(millisecondsSinceEpoch: 4_000_000_000_000), totalLimit: 10)
        try await shop.run(.createCoupon(terms), as: .system)
        try await shop.run(.addToCart(goodsId, quantity: 2), as: customer)
        try await shop.run(.applyCoupon(code: "welcome"), as: customer)
        let placed = try await shop.run(.placeOrder(), as: customer)
        let orderId = try #require(placed.result.orderId)
        #expect(placed.result.total == Money(minorUnits: 4_500))
        #expect(placed.result.number?.count == 15)
        #expect(Set(placed.events.map(\.type)).isSuperset(of: ["OrderPlaced", "StockReserved", "CouponRedeemed", "CartCheckedOut"]))
        let payment = try await shop.run(.initiatePayment(orderId), as: customer)
        let paymentId = try #require(payment.result.paymentId)
        #expect(payment.result.amount == Money(minorUnits: 4_500))
        let paid = try await shop.signedCallback(paymentId: paymentId, transaction: "sbx-1", amount: 4_500)
        #expect(paid.events.map(\.type) == ["PaymentSucceeded", "OrderPaid"])
        try await shop.run(.shipOrder(orderId, carrier: "SF Express", trackingNumber: "SF1234567890"), as: merchant)
        let received = try await shop.run(.confirmReceipt(orderId), as: customer)
        #expect(received.events.map(\.type) == ["OrderReceived", "PointsEarned"])
        try await shop.run(.postReview(goodsId: goodsId, orderId: orderId, rating: 5, text: "好茶"), as: customer)

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
            try await shop.run(.addToCart(goodsId, quantity: 1), as: buyer)
            buyers.append(buyer)
        }
        let outcomes = await withTaskGroup(of: String.self) { group in
            for buyer in buyers {
                group.addTask { await outcome { try await shop.run(.placeOrder(), as: buyer) } }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == "ok" }.count == 50)
        #expect(outcomes.filter { $0 == "insufficient_stock" }.count == 150, "\(Set(outcomes))")
        let goods: GoodsState = try shop.engine.store.load(.goods(goodsId)).state
        #expect(goods.reserved == 50 && goods.available == 0 && goods.onHand == 50)
        #expect(try shop.log.verify().isHealthy)
    }

    /// A campaign with room for 30 orders or ¥150 of discount, whichever runs out first, and 80 buyers at once: never over
    /// budget, and every order placed once it ran out pays full price.
    @Test func aPromotionsBudgetIsNeverExceededUnderAFlashSale() async throws {
        let shop = try TestShop()
        let merchant = try await shop.register("promo@example.com", role: .merchant)
        let goodsId = try await shop.listGoods(by: merchant, price: 1_000, stock: 500)
        let budget = PromotionBudget(discountMax: Money(minorUnits: 15_000), usesMax: 30)
        let created = try await shop.run(
            .createPromotion(
                PromotionTerms(
                    name: "限时八折", rule: .percentOff(20), budget: budget, validUntil: Instant(millisecondsSinceEpoch: 4_000_000_000_000))),
            as: merchant)
        let promotionId = try #require(created.result.promotionId)
        var buyers: [Actor] = []
        for index in 0..<80 {
            let buyer = try await shop.shopper("promo\(index)@example.com")
            // 1 to 3 units: ¥2 to ¥6 off each order.
            try await shop.run(.addToCart(goodsId, quantity: 1 + index % 3), as: buyer)
            buyers.append(buyer)
        }
        let totals = try await withThrowingTaskGroup(of: (Int64, Int).self) { group in
            for (index, buyer) in buyers.enumerated() {
                group.addTask { (try await shop.run(.placeOrder(), as: buyer).result.total?.minorUnits ?? 0, 1 + index % 3) }
            }
            return try await group.reduce(into: [(Int64, Int)]()) { $0.append($1) }
        }
        let discounts = totals.map { total, units in Int64(units) * 1_000 - total }
        let given = discounts.reduce(0, +)
        let promoted = discounts.filter { $0 > 0 }.count
        let usage: PromotionState = try shop.engine.store.load(.promotion(promotionId)).state
        #expect(usage.spent.minorUnits == given && usage.uses == promoted)
        #expect(given <= 15_000 && promoted <= 30)
        // Some paid full price (80 buyers, 30 uses): only because every use was gone, or what was left could not cover them.
        #expect(15_000 - given < 600 || promoted == 30, "given \(given) in \(promoted) orders")
        #expect(try shop.log.events(ofType: "PromotionApplied").count == promoted)
        #expect(try shop.log.verify().isHealthy)
    }

    @Test func aHundredDeliveriesOfOneCallbackPayOnce() async throws {
        let shop = try TestShop()
        let merchant = try await shop.register("m@example.com", role: .merchant)
        let buyer = try await shop.shopper("b@example.com")
        try await shop.run(.addToCart(try await shop.listGoods(by: merchant, price: 800), quantity: 1), as: buyer)
        let paymentId = try await shop.initiatePayment(try await shop.placeOrder(as: buyer), as: buyer)
        let results = try await withThrowingTaskGroup(of: CommandOutcome.self) { group in
            for _ in 0..<100 { group.addTask { try await shop.signedCallback(paymentId: paymentId, transaction: "sbx-once", amount: 800) } }
            return try await group.reduce(into: [CommandOutcome]()) { $0.append($1) }
        }
        #expect(results.filter { !$0.events.isEmpty }.count == 1)
        #expect(try shop.log.events(ofType: "PaymentSucceeded").count == 1)
        #expect(try shop.log.events(ofType: "OrderPaid").count == 1)
    }

    @Test func anIdempotencyKeyAnswersTwiceButActsOnce() async throws {
        let shop = try TestShop()
        let merchant = try await shop.register("m@example.com", role: .merchant)
        func listing(_ title: String, price: Int64, stock: Int) -> Command {
            .listGoods(GoodsDetails(title: title, category: "ware"), price: Money(minorUnits: price), stock: stock)
        }
        let first = try await shop.run(listing("Cup", price: 100, stock: 1), as: merchant, key: "list-cup-1")
        let again = try await shop.run(listing("Cup", price: 100, stock: 1), as: merchant, key: "list-cup-1")
        #expect(again.replayed && !first.replayed)
        #expect(again.result == first.result)
        #expect(again.events == first.events)
        #expect(try shop.log.events(ofType: "GoodsListed").count == 1)
        let outcomes = try await withThrowingTaskGroup(of: CommandOutcome.self) { group in
            for _ in 0..<20 {
                group.addTask { try await shop.run(listing("Pot", price: 900, stock: 3), as: merchant, key: "list-pot") }
            }
            return try await group.reduce(into: [CommandOutcome]()) { $0.append($1) }
        }
        #expect(Set(outcomes.map(\.result)).count == 1)
        #expect(try shop.log.events(ofType: "GoodsListed").count == 2)
        // Keys are per caller: another merchant's same key is another command.
        let other = try await shop.register("other@example.com", role: .merchant)
        _ = try await shop.run(listing("Pot", price: 900, stock: 3), as: other, key: "list-pot")
        #expect(try shop.log.events(ofType: "GoodsListed").count == 3)
        // Another request under a used key is refused and appends nothing.
        let head = try shop.log.head().position
        await expectEngineError("idempotency_key_reused", shop) {
            _ = try await shop.run(listing("Cup", price: 101, stock: 1), as: merchant, key: "list-cup-1")
        }
        await expectEngineError("idempotency_key_reused", shop) { _ = try await shop.run(.clearCart, as: merchant, key: "list-cup-1") }
        #expect(try shop.log.head().position == head)
        // Racing requests under one key: one runs, the same request is answered with its result, another is refused.
        let raced = await withTaskGroup(of: (answer: CommandOutcome?, code: String?).self) { group in
            for index in 0..<12 {
                group.addTask {
                    do {
                        return (
                            try await shop.run(
                                listing(index % 2 == 0 ? "Bowl" : "Jug", price: 5, stock: 1), as: merchant, key: "list-race"), nil
                        )
                    } catch let error as EngineError {
                        return (nil, error.code.description)
                    } catch {
                        return (nil, "\(error)")
                    }
                }
            }
            return await group.reduce(into: [(answer: CommandOutcome?, code: String?)]()) { $0.append($1) }
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
        try await shop.run(.addToCart(goodsId, quantity: 1), as: buyer)
        let orderId = try await shop.placeOrder(as: buyer)

        await expectEngineError("quantity_out_of_range", shop) { try await shop.run(.addToCart(goodsId, quantity: -1), as: buyer) }
        await expectEngineError("quantity_out_of_range", shop) { try await shop.run(.addToCart(goodsId, quantity: 1_000_000), as: buyer) }
        await expectEngineError("invalid_input", shop) {
            try await shop.run(
                .listGoods(
                    GoodsDetails(title: String(repeating: "x", count: 5_000), category: "tea"), price: Money(minorUnits: 1), stock: 1),
                as: merchant)
        }
        await expectEngineError("not_owner", shop) { try await shop.run(.cancelOrder(orderId), as: stranger) }
        await expectEngineError("not_owner", shop) { try await shop.run(.changePrice(goodsId, price: Money(minorUnits: 1)), as: rival) }
        await expectEngineError("forbidden", shop) {
            try await shop.run(.listGoods(GoodsDetails(title: "x", category: "y"), price: Money(minorUnits: 1), stock: 1), as: buyer)
        }
        await expectEngineError("unauthenticated", shop) { try await shop.run(.addToCart(goodsId, quantity: 1), as: nil) }
        await expectEngineError("order_not_found", shop) { try await shop.run(.confirmReceipt(OrderId(UUID())), as: buyer) }
        await expectEngineError("invalid_idempotency_key", shop) { try await shop.run(.clearCart, as: buyer, key: "has space") }
        await expectEngineError("invalid_credentials", shop) {
            try await shop.run(.login(email: "nobody@example.com", password: "whatever1"), as: nil)
        }
    }

    @Test func forgedExpiredAndMalformedTokensAreRefused() throws {
        let shop = try TestShop()
        let token = shop.engine.tokens.issue(for: UserId(UUID()), role: .admin)
        #expect(throws: EngineError.self) { try shop.engine.tokens.verify(token + "x") }
        let parts = token.split(separator: ".")
        let forged = TokenAuthority.base64URL(Array(#"{"sub":"x","role":"admin","iat":0,"exp":99999999999}"#.utf8)) + "." + parts[1]
        #expect(throws: EngineError(.invalidToken, "the token's signature is wrong")) { try shop.engine.tokens.verify(forged) }
        #expect(throws: EngineError.self) { try shop.engine.tokens.verify("garbage") }
        let expired = TokenAuthority(secret: Array(repeating: 7, count: 32), lifetimeSeconds: -1, clock: SystemClock()).issue(
            for: UserId(UUID()), role: .customer)
        do {
            _ = try shop.engine.tokens.verify(expired)
            Issue.record("an expired token was accepted")
        } catch {
            #expect(error.code == .tokenExpired)
        }
    }

    @Test func callbacksWithBadSignaturesOrOldTimestampsAreRefused() async throws {
        let shop = try TestShop()
        let body = Array(
            try JSONEncoder().encode(ProviderNotification(paymentId: UUID().uuidString, transactionId: "t", status: "succeeded", amount: 1))
        )
        let now = SystemClock().now().nanosecondsSinceEpoch / 1_000_000_000
        let verifier = CallbackVerifier(provider: "sandbox", secret: sandboxSecret)
        await expectEngineError("invalid_signature", shop) {
            _ = try await shop.engine.handleProviderCallback(
                provider: "sandbox", body: body, timestamp: now, signature: String(repeating: "0", count: 64), correlationId: UUID())
        }
        await expectEngineError("stale_timestamp", shop) {
            _ = try await shop.engine.handleProviderCallback(
                provider: "sandbox", body: body, timestamp: now - 3_600,
                signature: verifier.sign(body: body, timestamp: now - 3_600), correlationId: UUID())
        }
        // Timestamps whose distance from now does not fit 64 bits (the smallest crashed the server, unsigned).
        for timestamp in [Int64.min, Int64.min + 1, -Int64.max / 2 - now, Int64.max] {
            await expectEngineError("stale_timestamp", shop) {
                _ = try await shop.engine.handleProviderCallback(
                    provider: "sandbox", body: body, timestamp: timestamp,
                    signature: verifier.sign(body: body, timestamp: timestamp), correlationId: UUID())
            }
        }
        await expectEngineError("unknown_provider", shop) {
            _ = try await shop.engine.handleProviderCallback(
                provider: "paypal", body: body, timestamp: now, signature: "", correlationId: UUID())
        }
        await expectEngineError("payment_not_found", shop) {
            _ = try await shop.engine.handleProviderCallback(
                provider: "sandbox", body: body, timestamp: now, signature: verifier.sign(body: body, timestamp: now), correlationId: UUID()
            )
        }
    }
}

@Suite struct OrderExpiryTests {
    @Test func unpaidOrdersExpireWhenTheirTimeComesAndPaidOnesNever() async throws {
        let clock = ManualClock.startingNow()
        let shop = try TestShop(clock: clock)
        let merchant = try await shop.register("m@example.com", role: .merchant)
        let buyer = try await shop.shopper("b@example.com")
        let goodsId = try await shop.listGoods(by: merchant, price: 100, stock: 10)
        try await shop.run(.addToCart(goodsId, quantity: 3), as: buyer)
        let unpaid = try await shop.placeOrder(as: buyer)
        try await shop.run(.addToCart(goodsId, quantity: 2), as: buyer)
        let paid = try await shop.placeOrder(as: buyer)
        let paymentId = try await shop.initiatePayment(paid, as: buyer)
        let expiry = OrderExpiry(engine: shop.engine)
        #expect(try await expiry.sweep() == 0)
        #expect(expiry.unpaidCount == 2)
        clock.advance(seconds: shop.engine.policy.orderExpirySeconds - 10)
        _ = try await shop.signedCallback(paymentId: paymentId, transaction: "tx", amount: 200)
        #expect(try await expiry.sweep() == 0)
        #expect(expiry.unpaidCount == 1)
        clock.advance(seconds: 10)
        #expect(try await expiry.sweep() == 1)
        let goods: GoodsState = try shop.engine.store.load(.goods(goodsId)).state
        #expect(goods.reserved == 2)
        let expiredEvents = try shop.log.readStream(try StreamName("order-\(unpaid)")).map(\.type)
        #expect(expiredEvents == ["OrderPlaced", "OrderExpired"])
        #expect(try shop.log.readStream(try StreamName("order-\(paid)")).map(\.type) == ["OrderPlaced", "OrderPaid"])
        #expect(try await expiry.sweep() == 0)
    }

    /// A sweep looks at the orders that are due, not at every unpaid one: 60 orders placed 20 seconds apart, half of
    /// them paid; sweeps before any is due look at one deadline each, and once the clock passes some deadlines a sweep
    /// expires exactly the unpaid ones among them, soonest first, looking at those and the paid ones' deadlines once.
    @Test func aSweepLooksOnlyAtTheOrdersThatAreDue() async throws {
        let clock = ManualClock.startingNow()
        let shop = try TestShop(clock: clock)
        let merchant = try await shop.register("m@example.com", role: .merchant)
        let buyer = try await shop.shopper("b@example.com")
        let goodsId = try await shop.listGoods(by: merchant, price: 100, stock: 100)
        var orders: [(OrderId, paid: Bool)] = []
        for index in 0..<60 {
            try await shop.run(.addToCart(goodsId, quantity: 1), as: buyer)
            let order = try await shop.placeOrder(as: buyer)
            if index % 2 == 1 {
                let payment = try await shop.initiatePayment(order, as: buyer)
                _ = try await shop.signedCallback(paymentId: payment, transaction: "tx-\(index)", amount: 100)
            }
            orders.append((order, index % 2 == 1))
            clock.advance(seconds: 20)
        }
        let expiry = OrderExpiry(engine: shop.engine)
        #expect(try await expiry.sweep() == 0)
        #expect(expiry.unpaidCount == 30)
        let before = expiry.deadlinesLookedAt
        for _ in 0..<10 { #expect(try await expiry.sweep() == 0) }
        #expect(expiry.deadlinesLookedAt - before <= 10 + 1, "one deadline a sweep (the first paid order's dropped once)")
        // The first 20 orders' deadlines pass: 10 of them unpaid.
        clock.advance(seconds: shop.engine.policy.orderExpirySeconds - 60 * 20 + 19 * 20 + 10)
        let looked = expiry.deadlinesLookedAt
        #expect(try await expiry.sweep() == 10)
        #expect(expiry.deadlinesLookedAt - looked <= 20 + 1, "the due orders' deadlines and the next one's")
        #expect(expiry.unpaidCount == 20)
        for (order, paid) in orders.prefix(20) {
            let state: OrderState = try shop.engine.store.load(.order(order)).state
            #expect(state.status == (paid ? .paid : .expired))
        }
        let expired = try shop.log.read(from: 1).filter { $0.type == "OrderExpired" }.map(\.stream.rawValue)
        #expect(expired == orders.prefix(20).filter { !$0.paid }.map { "order-\($0.0)" }, "soonest first")
    }

    /// Pre-orders whose stock never comes are cancelled by the sweep, as the system, and paid ones refunded: when the
    /// merchant calls them off, and when the arrival date passes with orders still queued. Filled ones are left alone.
    @Test func preOrdersWhoseStockNeverComesAreCancelledAndRefunded() async throws {
        let clock = ManualClock.startingNow()
        let shop = try TestShop(clock: clock)
        let merchant = try await shop.register("m@example.com", role: .merchant)
        let buyer = try await shop.shopper("b@example.com")
        let calledOff = try await shop.listGoods(by: merchant, price: 100, stock: 0)
        let late = try await shop.listGoods(by: merchant, price: 100, stock: 0)
        let hour: Int64 = 3_600
        for goodsId in [calledOff, late] {
            try await shop.run(
                .openPreOrders(
                    goodsId, cap: 10, endsAt: shop.engine.now.adding(seconds: hour), arrivesBy: shop.engine.now.adding(seconds: 24 * hour)),
                as: merchant)
        }
        func preOrder(_ goodsId: GoodsId, paid: Bool) async throws -> OrderId {
            try await shop.run(.addToCart(goodsId, quantity: 1), as: buyer)
            let order = try await shop.placeOrder(as: buyer)
            if paid {
                let payment = try await shop.initiatePayment(order, as: buyer)
                _ = try await shop.signedCallback(paymentId: payment, transaction: "tx-\(order)", amount: 100)
            }
            return order
        }
        let paidCalledOff = try await preOrder(calledOff, paid: true)
        let paidLate = try await preOrder(late, paid: true)
        let filled = try await preOrder(late, paid: true)
        _ = filled  // queued behind paidLate: the one unit below fills paidLate first
        let expiry = OrderExpiry(engine: shop.engine)
        #expect(try await expiry.sweep() == 0)
        #expect(expiry.preOrderedCount == 3)
        try await shop.run(.cancelPreOrders(calledOff, reason: "供应商停产 supplier stopped"), as: merchant)
        try await shop.run(.restock(late, quantity: 1), as: merchant)
        #expect(try await expiry.sweep() == 1)
        let cancelled: OrderState = try shop.engine.store.load(.order(paidCalledOff)).state
        #expect(cancelled.status == .cancelled)
        #expect(try shop.log.readStream(try StreamName("order-\(paidCalledOff)")).last?.metadata.actor == "system")
        let payment: PaymentState = try shop.engine.store.load(.payment(try #require(cancelled.paymentId))).state
        #expect(payment.status == .refunded)
        // The late goods' second order still waits; a day on, its arrival date has passed.
        #expect(expiry.preOrderedCount == 1)
        clock.advance(seconds: 24 * hour)
        #expect(try await expiry.sweep() == 1)
        let lateOrders: [OrderState] = try [paidLate, filled].map { try shop.engine.store.load(.order($0)).state }
        #expect(lateOrders.map(\.status) == [.paid, .cancelled], "the filled order stays; the one still queued is cancelled")
        #expect(try await expiry.sweep() == 0)
    }
}

@Suite struct DemoShopTests {
    func seededLog(seed: UInt64) async throws -> (EventLog, DemoShop.Outcome) {
        let clock = SeedClock()
        var options = Shop.Options.seeded(seed, clock: clock, tokenSecret: Array(repeating: 1, count: 32), sandboxSecret: sandboxSecret)
        options.log.initialMapSizeBytes = 64 << 20
        let shop = try Shop(directory: ShopDirectory(temporaryDirectory("seed")), options: options)
        var size = DemoShop.Size()
        size.goods = 24
        size.customers = 6
        size.orders = 60
        let outcome = try await DemoShop.seed(engine: shop.engine, clock: clock, size: size, seed: seed)
        return (shop.log, outcome)
    }

    @Test func theSameSeedMakesTheSameShopEventForEvent() async throws {
        let (first, outcome) = try await seededLog(seed: 7)
        let (second, _) = try await seededLog(seed: 7)
        let (other, _) = try await seededLog(seed: 8)
        #expect(try first.head() == second.head())
        #expect(try first.head().hash != other.head().hash)
        #expect(outcome.orders > 30 && outcome.goods.count == 24 + 3, "24 plain goods, then 3 sold in variants")
        let records = try first.read(from: 1)
        let types = Set(records.map(\.type))
        #expect(types.isSuperset(of: ["OrderPaid", "OrderShipped", "OrderReceived", "ReviewPosted", "OrderCancelled", "OrderExpired"]))
        #expect(types.isSuperset(of: ["GoodsOptionsDefined", "VariantAdded", "GoodsAttributesSet", "DeliveryMethodDefined", "SkuClaimed"]))
        #expect(types.isSuperset(of: ["PreOrdersOpened", "PreOrderReserved"]), "the grey power bank is taken as pre-orders")
        // Orders naming a variant and a delivery method are version 3; the plain ones before them stay version 2.
        #expect(Set(records.filter { $0.type == "OrderPlaced" }.map(\.schemaVersion)) == [2, 3])
        #expect(try first.verify().isHealthy)
        #expect(try first.head().recordedAt.map { $0.nanosecondsSinceEpoch < SeedClock.start + 200 * 86_400 * 1_000_000_000 } == true)
    }
}

/// What concurrent callers were given, whichever of them got it.
private final class Given: Sendable {
    let list = Mutex<[String]>([])
}

@Suite struct OrderNumberTests {
    @Test func numbersComeFromReservedBlocksAndNeverRepeat() async throws {
        let shop = try TestShop()
        let merchant = try await shop.register("m@example.com", role: .merchant)
        let goodsId = try await shop.listGoods(by: merchant, stock: 500)
        var buyers: [Actor] = []
        for index in 0..<30 {
            let buyer = try await shop.shopper("n\(index)@example.com")
            try await shop.run(.addToCart(goodsId, quantity: 1), as: buyer)
            buyers.append(buyer)
        }
        let numbers = try await withThrowingTaskGroup(of: String.self) { group in
            for buyer in buyers { group.addTask { try await shop.run(.placeOrder(), as: buyer).result.number ?? "" } }
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
        try await shop.run(.addToCart(goodsId, quantity: 1), as: buyer)
        let late = try await second.execute(.placeOrder(), context: CommandContext(actor: buyer, correlationId: UUID()))
        #expect(late.result.number?.hasSuffix("000101") == true)
    }

    /// Many callers at once, across many blocks (reserved ahead, and when one runs out): every one gets a number, each
    /// number once, and none is left waiting for a reservation (checked with a deadline, so a caller left waiting fails
    /// this test instead of hanging the suite).
    @Test func everyCallerAcrossManyBlocksGetsANumber() async throws {
        let shop = try TestShop()
        let engine = shop.engine
        let at = engine.now
        let total = OrderNumbers.blockSize * 20
        let numbers = Given()
        let callers = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<total {
                    group.addTask {
                        let number = try await engine.orderNumbers.number(at: at)
                        numbers.list.withLock { $0.append(number) }
                    }
                }
                try await group.waitForAll()
            }
        }
        // Not `await callers.value`: a caller left waiting would hang the suite instead of failing this test. Generous: the
        // whole suite shares two cores.
        let deadline = ContinuousClock.now + .seconds(120)
        while numbers.list.withLock({ $0.count }) < total, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        callers.cancel()
        let given = numbers.list.withLock { $0 }
        #expect(given.count == total, "\(total - given.count) callers still wait for a number")
        #expect(Set(given).count == given.count)
    }

    /// The next block is reserved when half of one is used, so the hundred-and-first order finds it ready.
    @Test func theNextBlockIsReservedBeforeTheCurrentOneRunsOut() async throws {
        let shop = try TestShop()
        let merchant = try await shop.register("m@example.com", role: .merchant)
        let goodsId = try await shop.listGoods(by: merchant, stock: 500)
        let buyer = try await shop.shopper("b@example.com")
        /// Places an order of one goods (not from the cart); its number's sequence part.
        func placeOne() async throws -> Int {
            Int(try await shop.run(.placeOrder(items: [CartLine(goodsId: goodsId, quantity: 1)]), as: buyer).result.number?.suffix(6) ?? "")
                ?? 0
        }
        var numbers: [Int] = []
        for _ in 0..<(OrderNumbers.blockSize / 2 + 1) {
            numbers.append(try await placeOne())
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while try shop.log.events(ofType: "OrderNumbersReserved").count < 2, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(try shop.log.events(ofType: "OrderNumbersReserved").count == 2, "the spare block was reserved at half of the first")
        for _ in numbers.count..<(OrderNumbers.blockSize + 20) {
            numbers.append(try await placeOne())
        }
        #expect(numbers == Array(1...(OrderNumbers.blockSize + 20)))
        #expect(
            try shop.log.events(ofType: "OrderNumbersReserved").count == 2,
            "orders 101–120 came from the spare block, with no reservation of their own")
        // Seeded runs reserve only when a block runs out, so their logs do not depend on timing.
        var configuration = shop.engine.configuration
        configuration.reservesOrderNumbersAhead = false
        let seeded = try Engine(log: shop.log, vault: shop.vault, configuration: configuration)
        for _ in 0..<(OrderNumbers.blockSize - 1) {
            _ = try await seeded.execute(
                .placeOrder(items: [CartLine(goodsId: goodsId, quantity: 1)]), context: CommandContext(actor: buyer, correlationId: UUID()))
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(try shop.log.events(ofType: "OrderNumbersReserved").count == 3, "one block for the second engine, none ahead")
    }

    /// A spare block left from yesterday does not stop today's blocks from being reserved ahead.
    @Test func aSpareBlockFromAnEndedDayIsDropped() async throws {
        let clock = ManualClock.startingNow()
        let shop = try TestShop(clock: clock)
        let merchant = try await shop.register("m@example.com", role: .merchant)
        let goodsId = try await shop.listGoods(by: merchant, stock: 500)
        func reservations() throws -> [String] { try shop.log.events(ofType: "OrderNumbersReserved").map(\.stream.rawValue) }
        func placeHalfABlockAndWaitForASpare(as buyer: Actor, reservationsAfter count: Int) async throws {
            for _ in 0..<(OrderNumbers.blockSize / 2 + 1) {
                try await shop.run(.placeOrder(items: [CartLine(goodsId: goodsId, quantity: 1)]), as: buyer)
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
        #expect(
            today.count == 2 && Set(today).count == 1 && !yesterday.contains(today.first ?? ""),
            "today's first block and a spare for today: \(Array(today))")
    }
}

@Suite struct TokenCacheTests {
    @Test func aCachedTokenStillExpiresAndAForgedOneIsNeverCached() throws {
        let clock = ManualClock.startingNow()
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
            #expect(error.code == .tokenExpired)
        }
    }
}
