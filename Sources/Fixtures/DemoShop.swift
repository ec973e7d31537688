import CommandEngine
import Commerce
import EventStore
import Foundation
import Synchronization

/// A clock the seeder moves forward by hand, so a seeded history spans months.
public final class SeedClock: LogClock, Sendable {
    private let nanoseconds: Mutex<Int64>

    /// 2026-05-01T00:00:00Z: a seeded six-month history ends before the shop opens for real.
    public static let start: Int64 = 1_777_593_600 * 1_000_000_000

    public init(start: Int64 = SeedClock.start) { nanoseconds = Mutex(start) }

    public func now() -> Timestamp { nanoseconds.withLock { Timestamp(nanosecondsSinceEpoch: $0) } }
    public func advance(seconds: Int64) { nanoseconds.withLock { $0 += seconds * 1_000_000_000 } }
}

/// Ids from a seeded generator, shaped as UUIDv7 with the seed clock's time.
public final class SeededIds: IdSource, Sendable {
    private let state: Mutex<SplitMix64>
    private let clock: SeedClock
    private let counter = Mutex<UInt16>(0)

    public init(seed: UInt64, clock: SeedClock) {
        state = Mutex(SplitMix64(seed: seed))
        self.clock = clock
    }

    public func next() -> UUID {
        let random = state.withLock { $0.next() }
        let sequence = counter.withLock { value -> UInt16 in
            value = value &+ 1
            return value & 0x0FFF
        }
        return UUIDv7Generator.make(milliseconds: UInt64(clock.now().nanosecondsSinceEpoch / 1_000_000), counter: sequence, random: random)
    }
}

/// Random bytes from a seed (password salts of a reproducible demo shop).
public final class SeededBytes: Sendable {
    private let generator: Mutex<SplitMix64>

    public init(seed: UInt64) { generator = Mutex(SplitMix64(seed: seed ^ 0x5EED)) }

    public func next(_ count: Int) -> [UInt8] {
        generator.withLock { generator in (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) } }
    }
}

/// A deterministic demo shop: merchants, customers, goods with Chinese and
/// English titles, coupons and months of orders in every state.
extension Engine.Configuration {
    /// Every choice follows from `seed` and `clock`: ids, salts and time, with light password
    /// hashing (scrypt at test cost). For the reference scenario, seeded shops and tests.
    public static func seeded(_ seed: UInt64, clock: SeedClock, tokenSecret: [UInt8], sandboxSecret: [UInt8]) -> Engine.Configuration {
        var configuration = Engine.Configuration(tokenSecret: tokenSecret, sandboxSecret: sandboxSecret)
        configuration.clock = clock
        configuration.ids = SeededIds(seed: seed, clock: clock)
        let salts = SeededBytes(seed: seed)
        configuration.randomBytes = { salts.next($0) }
        configuration.policy.passwordHashing = .fastForTests
        configuration.reservesOrderNumbersAhead = false  // a block reserved in the background would land wherever timing put it
        return configuration
    }
}

public enum DemoShop {
    public struct Size: Sendable {
        public var goods = 300
        public var customers = 40
        public var orders = 400
        public init() {}
    }

    public struct Outcome: Sendable {
        public var events: UInt64
        public var goods: [String]
        public var orders: Int
        /// A customer with a filled cart, for the README's curl lines.
        public var demoCustomerEmail: String
    }

    public static let password = "demo-password"
    static let historySeconds: Int64 = 180 * 86_400
    public static let adminEmail = "admin@demo.emporium"
    public static let customerEmail = "alice@demo.emporium"

    static let catalog: [(category: String, brand: String, items: [String], tags: [String])] = [
        (
            "tea", "West Lake 西湖",
            [
                "Longjing green tea 龙井绿茶", "Pu'er cake 普洱茶饼", "Tieguanyin oolong 铁观音", "Jasmine pearls 茉莉龙珠",
                "Da Hong Pao 大红袍", "White peony 白牡丹", "Keemun black tea 祁门红茶", "Biluochun 碧螺春",
            ], ["green", "oolong", "black", "gift"]
        ),
        (
            "electronics", "Lumen 流明",
            [
                "Wireless earbuds 无线耳机", "Mechanical keyboard 机械键盘", "USB-C charger 充电器", "Smart watch 智能手表",
                "Bluetooth speaker 蓝牙音箱", "Power bank 充电宝", "Webcam 摄像头", "E-reader 电子书阅读器",
            ], ["wireless", "usb-c", "portable", "gift"]
        ),
        (
            "home", "Nordic 北欧",
            [
                "Ceramic teapot 陶瓷茶壶", "Bamboo cutting board 竹砧板", "Linen duvet cover 亚麻被套", "Glass tumbler set 玻璃杯套装",
                "Aroma diffuser 香薰机", "Cast iron pan 铸铁锅", "Wool throw blanket 羊毛毯", "Desk lamp 台灯",
            ], ["kitchen", "bedroom", "eco", "gift"]
        ),
    ]

