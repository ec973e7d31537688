import Foundation
import Testing

@testable import Commerce

/// Promotions beside coupons: the price of a cart as a pure function of its lines and the promotions running, the one
/// stacking rule (best catalogue promotion per line, then the best order promotion, then one coupon), and budgets that
/// are spent with the order and never exceeded.
@Suite struct PromotionSpecs {
    static let money = Money.init(minorUnits:)

    /// A merchant with tea (¥20, category tea, brand 西湖) and cups (¥15, category cups), a buyer with 3 tea and 2 cups.
    func readyShop() throws -> (Shop, buyer: UserId, seller: UserId, tea: GoodsId, cup: GoodsId) {
        let shop = Shop()
        let seller = try shop.merchant()
        let buyer = try shop.shopper()
        let tea = try shop.list(by: seller, title: "龙井 Longjing", price: 2_000, stock: 50, category: "tea")
        let cup = try shop.list(by: seller, title: "Tea cup", price: 1_500, stock: 50, category: "cups")
        try shop.cartCommand(.add(tea, quantity: 3), owner: buyer)
        try shop.cartCommand(.add(cup, quantity: 2), owner: buyer)
        return (shop, buyer, seller, tea, cup)
    }

    @discardableResult
    func promote(
        _ shop: Shop, _ name: String, _ rule: PromotionRule, target: PromotionTarget = PromotionTarget(),
        budget: PromotionBudget = PromotionBudget(), by actor: Actor = .system, seconds: Int64 = 86_400
    ) throws(Rejection) -> PromotionId {
        let promotionId: PromotionId = shop.id()
        try shop.run(
            Promotions.self,
            .create(
                CreatePromotion(
                    promotionId: promotionId, name: name, rule: rule, target: target, budget: budget, validFrom: shop.now,
                    validUntil: shop.now.adding(seconds: seconds), at: shop.now)), by: actor)
        return promotionId
    }

    func placedEvent(_ decision: Decision, _ orderId: OrderId) throws -> OrderPlaced {
        guard case .order(.placed(let placed)) = decision.events(for: .order(orderId)).first else { throw Rejection(.orderNotFound, "") }
        return placed
    }

    // MARK: Pricing, one kind at a time

    static let lines = [
        OrderLine(
            goodsId: GoodsId(UUID()), merchantId: UserId(UUID()), title: "a", unitPrice: money(2_000), quantity: 3, lineTotal: money(6_000)),
        OrderLine(
            goodsId: GoodsId(UUID()), merchantId: UserId(UUID()), title: "b", unitPrice: money(1_500), quantity: 2, lineTotal: money(3_000)),
    ]

    static func live(
        _ rule: PromotionRule, name: String = "p", budget: PromotionBudget = PromotionBudget(), usage: PromotionState = .init()
    )
        -> LivePromotion
    {
        LivePromotion(
            terms: PromotionCreated(
                promotionId: PromotionId(UUID()), name: name, rule: rule, target: PromotionTarget(), budget: budget,
                validFrom: Instant(millisecondsSinceEpoch: 0), validUntil: Instant(millisecondsSinceEpoch: 10), merchantId: nil,
                createdBy: "system", at: Instant(millisecondsSinceEpoch: 0)), usage: usage)
    }

    static func amounts(_ promotions: [LivePromotion]) -> [[Int64]] {
        PromotionPricing.apply(to: lines, goods: [:], promotions: promotions).map { $0.lines.map(\.minorUnits) }
    }

