import Foundation
import Testing

@testable import Commerce

/// SplitMix64: small, fast and deterministic, so a seed replays a run exactly.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T? { items.isEmpty ? nil : items[below(items.count)] }
}

/// A whole shop driven by random commands. Decisions are appended with
/// optimistic concurrency (the versions the states were read at), so
/// contention behaves as it will in the engine: a stale decision conflicts
/// and is decided again on fresh states.
final class ShopSimulation {
    let seed: UInt64
    let shop = Shop()
    var random: SeededRandom
    var merchants: [UserId] = []
    var customers: [UserId] = []
    var goods: [GoodsId] = []
    var coupons: [String] = []
    var orders: [OrderId] = []
    var payments: [PaymentId] = []
    var afterSales: [AfterSaleId] = []
    var promotions: [PromotionId] = []
    var accepted = 0
    var rejected = 0
    var conflicts = 0
    var step = 0

    static let usersCount = 12
    static let goodsCount = 8
    static let retriesMax = 20

    init(seed: UInt64) {
        self.seed = seed
        random = SeededRandom(seed: seed)
    }

    func setUp() throws {
        for index in 0..<2 { merchants.append(try shop.register(email: "m\(index)@s\(seed).test", role: .merchant)) }
        for index in 0..<Self.usersCount { customers.append(try shop.shopper("c\(index)@s\(seed).test")) }
        for index in 0..<Self.goodsCount {
            let merchant = merchants[random.below(merchants.count)]
            guard index % 2 == 1 else {
                goods.append(
                    try shop.list(
                        by: merchant, price: Int64(100 + random.below(5_000)), stock: random.below(12), threshold: random.below(4)))
                continue
            }
            // Every other goods in two to four sizes, each with its own price and stock.
            let goodsId: GoodsId = shop.id()
            let variants = (0..<(2 + random.below(3))).map { size in
                NewVariant(
                    size == 0 ? goodsId.defaultVariant : shop.id(),
                    VariantTerms(
                        sku: "S\(seed)-\(index)-\(size)", values: ["size \(size)"],
                        price: Money(minorUnits: Int64(100 + random.below(5_000))),
                        stock: random.below(8), lowStockThreshold: random.below(3)))
            }
            try shop.goodsCommand(
                .listVariants(
                    goodsId, GoodsDetails(title: "Shirt \(index)", category: "clothing"), options: ["尺码"], variants: variants,
                    attributes: []),
                on: goodsId, by: shop.customer(merchant))
            goods.append(goodsId)
        }
        for index in 0..<3 {
            let code = "SIM\(index)"
            try shop.createCoupon(
                code: code, kind: index == 0 ? .fixed : .percent, value: index == 0 ? 300 : Int64(5 + random.below(30)),
                minimumSpend: Int64(random.below(3_000)), totalLimit: 1 + random.below(6), perUserLimit: 1 + random.below(2),
                validSeconds: 30 * 86_400)
            coupons.append(code)
        }
        // Promotions with small budgets, so that orders race for the last of them.
        let rules: [(PromotionRule, PromotionTarget, PromotionBudget)] = [
            (.percentOff(10), PromotionTarget(categories: ["clothing"]), PromotionBudget(usesMax: 1 + random.below(5))),
            (
                .spendAndSave([PromotionTier(threshold: Money(minorUnits: 2_000), amountOff: Money(minorUnits: 300), repeating: true)]),
                PromotionTarget(), PromotionBudget(discountMax: Money(minorUnits: Int64(600 + random.below(2_000))))
            ),
            (.buyXGetY(buy: 2, get: 1), PromotionTarget(), PromotionBudget(discountMax: Money(minorUnits: 8_000), usesMax: 4)),
        ]
        for (index, (rule, target, budget)) in rules.enumerated() {
            let promotionId: PromotionId = shop.id()
            try shop.run(
                Promotions.self,
                .create(
                    CreatePromotion(
                        promotionId: promotionId, name: "sim \(index)", rule: rule, target: target, budget: budget, validFrom: shop.now,
                        validUntil: shop.now.adding(seconds: 30 * 86_400), at: shop.now)), by: .system)
            promotions.append(promotionId)
        }
    }

    /// Appends only if every written stream is still at the version it was read at.
    func commit(_ decision: Decision, readAt versions: [StreamId: Int]) -> Bool {
        for change in decision.changes where shop.events(change.stream).count != versions[change.stream, default: 0] { return false }
        shop.commit(decision)
        return true
    }