    /// Seeds through the engine's real command path, with typed commands. `clock` must be the engine's clock.
    public static func seed(
        engine: Engine, clock: SeedClock, size: Size = Size(), seed: UInt64 = 42,
        progress: (Int, Int) -> Void = { _, _ in }
    ) async throws -> Outcome {
        var random = SplitMix64(seed: seed)
        let totalSteps = 4 + size.customers + size.goods + size.orders
        var step = 0
        func tick() {
            step += 1
            progress(step, totalSteps)
        }
        let shop = Seeding(engine: engine)
        func user(_ email: String, _ name: String, role: Role) async throws -> Actor {
            guard
                let userId = try await shop.run(.registerUser(email: email, password: password, name: name, role: role), as: .system).userId
            else {
                throw EngineError(.internalError, "seeding failed to register \(email)")
            }
            return .user(userId, role)
        }
        _ = try await user(adminEmail, "Admin 管理员", role: .admin)
        var merchants: [Actor] = []
        for (index, shop) in catalog.enumerated() {
            merchants.append(try await user("merchant\(index)@demo.emporium", "\(shop.brand) Store", role: .merchant))
        }
        tick()
        var customers: [Actor] = []
        let names = ["Alice 爱丽丝", "Bo 波", "Chen 陈", "Dana", "Emre", "Fang 芳", "Gita", "Hao 浩", "Ines", "Jun 俊"]
        for index in 0..<size.customers {
            let email = index == 0 ? customerEmail : "customer\(index)@demo.emporium"
            let customer = try await user(email, names[index % names.count], role: .customer)
            let phone = "+86 138 0000 \(String(format: "%04d", index))"
            try await shop.run(
                .addAddress(
                    Address(
                        recipient: names[index % names.count], phone: phone, line1: "\(index + 1) Nanjing Road 南京路",
                        city: index.isMultiple(of: 2) ? "Shanghai 上海" : "Beijing 北京", postalCode: "200000", country: "CN")),
                as: customer)
            customers.append(customer)
            tick()
        }
        var goods: [GoodsId] = []
        for index in 0..<size.goods {
            let shopping = catalog[index % catalog.count]
            let item = shopping.items[(index / catalog.count) % shopping.items.count]
            let edition = index / (catalog.count * shopping.items.count)
            let title = edition == 0 ? item : "\(item) · No.\(edition + 1)"
            let price = Int64(990 + Int(random.next() % 40) * 500)
            let details = GoodsDetails(
                title: title, description: "\(title) — \(shopping.brand)", category: shopping.category, brand: shopping.brand,
                tags: [shopping.tags[Int(random.next() % UInt64(shopping.tags.count))], shopping.category], lowStockThreshold: 5)
            guard
                let id = try await shop.run(
                    .listGoods(details, price: Money(minorUnits: price), stock: 20 + Int(random.next() % 180)),
                    as: merchants[index % merchants.count]
                ).goodsId
            else {
                throw EngineError(.internalError, "seeding failed to list \(title)")
            }
            goods.append(id)
            tick()
        }
        let admin = Actor.system
        let forever = Instant(millisecondsSinceEpoch: 4_102_444_800_000)
        try await shop.run(
            .createCoupon(
                CouponTerms(code: "WELCOME10", kind: .percent, value: 10, validUntil: forever, totalLimit: 100_000, perUserLimit: 1)),
            as: admin)
        try await shop.run(
            .createCoupon(
                CouponTerms(
                    code: "SAVE20", kind: .fixed, value: 2_000, minimumSpend: Money(minorUnits: 10_000), validUntil: forever,
                    totalLimit: 1_000, perUserLimit: 3)), as: admin)
        tick()
        // Each order's life (payment, shipping, receipt) fits in its share of six months.
        let spacing = max(120, historySeconds / Int64(max(size.orders, 1)))
        var placed = 0
        for index in 0..<size.orders {
            clock.advance(seconds: spacing / 2)
            // Customers keep to a favourite shop most of the time, and goods come in
            // pairs often bought together (items 2k and 2k+1 of a shop), so the
            // recommenders have real patterns to find.
            let customerIndex = Int(random.next() % UInt64(customers.count))
            let customer = customers[customerIndex]
            let merchant = random.next() % 10 < 7 ? customerIndex % merchants.count : Int(random.next() % UInt64(merchants.count))
            tick()
            try await shop.attempt(.clearCart, as: customer)
            let perShop = max(goods.count / catalog.count, 1)
            func shopGoods(_ slot: Int) -> GoodsId { goods[(merchant + catalog.count * (slot % perShop)) % goods.count] }
            let slot = Int(random.next() % UInt64(perShop))
            var picks = [shopGoods(slot)]
            if random.next() % 10 < 6 { picks.append(shopGoods(slot ^ 1)) }
            if random.next() % 3 == 0 { picks.append(shopGoods(Int(random.next() % UInt64(perShop)))) }
            try await shop.attempt(.recordView(shopGoods(Int(random.next() % UInt64(perShop)))), as: customer)
            for pick in Set(picks).sorted() {
                try await shop.attempt(.recordView(pick), as: customer)
                try await shop.attempt(.addToCart(pick, quantity: 1 + Int(random.next() % 2)), as: customer)
            }
            if random.next() % 10 == 0, let first = picks.first { try await shop.attempt(.addFavorite(first), as: customer) }
            if random.next() % 5 == 0 {
                try await shop.attempt(.applyCoupon(code: index.isMultiple(of: 2) ? "WELCOME10" : "SAVE20"), as: customer)
            }
            guard let orderId = try await shop.attempt(.placeOrder(), as: customer)?.orderId else { continue }
            placed += 1
            try await playOut(
                orderId, customer: customer, merchant: merchants[merchant], shop: shop, clock: clock, spacing: spacing, random: &random)
        }
        goods += try await seedVariants(shop: shop, merchants: merchants, customers: customers, clock: clock, seed: seed)
        try await seedPromotions(shop: shop, merchants: merchants, forever: forever)
        if let first = customers.first, let sample = goods.first {
            try await shop.attempt(.clearCart, as: first)
            try await shop.run(.addToCart(sample, quantity: 1), as: first)
        }
        return Outcome(events: engine.log.headPosition, goods: goods.map(\.description), orders: placed, demoCustomerEmail: customerEmail)
    }