    @Test func eachKindTakesOffWhatItSays() {
        #expect(Self.amounts([Self.live(.percentOff(10))]) == [[600, 300]])
        // ¥5 off each unit; never more than a unit's price.
        #expect(Self.amounts([Self.live(.amountOff(Self.money(500)))]) == [[1_500, 1_000]])
        #expect(Self.amounts([Self.live(.amountOff(Self.money(1_800)))]) == [[5_400, 3_000]])
        // ¥50 off every ¥30 (¥90 reached three times), shared by line totals.
        let every = PromotionTier(threshold: Self.money(3_000), amountOff: Self.money(500), repeating: true)
        #expect(Self.amounts([Self.live(.spendAndSave([every]))]) == [[1_000, 500]])
        // Tiers: the highest reached applies (¥80 → 10%; ¥100 not reached).
        let tiers = [
            PromotionTier(threshold: Self.money(5_000), amountOff: Self.money(300)),
            PromotionTier(threshold: Self.money(8_000), percent: 10),
            PromotionTier(threshold: Self.money(10_000), percent: 20),
        ]
        #expect(Self.amounts([Self.live(.spendAndSave(tiers))]) == [[600, 300]])
        #expect(Self.amounts([Self.live(.spendAndSave([PromotionTier(threshold: Self.money(9_001), amountOff: Self.money(100))]))]) == [])
        // Buy 2 get 1: five units dearest first 20 20 20 15 15; the third of the first group (a ¥20) is free, the second
        // group is not complete.
        #expect(Self.amounts([Self.live(.buyXGetY(buy: 2, get: 1))]) == [[2_000, 0]])
        #expect(Self.amounts([Self.live(.buyXGetY(buy: 1, get: 1))]) == [[2_000, 1_500]])
    }

    @Test func aLineTakesItsBestCatalogueOfferThenTheOrderTakesItsBestOfferOnWhatIsLeft() {
        let percent = Self.live(.percentOff(10), name: "ten")
        let perUnit = Self.live(.amountOff(Self.money(250)), name: "unit")
        let applied = PromotionPricing.apply(to: Self.lines, goods: [:], promotions: [percent, perUnit])
        // ¥2.50 a unit: ¥7.50 on the first line (beats 10%: ¥6), ¥5 on the second (beats ¥3).
        #expect(applied.map(\.name) == ["unit"])
        #expect(applied[0].lines.map(\.minorUnits) == [750, 500])
        // Then one order promotion on what is left (¥90 − ¥12.50 = ¥77.50): ¥10 off above ¥70 beats ¥5 off above ¥50.
        let small = Self.live(.spendAndSave([PromotionTier(threshold: Self.money(5_000), amountOff: Self.money(500))]), name: "small")
        let big = Self.live(.spendAndSave([PromotionTier(threshold: Self.money(7_000), amountOff: Self.money(1_000))]), name: "big")
        let stacked = PromotionPricing.apply(to: Self.lines, goods: [:], promotions: [percent, perUnit, small, big])
        #expect(stacked.map(\.name) == ["unit", "big"])
        #expect(stacked.map(\.amount.minorUnits) == [1_250, 1_000])
        // Above ¥80 would have been reached before the catalogue promotion, not after: it does not apply.
        let high = Self.live(.spendAndSave([PromotionTier(threshold: Self.money(8_000), amountOff: Self.money(3_000))]), name: "high")
        #expect(PromotionPricing.apply(to: Self.lines, goods: [:], promotions: [perUnit, high]).map(\.name) == ["unit"])
    }

    @Test func aPromotionItsBudgetCannotCoverDoesNotApplyAndTheNextBestDoes() {
        let spent = PromotionState().evolve(
            .applied(PromotionApplied(orderId: OrderId(UUID()), amount: Self.money(9_000), at: .init(millisecondsSinceEpoch: 0))))
        let nearlySpent = Self.live(.percentOff(20), name: "twenty", budget: PromotionBudget(discountMax: Self.money(10_000)), usage: spent)
        let fallback = Self.live(.percentOff(5), name: "five")
        // 20% would take ¥18 with ¥10 left: not applied, never split; the 5% applies instead.
        let applied = PromotionPricing.apply(to: Self.lines, goods: [:], promotions: [nearlySpent, fallback])
        #expect(applied.map(\.name) == ["five"])
        let usedUp = Self.live(.buyXGetY(buy: 1, get: 1), name: "once", budget: PromotionBudget(usesMax: 1), usage: spent)
        #expect(PromotionPricing.apply(to: Self.lines, goods: [:], promotions: [usedUp]).isEmpty)
        #expect(!spent.admits(1_001, within: PromotionBudget(discountMax: Self.money(10_000))))
        #expect(spent.admits(1_000, within: PromotionBudget(discountMax: Self.money(10_000))))
    }

    // MARK: Making and ending promotions

    @Test func adminsRunShopWidePromotionsAndMerchantsTheirOwn() throws {
        let (shop, _, seller, _, _) = try readyShop()
        let shopWide = try promote(shop, "双十一", .percentOff(10))
        let own = try promote(shop, "店庆", .amountOff(Self.money(100)), by: shop.customer(seller))
        let directory: PromotionDirectoryState = shop.state(.promotions)
        #expect(directory.promotions[shopWide]?.merchantId == nil)
        #expect(directory.promotions[own]?.merchantId == seller)
        let live = Set(directory.live(at: shop.now).map(\.promotionId))
        #expect(live == [shopWide, own])
    }