    func versions(_ decision: Decision) -> [StreamId: Int] {
        Dictionary(uniqueKeysWithValues: decision.changes.map { ($0.stream, shop.events($0.stream).count) })
    }

    /// Runs one random command; rejections are counted, never appended.
    func runStep() throws {
        step += 1
        do {
            try randomCommand()
            accepted += 1
        } catch let rejection as Rejection {
            _ = rejection
            rejected += 1
        }
        if random.chance(20) { shop.advance(seconds: Int64(random.below(900))) }
    }

    private func randomCommand() throws {
        guard let buyer = random.pick(customers), let item = random.pick(goods) else { return }
        let me = shop.customer(buyer)
        switch random.below(100) {
        case 0..<8: try afterSaleStep()
        case 8..<19: try shop.cartCommand(.add(item, quantity: 1 + random.below(3), variant: variant(of: item)), owner: buyer)
        case 19..<22: try preOrderStep(item)
        case 22..<26: if let code = random.pick(coupons) { try shop.applyCoupon(code, owner: buyer) }
        case 26..<40: try placeWithRetry(buyer: buyer, pointsToUse: random.chance(30) ? Int64(random.below(200)) : 0)
        case 40..<50: try pay(randomOrder(), transaction: random.chance(15) ? "dup" : nil, succeed: random.chance(85))
        case 50..<57: try shop.orderCommand(.ship(carrier: "SF", trackingNumber: "SF\(step)"), randomOrder(), by: merchantOf(randomOrder()))
        case 57..<63: let order = randomOrder(); try shop.orderCommand(.confirmReceipt, order, by: buyerOf(order))
        case 63..<68: let order = randomOrder(); try shop.orderCommand(.cancel(reason: "sim"), order, by: buyerOf(order))
        case 68..<72:
            shop.advance(seconds: shop.policy.orderExpirySeconds / 2)
            try shop.orderCommand(.expire, randomOrder(), by: .system)
        case 72..<76: let order = randomOrder(); try shop.orderCommand(.requestRefund(reason: "sim"), order, by: buyerOf(order))
        case 76..<80:
            let order = randomOrder()
            try shop.orderCommand(random.chance(60) ? .approveRefund : .rejectRefund(reason: "no"), order, by: merchantOf(order))
        case 80..<84:
            try shop.goodsCommand(.restock(1 + random.below(10), variant: variant(of: item)), on: item, by: shop.customer(owner(of: item)))
        case 84..<87:
            try shop.goodsCommand(
                .adjustStock(delta: random.below(7) - 4, reason: "count", variant: variant(of: item)), on: item,
                by: shop.customer(owner(of: item)))
        case 87..<89:
            let command: GoodsCommand
            if shop.goods(item).variants.count > 1, random.chance(50), let size = variant(of: item) {
                command = random.chance(50) ? .delistVariant(size) : .relistVariant(size)
            } else {
                command = random.chance(50) ? .delist : .relist
            }
            try shop.goodsCommand(command, on: item, by: shop.customer(owner(of: item)))
        case 89..<91:
            try shop.goodsCommand(
                .changePrice(Money(minorUnits: Int64(100 + random.below(5_000))), variant: variant(of: item)), on: item,
                by: shop.customer(owner(of: item)))
        case 91..<92:
            shop.commit(
                try Points.redeem(
                    Int64(1 + random.below(50)), reason: "gift", actor: me, owner: buyer, state: shop.points(buyer), at: shop.now))
        case 92..<94: try reviewStep()
        case 94..<95:
            let command: WaitlistCommand = random.chance(80) ? .join(variant: variant(of: item)) : .leave(variant: variant(of: item))
            try shop.run(Catalog.self, .waitlist(item, command), by: me)
        case 95..<96: try shop.cartCommand(.clear, owner: buyer)
        default: try flashSale(item)
        }
    }