    /// Promotions running from the end of the seeded history on (so its orders are as before): each merchant's own, of
    /// every kind, and one shop-wide campaign with a budget.
    private static func seedPromotions(shop: Seeding, merchants: [Actor], forever: Instant) async throws {
        let campaigns: [(String, PromotionRule, PromotionTarget, PromotionBudget)] = [
            (
                "满200减20 tea",
                .spendAndSave([PromotionTier(threshold: Money(minorUnits: 20_000), amountOff: Money(minorUnits: 2_000), repeating: true)]),
                PromotionTarget(categories: ["tea"]), PromotionBudget()
            ),
            ("买二送一 electronics", .buyXGetY(buy: 2, get: 1), PromotionTarget(categories: ["electronics"]), PromotionBudget(usesMax: 100)),
            ("家居九折 home 10% off", .percentOff(10), PromotionTarget(categories: ["home"]), PromotionBudget()),
        ]
        for (index, (name, rule, target, budget)) in campaigns.enumerated() where index < merchants.count {
            try await shop.run(
                .createPromotion(PromotionTerms(name: name, rule: rule, target: target, budget: budget, validUntil: forever)),
                as: merchants[index])
        }
        try await shop.run(
            .createPromotion(
                PromotionTerms(
                    name: "满500享95折 5% off above ¥500",
                    rule: .spendAndSave([PromotionTier(threshold: Money(minorUnits: 50_000), percent: 5)]),
                    budget: PromotionBudget(discountMax: Money(minorUnits: 1_000_000)), validUntil: forever)),
            as: .system)
    }