    @Test func makingAPromotionIsRefusedWhereItMustBe() throws {
        let (shop, buyer, seller, _, _) = try readyShop()
        expectRejection(.forbidden, in: shop) { try promote(shop, "x", .percentOff(10), by: shop.customer(buyer)) }
        expectRejection(.invalidInput, in: shop) { try promote(shop, "", .percentOff(10)) }
        expectRejection(.invalidInput, in: shop) { try promote(shop, "x", .percentOff(0)) }
        expectRejection(.invalidInput, in: shop) { try promote(shop, "x", .percentOff(101)) }
        expectRejection(.invalidInput, in: shop) { try promote(shop, "x", .amountOff(.zero)) }
        expectRejection(.invalidInput, in: shop) { try promote(shop, "x", .spendAndSave([])) }
        expectRejection(.invalidInput, in: shop) {
            try promote(
                shop, "x",
                .spendAndSave([
                    PromotionTier(threshold: Self.money(500), amountOff: Self.money(50)),
                    PromotionTier(threshold: Self.money(300), amountOff: Self.money(20)),
                ]))
        }
        expectRejection(.invalidInput, in: shop) {
            try promote(shop, "x", .spendAndSave([PromotionTier(threshold: Self.money(500), amountOff: Self.money(50), percent: 10)]))
        }
        expectRejection(.invalidInput, in: shop) {
            try promote(shop, "x", .spendAndSave([PromotionTier(threshold: Self.money(500), percent: 10, repeating: true)]))
        }
        expectRejection(.invalidInput, in: shop) { try promote(shop, "x", .buyXGetY(buy: 0, get: 1)) }
        expectRejection(.invalidInput, in: shop) { try promote(shop, "x", .percentOff(10), budget: PromotionBudget(usesMax: 0)) }
        expectRejection(.invalidInput, in: shop) { try promote(shop, "x", .percentOff(10), budget: PromotionBudget(discountMax: .zero)) }
        expectRejection(.invalidInput, in: shop) { try promote(shop, "x", .percentOff(10), seconds: 0) }
        let promotionId = try promote(shop, "x", .percentOff(10))
        expectRejection(.promotionExists, in: shop) {
            try shop.run(
                Promotions.self,
                .create(
                    CreatePromotion(
                        promotionId: promotionId, name: "again", rule: .percentOff(5), validFrom: shop.now,
                        validUntil: shop.now.adding(seconds: 60), at: shop.now)), by: .system)
        }
        // Ending: only an admin or the merchant who made it, once.
        let own = try promote(shop, "店庆", .percentOff(5), by: shop.customer(seller))
        let rival = try shop.merchant()
        expectRejection(.forbidden, in: shop) { try shop.run(Promotions.self, .end(own, reason: ""), by: shop.customer(rival)) }
        expectRejection(.forbidden, in: shop) { try shop.run(Promotions.self, .end(promotionId, reason: ""), by: shop.customer(seller)) }
        expectRejection(.promotionNotFound, in: shop) { try shop.run(Promotions.self, .end(shop.id(), reason: ""), by: .system) }
        try shop.run(Promotions.self, .end(own, reason: "售罄"), by: shop.customer(seller))
        expectRejection(.promotionEnded, in: shop) { try shop.run(Promotions.self, .end(own, reason: ""), by: .system) }
        // At most `pendingMax` promotions run or wait at once.
        for index in 0..<(Promotions.pendingMax - 1) { try promote(shop, "p\(index)", .percentOff(1)) }
        expectRejection(.promotionLimitReached, in: shop) { try promote(shop, "one too many", .percentOff(1)) }
    }

    // MARK: Checkout