    /// A buyer reviews goods of a received order, or a review is moderated, answered or edited (by whoever: a wrong
    /// caller is refused).
    func reviewStep() throws {
        // A paid or shipped order is first driven to receipt (the random steps rarely get one there).
        let reviewable = orders.filter { [.paid, .shipped, .received].contains(shop.order($0).status) }
        if random.chance(30), let order = random.pick(reviewable), let placed = shop.order(order).placed,
            let line = random.pick(placed.lines)
        {
            if shop.order(order).status == .paid {
                _ = try? shop.orderCommand(.ship(carrier: "SF", trackingNumber: "R\(step)"), order, by: merchantOf(order))
            }
            if shop.order(order).status == .shipped { _ = try? shop.orderCommand(.confirmReceipt, order, by: buyerOf(order)) }
            try shop.review(line.goodsId, order: order, rating: 1 + random.below(5), by: shop.customer(placed.userId))
            return
        }
        guard let item = random.pick(goods.filter { !shop.goods($0).reviews.isEmpty }), let review = random.pick(shop.goods(item).reviews)
        else { return }
        let merchant = shop.customer(owner(of: item))
        let command: ReviewCommand
        let caller: Actor
        switch random.below(4) {
        case 0: (command, caller) = (.moderate(.approve, reason: ""), merchant)
        case 1: (command, caller) = (.moderate(random.chance(50) ? .reject : .flag, reason: "sim"), merchant)
        case 2: (command, caller) = (.reply(text: "谢谢"), merchant)
        default: (command, caller) = (.edit(rating: 1 + random.below(5), text: "改"), shop.customer(review.userId))
        }
        try shop.run(Catalog.self, .reviewAction(item, review.reviewId, command), by: random.chance(90) ? caller : shop.customer(buyers()))
    }

    /// A buyer asks about units of a received order (a return or a claim), or the merchant answers one: approves,
    /// rejects, records what came back (some damaged), ships a replacement; the buyer pays what a dearer exchange owes
    /// (some payments fail, some are paid twice), or the merchant refunds an exchange instead. Sometimes by the wrong caller.
    func afterSaleStep() throws {
        let received = orders.filter { [.paid, .shipped, .received].contains(shop.order($0).status) }
        if random.chance(50) || afterSales.isEmpty {
            guard let order = random.pick(received), let placed = shop.order(order).placed else { return }
            // Driven to receipt first (the random steps rarely get an order there; an admin ships a two-merchant order).
            if shop.order(order).status == .paid {
                _ = try? shop.orderCommand(.ship(carrier: "SF", trackingNumber: "A\(step)"), order, by: .user(merchants[0], .admin))
            }
            if shop.order(order).status == .shipped { _ = try? shop.orderCommand(.confirmReceipt, order, by: buyerOf(order)) }
            let line = random.below(placed.lines.count)
            let kind = random.pick(AfterSaleKind.allCases) ?? .return
            let resolution: AfterSaleResolution = kind == .exchange || (kind == .claim && random.chance(50)) ? .replace : .refund
            // An exchange asks for another size of the goods (a dearer one is paid for before it ships), or the same one.
            let sizes = shop.goods(placed.lines[line].goodsId).variants.map(\.variantId)
            let replacement = kind == .exchange ? random.pick(sizes) : nil
            let id: AfterSaleId = shop.id()
            try shop.run(
                AfterSales.self,
                AfterSales.Command(
                    id,
                    .request(
                        orderId: order, kind: kind, resolution: resolution,
                        lines: [
                            AfterSaleLine(line: line, quantity: 1 + random.below(placed.lines[line].quantity), replacement: replacement)
                        ],
                        reason: "sim")),
                by: random.chance(95) ? shop.customer(placed.userId) : shop.customer(buyers()))
            afterSales.append(id)
            return
        }
        guard let id = random.pick(afterSales), let requested = shop.state(.afterSale(id), as: AfterSaleState.self).requested else {
            return
        }
        let command: AfterSaleCommand
        // Mostly the request's next step (approve, receive, pay, ship), so requests get to the end; else any step.
        let state = shop.state(.afterSale(id), as: AfterSaleState.self)
        var choice = random.below(6)
        if random.chance(70) {
            switch state.status {
            case .requested: choice = 0
            case .approved where state.owed != nil: choice = 4
            case .approved where state.returned.isEmpty && requested.kind != .claim: choice = 2
            case .approved: choice = 3
            default: break
            }
        }
        switch choice {
        case 4:
            let paymentId = try shop.initiatePayment(requested.orderId, by: buyerOf(requested.orderId), afterSaleId: id)
            payments.append(paymentId)
            try shop.callback(paymentId, transaction: "tx-\(step)", succeeded: random.chance(80))
            return
        case 5: command = .refundExchange
        case 0: command = .approve
        case 1: command = .reject(reason: "sim")
        case 2:
            let asked = requested.lines.map { line in
                let received = random.below(line.quantity + 1)
                return ReturnedLine(line: line.line, received: received, damaged: random.below(received + 1))
            }
            command = .receive(asked)
        default: command = .shipReplacement(carrier: "SF", trackingNumber: "R\(step)")
        }
        try shop.run(
            AfterSales.self, AfterSales.Command(id, command),
            by: random.chance(90) ? merchantOf(requested.orderId) : shop.customer(buyers()))
    }