    /// Goods sold in variants, with specification attributes in Chinese and English, each merchant's delivery methods,
    /// and a few orders choosing a size and a delivery method. Seeded after the rest (with a generator of its own), so
    /// the orders before are the same as without it.
    private static func seedVariants(
        shop: Seeding, merchants: [Actor], customers: [Actor], clock: SeedClock, seed: UInt64
    ) async throws -> [GoodsId] {
        var random = SplitMix64(seed: seed ^ 0x5A7E)
        guard merchants.count >= 3, !customers.isEmpty else { return [] }
        let (tea, electronics, home) = (merchants[0], merchants[1], merchants[2])
        var methods: [Int: DeliveryMethodId] = [:]
        for (index, merchant) in merchants.enumerated() {
            let express = DeliveryRule(
                flatFee: Money(minorUnits: 1_200), perKilogram: Money(minorUnits: 300), freeAbove: Money(minorUnits: 19_900),
                areas: [DeliveryArea(area: "上海", fee: Money(minorUnits: 800)), DeliveryArea(area: "CN")])
            methods[index] = try await shop.run(.defineDeliveryMethod(name: "顺丰 SF Express", rule: express), as: merchant).deliveryMethodId
            _ = try await shop.run(.defineDeliveryMethod(name: "EMS 邮政", rule: DeliveryRule(flatFee: Money(minorUnits: 600))), as: merchant)
        }
        func sized(_ sku: String, _ values: [String], _ price: Int64, grams: Int) -> VariantTerms {
            VariantTerms(
                sku: sku, values: values, price: Money(minorUnits: price), stock: 10 + Int(random.next() % 40), lowStockThreshold: 3,
                weightGrams: grams)
        }
        let listings: [(Actor, GoodsDetails, [String], [VariantTerms], [GoodsAttribute])] = [
            (
                home,
                GoodsDetails(
                    title: "Cotton T-shirt 纯棉T恤", description: "Soft combed cotton 精梳棉", category: "home", brand: "Nordic 北欧",
                    tags: ["cotton", "gift"]),
                ["颜色 Colour", "尺码 Size"],
                ["白 white", "黑 black"].flatMap { colour in
                    ["S", "M", "L", "XL"].map { size in
                        sized("TEE-\(colour.suffix(5).uppercased())-\(size)", [colour, size], size == "XL" ? 10_900 : 9_900, grams: 180)
                    }
                },
                [.choice("材质 Material", "纯棉 cotton", of: ["纯棉 cotton", "涤纶 polyester"]), .text("产地 Origin", "杭州 Hangzhou")]
            ),
            (
                tea,
                GoodsDetails(
                    title: "Longjing gift tin 龙井礼盒", description: "明前龙井, pre-Qingming harvest", category: "tea",
                    brand: "West Lake 西湖", tags: ["green", "gift"]),
                ["规格 Size"],
                [sized("LJ-125", ["125g"], 12_800, grams: 300), sized("LJ-250", ["250g"], 23_800, grams: 520)],
                [.text("产地 Origin", "杭州西湖 West Lake, Hangzhou"), .number("保质期 Shelf life", "18", unit: "months")]
            ),
            (
                electronics,
                GoodsDetails(
                    title: "Power bank 充电宝 Pro", description: "Fast charging 快充", category: "electronics", brand: "Lumen 流明",
                    tags: ["portable", "usb-c"]),
                ["容量 Capacity", "颜色 Colour"],
                [
                    sized("PB-10K-GREY", ["10000mAh", "灰 grey"], 12_900, grams: 210),
                    sized("PB-20K-GREY", ["20000mAh", "灰 grey"], 19_900, grams: 350),
                    sized("PB-20K-BLUE", ["20000mAh", "蓝 blue"], 19_900, grams: 350),
                ],
                [.number("输出功率 Output", "65", unit: "W"), .choice("接口 Port", "USB-C", of: ["USB-C", "USB-A"])]
            ),
        ]
        var listed: [(GoodsId, [VariantId], Int)] = []
        for (merchant, details, options, variants, attributes) in listings {
            let outcome = try await shop.run(
                .listGoodsWithVariants(details, options: options, variants: variants, attributes: attributes), as: merchant)
            guard let goodsId = outcome.goodsId, let variantIds = outcome.variantIds,
                let owner = merchants.firstIndex(where: { $0 == merchant })
            else { throw EngineError(.internalError, "seeding failed to list \(details.title)") }
            listed.append((goodsId, variantIds, owner))
        }
        for index in 0..<12 {
            clock.advance(seconds: 3_600)
            let customer = customers[Int(random.next() % UInt64(customers.count))]
            let (goodsId, variantIds, owner) = listed[index % listed.count]
            let variant = variantIds[Int(random.next() % UInt64(variantIds.count))]
            let items = [CartLine(goodsId: goodsId, quantity: 1 + Int(random.next() % 2), variantId: variant)]
            guard
                let orderId = try await shop.attempt(.placeOrder(items: items, deliveryMethodId: methods[owner]), as: customer)?.orderId
            else { continue }
            try await playOut(
                orderId, customer: customer, merchant: merchants[owner], shop: shop, clock: clock, spacing: 7_200, random: &random)
        }
        try await seedWaitlist(listed.last, merchants: merchants, customers: customers, shop: shop, clock: clock)
        try await seedPreOrders(listed.last, merchants: merchants, customers: customers, methods: methods, shop: shop, clock: clock)
        return listed.map(\.0)
    }