    @Test func anOrderGetsItsPromotionsAndSpendsTheirBudgetInTheSameDecision() throws {
        let (shop, buyer, _, tea, _) = try readyShop()
        let teaOnly = try promote(
            shop, "龙井九折", .percentOff(10), target: PromotionTarget(categories: ["tea"]), budget: PromotionBudget(usesMax: 1))
        let every = try promote(
            shop, "每满50减5", .spendAndSave([PromotionTier(threshold: Self.money(5_000), amountOff: Self.money(500), repeating: true)]))
        try shop.createCoupon(code: "TEN", kind: .fixed, value: 1_000, minimumSpend: 7_000)
        try shop.applyCoupon("TEN", owner: buyer)
        let (orderId, decision) = try shop.decidePlaceOrder(buyer: buyer)
        #expect(
            eventTypes(decision) == [
                "order:OrderPlaced", "order:PromotionsApplied", "promotion:PromotionApplied", "goods:StockReserved", "goods:StockReserved",
                "coupon:CouponRedeemed", "cart:CartCheckedOut",
            ])
        let placed = try placedEvent(decision, orderId)
        // ¥90: tea 10% off (¥6) → ¥84, which holds ¥50 once (¥5) → ¥79, above the coupon's ¥70: ¥10 → ¥69.
        #expect(placed.subtotal == Self.money(9_000))
        #expect(placed.discount == Self.money(600 + 500 + 1_000))
        #expect(placed.total == Self.money(6_900))
        shop.commit(decision)
        let order = shop.order(orderId)
        #expect(order.promotions.map(\.promotionId) == [teaOnly, every])
        // The ¥5 shared by what is left of each line (¥54, ¥30).
        #expect(order.promotionDiscountByLine == [600 + 321, 179])
        let usage: PromotionState = shop.state(.promotion(teaOnly))
        #expect(usage.uses == 1 && usage.spent == Self.money(600))
        // Budgetless promotions are not written to (no hot stream for every order).
        #expect(shop.events(.promotion(every)).isEmpty)
        // Its one use is spent: the next order gets only the spend-and-save.
        try shop.cartCommand(.add(tea, quantity: 3), owner: buyer)
        let (nextId, next) = try shop.decidePlaceOrder(buyer: buyer)
        #expect(try placedEvent(next, nextId).discount == Self.money(500))
        #expect(!eventTypes(next).contains("promotion:PromotionApplied"))
        // Cancelling the first order gives its use back.
        let cancelled = try shop.orderCommand(.cancel(reason: "changed my mind"), orderId, by: shop.customer(buyer))
        #expect(eventTypes(cancelled).contains("promotion:PromotionReleased"))
        #expect(shop.state(.promotion(teaOnly), as: PromotionState.self).uses == 0)
    }

    @Test func aMerchantsPromotionCoversOnlyTheirGoodsAndEndedOnesNothing() throws {
        let (shop, buyer, seller, _, _) = try readyShop()
        let rival = try shop.merchant()
        let rivals = try shop.list(by: rival, title: "Rival tea", price: 1_000, stock: 5)
        try shop.cartCommand(.add(rivals, quantity: 1), owner: buyer)
        let own = try promote(shop, "店庆", .percentOff(50), by: shop.customer(seller))
        let (orderId, decision) = try shop.decidePlaceOrder(buyer: buyer)
        #expect(try placedEvent(decision, orderId).discount == Self.money(4_500))
        try shop.run(Promotions.self, .end(own, reason: ""), by: .system)
        let (laterId, later) = try shop.decidePlaceOrder(buyer: buyer)
        #expect(try placedEvent(later, laterId).discount == .zero)
    }

    @Test func aReturnOfAPromotedLineRefundsWhatItsUnitsCostAfterThePromotion() throws {
        let (shop, buyer, _, _, _) = try readyShop()
        try promote(shop, "龙井九折", .percentOff(10), target: PromotionTarget(categories: ["tea"]))
        let (orderId, decision) = try shop.decidePlaceOrder(buyer: buyer)
        shop.commit(decision)
        let order = shop.order(orderId)
        // Tea: ¥60 less ¥6 → ¥54 for 3, ¥18 a unit; a cup ¥15 (no promotion on it).
        #expect(AfterSales.refund(of: [AfterSaleLine(line: 0, quantity: 1)], order: order).amount == 1_800)
        #expect(AfterSales.refund(of: [AfterSaleLine(line: 1, quantity: 1)], order: order).amount == 1_500)
        #expect(
            AfterSales.refund(of: [AfterSaleLine(line: 0, quantity: 3), AfterSaleLine(line: 1, quantity: 2)], order: order).amount == 8_400)
    }
}