    func buyers() -> UserId { random.pick(customers) ?? merchants[0] }
    var reviews: Int { goods.reduce(0) { $0 + shop.goods($1).reviews.count } }
    var approvedReviews: Int { goods.reduce(0) { $0 + shop.goods($1).ratingCount } }

    /// Many buyers decide PlaceOrder from the same moment, then race to append.
    /// A merchant opens or calls off a variant's pre-orders, or the expiry process cancels an order whose pre-ordered
    /// stock did not come (called off, or past the arrival date).
    func preOrderStep(_ item: GoodsId) throws {
        let merchant = shop.customer(owner(of: item))
        switch random.below(10) {
        case 0..<5:
            let endsAt = shop.now.adding(seconds: Int64(1 + random.below(24 * 3600)))
            let command = PreOrderCommand.open(
                variant: variant(of: item), cap: 1 + random.below(20), endsAt: endsAt,
                arrivesBy: endsAt.adding(seconds: Int64(random.below(86_400))))
            try shop.goodsCommand(.preOrders(command), on: item, by: merchant)
        case 5..<7:
            try shop.goodsCommand(.preOrders(.cancel(variant: variant(of: item), reason: "停产 discontinued")), on: item, by: merchant)
        default:
            for goodsId in goods {
                for variant in shop.goods(goodsId).variants {
                    guard let terms = variant.preOrder, terms.isCancelled || terms.arrivesBy <= shop.now,
                        let first = variant.preOrders.first
                    else { continue }
                    try shop.orderCommand(.cancel(reason: "the pre-ordered stock did not come"), first.orderId, by: .system)
                    return
                }
            }
        }
    }

    func flashSale(_ item: GoodsId) throws {
        let crowd = customers.filter { _ in random.chance(60) }
        var pending: [(UserId, OrderId, Decision, [StreamId: Int])] = []
        for buyer in crowd {
            _ = try? shop.cartCommand(.clear, owner: buyer)
            guard (try? shop.cartCommand(.add(item, quantity: 1 + random.below(2), variant: variant(of: item)), owner: buyer)) != nil,
                let (orderId, decision) = try? shop.decidePlaceOrder(buyer: buyer)
            else { continue }
            pending.append((buyer, orderId, decision, versions(decision)))
        }
        for (buyer, orderId, decision, versions) in pending.shuffled(using: &random) {
            if commit(decision, readAt: versions) {
                orders.append(orderId)
            } else {
                conflicts += 1
                try? placeWithRetry(buyer: buyer)
            }
        }
    }

    func placeWithRetry(buyer: UserId, pointsToUse: Int64 = 0) throws {
        for _ in 0..<Self.retriesMax {
            let (orderId, decision) = try shop.decidePlaceOrder(buyer: buyer, pointsToUse: pointsToUse)
            if commit(decision, readAt: versions(decision)) {
                orders.append(orderId)
                return
            }
            conflicts += 1
        }
    }

    func pay(_ orderId: OrderId, transaction: String?, succeed: Bool) throws {
        let paymentId = try shop.initiatePayment(orderId, by: buyerOf(orderId))
        payments.append(paymentId)
        let tx = transaction.map { "\($0)-\(paymentId)" } ?? "tx-\(step)"
        try shop.callback(paymentId, transaction: tx, succeeded: succeed)
        if transaction != nil { try shop.callback(paymentId, transaction: tx, succeeded: succeed) }  // a repeated delivery
    }

    func randomOrder() -> OrderId { random.pick(orders) ?? shop.id() }
    func buyerOf(_ order: OrderId) -> Actor { shop.order(order).placed.map { shop.customer($0.userId) } ?? .system }
    func merchantOf(_ order: OrderId) -> Actor {
        shop.order(order).placed?.lines.first.map { shop.customer($0.merchantId) } ?? .paymentProvider("none")
    }
    func owner(of item: GoodsId) -> UserId { shop.goods(item).merchantId ?? merchants[0] }
    /// One of the goods' variants at random; nil (the only one) for a plain goods, and now and then for any (refused
    /// then as `variant_required`).
    func variant(of item: GoodsId) -> VariantId? {
        let variants = shop.goods(item).variants
        guard variants.count > 1, !random.chance(5) else { return nil }
        return random.pick(variants)?.variantId
    }