    /// The power bank's grey 20000mAh is counted out and taken as pre-orders (预售) against a shipment announced months
    /// ahead; a customer pre-orders one and pays: their order waits for the stock (a restock in the console fills it).
    private static func seedPreOrders(
        _ goods: (GoodsId, [VariantId], Int)?, merchants: [Actor], customers: [Actor], methods: [Int: DeliveryMethodId], shop: Seeding,
        clock: SeedClock
    ) async throws {
        guard let (goodsId, variantIds, owner) = goods, variantIds.count == 3, customers.count >= 5 else { return }
        let grey = variantIds[1]
        if let available = try shop.engine.goods(goodsId).variants[1...].first?.available, available > 0 {
            try await shop.run(.adjustStock(goodsId, delta: -available, reason: "盘点 stock count", variant: grey), as: merchants[owner])
        }
        let now = Instant(millisecondsSinceEpoch: clock.now().nanosecondsSinceEpoch / 1_000_000)
        try await shop.run(
            .openPreOrders(
                goodsId, variant: grey, cap: 30, endsAt: now.adding(seconds: 200 * 86_400), arrivesBy: now.adding(seconds: 300 * 86_400)),
            as: merchants[owner])
        clock.advance(seconds: 1_800)
        let items = [CartLine(goodsId: goodsId, quantity: 1, variantId: grey)]
        guard let orderId = try await shop.attempt(.placeOrder(items: items, deliveryMethodId: methods[owner]), as: customers[4])?.orderId
        else { return }
        try await pay(orderId, customer: customers[4], shop: shop, clock: clock)
    }

    /// Pays an order through the sandbox provider, as its signed callback would.
    @discardableResult
    private static func pay(_ orderId: OrderId, customer: Actor, shop: Seeding, clock: SeedClock) async throws -> Bool {
        let engine = shop.engine
        guard let paymentId = try await shop.attempt(.initiatePayment(orderId), as: customer)?.paymentId,
            let amount = try engine.paymentAmount(paymentId),
            let verifier = engine.configuration.paymentProviders["sandbox"]
        else { return false }
        let body = Array(
            try JSONEncoder().encode(
                ProviderNotification(
                    paymentId: paymentId.description, transactionId: "sbx_seed_\(paymentId)",
                    status: "succeeded", amount: amount)))
        let timestamp = clock.now().nanosecondsSinceEpoch / 1_000_000_000
        _ = try await engine.handleProviderCallback(
            provider: "sandbox", body: body, timestamp: timestamp,
            signature: verifier.sign(body: body, timestamp: timestamp), correlationId: engine.configuration.ids.next())
        return true
    }

    /// The power bank's blue 20000mAh sells out; three customers join its waitlist; a restock of two tells the first two
    /// (the third still waits, so the waitlist and its notifications both show).
    private static func seedWaitlist(
        _ goods: (GoodsId, [VariantId], Int)?, merchants: [Actor], customers: [Actor], shop: Seeding, clock: SeedClock
    ) async throws {
        guard let (goodsId, variantIds, owner) = goods, let blue = variantIds.last, customers.count >= 4 else { return }
        guard let available = try shop.engine.goods(goodsId).variants.last?.available, available > 0 else { return }
        try await shop.run(.adjustStock(goodsId, delta: -available, reason: "盘点 stock count", variant: blue), as: merchants[owner])
        for customer in customers.prefix(3) {
            clock.advance(seconds: 600)
            try await shop.run(.joinWaitlist(goodsId, variant: blue), as: customer)
        }
        clock.advance(seconds: 3_600)
        try await shop.run(.restock(goodsId, quantity: 2, variant: blue), as: merchants[owner])
    }