    // MARK: Invariants

    /// Every invariant of the shop, computed from the events; returns the broken ones.
    func brokenInvariants() -> [String] {
        var broken: [String] = []
        var reservedByOrders: [VariantId: Int] = [:]
        var awaitedByOrders: [VariantId: Int] = [:]
        var heldMoney: Int64 = 0
        var couponUses: [CouponId: Int] = [:]
        var promotionSpent: [PromotionId: Int64] = [:]
        var promotionUses: [PromotionId: Int] = [:]
        for orderId in Set(orders) {
            let order = shop.order(orderId)
            guard let placed = order.placed else { continue }
            for line in placed.lines {
                let variant = line.variantId ?? line.goodsId.defaultVariant
                // A queued pre-order's units are claimed against incoming stock, not reserved.
                if shop.goods(line.goodsId).variant(variant)?.awaits(orderId) == true {
                    awaitedByOrders[variant, default: 0] += line.quantity
                    if !order.status.holdsReservation { broken.append("order \(orderId) is \(order.status) but still queued for stock") }
                } else if order.status.holdsReservation {
                    reservedByOrders[variant, default: 0] += line.quantity
                }
            }
            // What after-sale requests refunded is no longer held; never more than was paid, no unit settled twice.
            let afterSales = order.afterSales
            if order.status.holdsPayment {
                heldMoney += order.paidAmount.minorUnits - afterSales.refundedAmount.minorUnits + afterSales.differencesAmount.minorUnits
            }
            // A dearer exchange's replacement never ships unpaid.
            for id in afterSales.ids {
                let afterSale = shop.state(.afterSale(id), as: AfterSaleState.self)
                if afterSale.status == .replaced, afterSale.due != nil, afterSale.paid == nil {
                    broken.append("after-sale \(id): the replacement shipped with \(afterSale.due ?? .zero) unpaid")
                }
            }
            if afterSales.refundedAmount.minorUnits > order.paidAmount.minorUnits || afterSales.refundedAmount.minorUnits < 0 {
                broken.append("order \(orderId): \(afterSales.refundedAmount) refunded of \(order.paidAmount) paid")
            }
            for (index, line) in placed.lines.enumerated() where afterSales.held(index) > line.quantity {
                broken.append("order \(orderId) line \(index): \(afterSales.held(index)) of \(line.quantity) units asked about or settled")
            }
            if afterSales.refundedPoints > placed.pointsUsed { broken.append("order \(orderId): more points back than used") }
            if let coupon = placed.couponId, order.status != .cancelled, order.status != .expired { couponUses[coupon, default: 0] += 1 }
            let discounted = order.promotions.reduce(0) { $0 + $1.amount.minorUnits }
            if discounted > placed.discount.minorUnits { broken.append("order \(orderId): promotions took more than its discount") }
            for discount in order.promotions where discount.budgeted && order.status != .cancelled && order.status != .expired {
                promotionSpent[discount.promotionId, default: 0] += discount.amount.minorUnits
                promotionUses[discount.promotionId, default: 0] += 1
            }
        }
        for item in goods {
            // Per variant: stock on hand ≥ 0, reserved ≤ on hand, and reserved = what open orders hold of it.
            for variant in shop.goods(item).variants {
                if variant.onHand < 0 || variant.reserved < 0 || variant.reserved > variant.onHand {
                    broken.append("goods \(item) variant \(variant.sku): on hand \(variant.onHand), reserved \(variant.reserved)")
                }
                if variant.awaitingUnits != awaitedByOrders[variant.variantId, default: 0] {
                    broken.append(
                        "goods \(item) variant \(variant.sku): \(variant.awaitingUnits) units queued, orders wait for \(awaitedByOrders[variant.variantId, default: 0])"
                    )
                }
                if variant.reserved != reservedByOrders[variant.variantId, default: 0] {
                    broken.append(
                        "goods \(item) variant \(variant.sku): reserved \(variant.reserved) but open orders hold \(reservedByOrders[variant.variantId, default: 0])"
                    )
                }
            }
        }
        for customer in customers {
            let events = shop.events(.points(customer))
            var balance: Int64 = 0
            for event in events {
                guard case .points(let change) = event else { continue }
                switch change {
                case .earned(let e): balance += e.points
                case .redeemed(let e): balance -= e.points
                case .refunded(let e): balance += e.points
                case .revoked(let e): balance -= e.points
                case .exchanged(let e): balance -= e.points
                }
                if balance < 0 { broken.append("points of \(customer) went negative") }
            }
            if balance != shop.points(customer).balance {
                broken.append("points of \(customer): ledger \(balance), state \(shop.points(customer).balance)")
            }
        }
        for code in coupons {
            let holder: CouponCodeState = shop.state(.couponCode(code))
            guard let couponId = holder.couponId else { continue }
            let coupon: CouponState = shop.state(.coupon(couponId))
            guard let terms = coupon.terms else { continue }
            if coupon.redemptions > terms.totalLimit {
                broken.append("coupon \(code): \(coupon.redemptions) uses over \(terms.totalLimit)")
            }
            if coupon.redemptionsByUser.values.contains(where: { $0 > terms.perUserLimit || $0 < 0 }) {
                broken.append("coupon \(code): a user over the limit")
            }
            if coupon.redemptions != couponUses[couponId, default: 0] {
                broken.append("coupon \(code): \(coupon.redemptions) redemptions, \(couponUses[couponId, default: 0]) orders hold it")
            }
        }
        // Budgets are never exceeded, and what they show spent is what open orders hold of them.
        let directory: PromotionDirectoryState = shop.state(.promotions)
        for promotionId in promotions {
            guard let budget = directory.promotions[promotionId]?.budget else { continue }
            let usage: PromotionState = shop.state(.promotion(promotionId))
            if let most = budget.discountMax, usage.spent > most {
                broken.append("promotion \(promotionId): \(usage.spent) given of \(most)")
            }
            if let most = budget.usesMax, usage.uses > most { broken.append("promotion \(promotionId): \(usage.uses) uses of \(most)") }
            if usage.spent.minorUnits != promotionSpent[promotionId, default: 0] || usage.uses != promotionUses[promotionId, default: 0] {
                broken.append(
                    "promotion \(promotionId): budget shows \(usage.spent) in \(usage.uses), orders hold \(promotionSpent[promotionId, default: 0])"
                )
            }
        }
        var captured: Int64 = 0
        for paymentId in Set(payments) {
            for event in shop.events(.payment(paymentId)) {
                if case .payment(.succeeded(let s)) = event { captured += s.amount.minorUnits }
                if case .payment(.refunded(let r)) = event { captured -= r.amount.minorUnits }
            }
            let state = shop.payment(paymentId)
            if state.status == .refunded, state.refundedAmount != state.capturedAmount {
                broken.append("payment \(paymentId) refunded in part but marked refunded")
            }
            if state.refundedAmount.minorUnits > state.capturedAmount.minorUnits {
                broken.append("payment \(paymentId): \(state.refundedAmount) refunded of \(state.capturedAmount) captured")
            }
        }
        if captured != heldMoney { broken.append("money: captured net \(captured), paid orders hold \(heldMoney)") }
        return broken + stateInvariantViolations()
    }

    /// The domain's own invariants of every goods, coupon and points state (compiled into debug builds of Commerce).
    func stateInvariantViolations() -> [String] {
        var broken: [String] = []
        for item in goods { broken += shop.goods(item).invariantViolations.map { "goods \(item): \($0)" } }
        for code in coupons {
            let holder: CouponCodeState = shop.state(.couponCode(code))
            guard let couponId = holder.couponId else { continue }
            broken += shop.state(.coupon(couponId), as: CouponState.self).invariantViolations.map { "coupon \(code): \($0)" }
        }
        for customer in customers { broken += shop.points(customer).invariantViolations.map { "points of \(customer): \($0)" } }
        return broken
    }

    /// Folding every stream from scratch, and folding it event by event in
    /// arbitrary chunks, give the same state.
    func foldsAgree() -> Bool {
        for item in goods {
            let events = shop.events(.goods(item))
            let split = events.isEmpty ? 0 : random.below(events.count)
            let incremental = events[split...].reduce(GoodsState(events: events[..<split])) { $0.evolve($1) }
            if incremental != GoodsState(events: events) { return false }
        }
        for orderId in orders {
            let events = shop.events(.order(orderId))
            if events.reduce(OrderState(), { $0.evolve($1) }) != shop.order(orderId) { return false }
        }
        return true
    }
}