    /// Drives one order to a random end: most are paid, shipped and received;
    /// some are reviewed, refunded, cancelled or left to expire.
    private static func playOut(
        _ orderId: OrderId, customer: Actor, merchant: Actor, shop: Seeding, clock: SeedClock, spacing: Int64,
        random: inout SplitMix64
    ) async throws {
        let engine = shop.engine
        let roll = random.next() % 100
        if roll < 8 {
            clock.advance(seconds: engine.policy.orderExpirySeconds + 1)
            try await shop.attempt(.expireOrder(orderId), as: .system)
            return
        }
        if roll < 14 {
            try await shop.attempt(.cancelOrder(orderId, reason: "changed my mind"), as: customer)
            return
        }
        guard try await pay(orderId, customer: customer, shop: shop, clock: clock) else { return }
        guard roll >= 20 else { return }  // paid, not shipped yet
        clock.advance(seconds: spacing / 5)
        try await shop.attempt(
            .shipOrder(
                orderId, carrier: roll.isMultiple(of: 2) ? "SF Express 顺丰" : "JD Logistics 京东",
                trackingNumber: "SF\(100_000_000 + random.next() % 899_999_999)"), as: merchant)
        guard roll >= 28 else { return }  // in transit
        clock.advance(seconds: spacing / 4)
        try await shop.attempt(.confirmReceipt(orderId), as: customer)
        if roll >= 90 {
            try await shop.attempt(.requestRefund(orderId, reason: "arrived damaged"), as: customer)
            guard roll < 97 else { return }  // the merchant has not answered yet: the console's dashboard lists it
            try await shop.attempt(
                roll >= 94 ? .approveRefund(orderId) : .rejectRefund(orderId, reason: "photos do not show damage"), as: merchant)
        } else if roll >= 55, let detail = try? engine.order(orderId, for: customer) {
            for line in detail.lines {
                guard let goodsId = GoodsId(line.goodsId) else { continue }
                let rating = 3 + Int(random.next() % 3)
                guard
                    let reviewId = try await shop.attempt(
                        .postReview(
                            goodsId: goodsId, orderId: orderId, rating: rating,
                            text: ["很好 Great", "不错 Good value", "还行 OK", "Fast delivery 发货快"][Int(random.next() % 4)]), as: customer)?
                        .reviewId
                else { continue }
                try await moderate(reviewId, of: goodsId, rating: rating, merchant: merchant, shop: shop)
            }
        }
    }
}

extension DemoShop {
    /// The merchant moderates most reviews as they come (a few wait in the queue, one in twenty is rejected) and thanks
    /// the happiest buyers. Chosen from the review's id, so the seed's generator, and every order after, is as before.
    static func moderate(_ reviewId: ReviewId, of goodsId: GoodsId, rating: Int, merchant: Actor, shop: Seeding) async throws {
        guard shop.engine.policy.reviewsAwaitModeration else { return }
        let roll = FNV1a.hash(reviewId.description.utf8) % 20
        if roll < 3 { return }  // pending: the console's moderation queue lists it
        if roll == 3 {
            try await shop.attempt(
                .moderateReview(goodsId: goodsId, reviewId: reviewId, verdict: .reject, reason: "与商品无关 Not about the goods"), as: merchant)
            return
        }
        try await shop.attempt(.moderateReview(goodsId: goodsId, reviewId: reviewId, verdict: .approve), as: merchant)
        if rating == 5 {
            try await shop.attempt(
                .replyToReview(goodsId: goodsId, reviewId: reviewId, text: "感谢惠顾，欢迎再来！ Thank you, come again!"), as: merchant)
        }
    }
}

/// Runs a seed's typed commands, each with a fresh correlation id from the engine's (seeded) ids.
struct Seeding: Sendable {
    let engine: Engine

    @discardableResult
    func run(_ command: Command, as actor: Actor?) async throws -> CommandResult {
        try await engine.execute(command, context: CommandContext(actor: actor, correlationId: engine.configuration.ids.next())).result
    }

    /// A step a random history may find refused (the cart is empty, the coupon is used up): a refusal is
    /// part of the story and skipped; a failure of the engine itself is not.
    @discardableResult
    func attempt(_ command: Command, as actor: Actor?) async throws -> CommandResult? {
        do {
            return try await run(command, as: actor)
        } catch let error as EngineError where error.kind != .internalFailure {
            return nil
        }
    }
}