@Suite struct SimulationTests {
    static var seeds: [UInt64] {
        if let text = ProcessInfo.processInfo.environment["EMPORIUM_SIM_SEED"], let seed = UInt64(text) { return [seed] }
        return Array(1...12)
    }
    static let steps = 400

    @Test(arguments: seeds)
    func invariantsHoldUnderRandomCommands(seed: UInt64) throws {
        let simulation = ShopSimulation(seed: seed)
        try simulation.setUp()
        for _ in 0..<Self.steps {
            try simulation.runStep()
            let broken = simulation.brokenInvariants()
            if !broken.isEmpty {
                Issue.record(
                    "seed \(seed), step \(simulation.step): \(broken.joined(separator: "; ")) — rerun with EMPORIUM_SIM_SEED=\(seed)")
                return
            }
        }
        #expect(simulation.foldsAgree(), "seed \(seed): incremental and full folds differ")
        #expect(simulation.accepted > Self.steps / 4, "seed \(seed): only \(simulation.accepted) commands were accepted")
        #expect(simulation.orders.count > 5, "seed \(seed): only \(simulation.orders.count) orders")
        let goodsEvents = simulation.goods.flatMap { simulation.shop.events(.goods($0)) }.map(\.eventType)
        let preOrders = (
            goodsEvents.filter { $0 == PreOrderReserved.eventType }.count, goodsEvents.filter { $0 == PreOrderFilled.eventType }.count
        )
        let afterSales = simulation.afterSales.map { simulation.shop.state(.afterSale($0), as: AfterSaleState.self).status }
        let paidExchanges = simulation.afterSales.filter { simulation.shop.state(.afterSale($0), as: AfterSaleState.self).paid != nil }
            .count
        print(
            "simulation seed \(seed): \(afterSales.count) after-sale requests, \(afterSales.filter { $0 == .refunded }.count) refunded, \(afterSales.filter { $0 == .replaced }.count) replaced or exchanged (\(paidExchanges) paying a difference), \(afterSales.filter { $0 == .rejected }.count) rejected"
        )
        print(
            "simulation seed \(seed): \(preOrders.0) pre-orders, \(preOrders.1) filled, \(goodsEvents.filter { $0 == PreOrderReleased.eventType }.count) released"
        )
        print(
            "simulation seed \(seed): \(simulation.accepted) accepted, \(simulation.rejected) rejected, \(simulation.conflicts) conflicts, \(simulation.orders.count) orders, \(simulation.reviews) reviews (\(simulation.approvedReviews) approved) of \(simulation.orders.filter { simulation.shop.order($0).status == .received }.count) received orders, \(simulation.shop.eventCount) events"
        )
    }

    /// 200 buyers decide from one moment for goods with 50 in stock: exactly 50 orders land.
    @Test func aFlashSaleNeverOversells() throws {
        let shop = Shop()
        let seller = try shop.merchant()
        let item = try shop.list(by: seller, stock: 50)
        var pending: [(Decision, [StreamId: Int])] = []
        for index in 0..<200 {
            let buyer = try shop.shopper("fan\(index)@example.com")
            try shop.cartCommand(.add(item, quantity: 1), owner: buyer)
            let (_, decision) = try shop.decidePlaceOrder(buyer: buyer)
            pending.append((decision, Dictionary(uniqueKeysWithValues: decision.changes.map { ($0.stream, shop.events($0.stream).count) })))
        }
        var landed = 0
        var refused = 0
        for (decision, versions) in pending {
            let fresh = decision.changes.allSatisfy { shop.events($0.stream).count == versions[$0.stream, default: 0] }
            if fresh {
                shop.commit(decision)
                landed += 1
                continue
            }
            // Conflict: decide again on fresh states, as the engine retries.
            guard
                let buyer = decision.changes.compactMap({ change -> UserId? in
                    if case .cart(let id) = change.stream { return id }; return nil
                }).first
            else { continue }
            do {
                let (_, retry) = try shop.decidePlaceOrder(buyer: buyer)
                shop.commit(retry)
                landed += 1
            } catch {
                #expect(error.code == .insufficientStock)
                refused += 1
            }
        }
        #expect(landed == 50)
        #expect(refused == 150)
        #expect(shop.goods(item).reserved == 50 && shop.goods(item).available == 0)
    }
}
