import Foundation
import Testing

@testable import Commerce

/// Pre-orders: a merchant opens them against announced stock; orders the stock cannot fill queue for it, first come,
/// first served, and become regular orders when it arrives — or are cancelled and refunded when it never does.
@Suite struct PreOrderSpecs {
    typealias Spec = DeciderSpec<Catalog>
    static let seller = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000001") ?? UUID())
    static let rival = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000009") ?? UUID())
    static let buyer = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000002") ?? UUID())
    static let phone = GoodsId(UUID(uuidString: "0193a1f2-0000-7000-8000-0000000000b2") ?? UUID())
    static let merchant = Actor.user(seller, .merchant)
    static let now = Spec.now
    static let inAWeek = now.adding(seconds: 7 * 86_400)
    static let inAMonth = now.adding(seconds: 30 * 86_400)

    static func goods(_ event: GoodsEvent) -> (StreamId, DomainEvent) { (.goods(phone), .goods(event)) }
    static let listed = goods(
        .listed(
            GoodsListed(
                goodsId: phone, merchantId: seller, title: "Phone 手机", description: "", category: "phones", brand: "", tags: [],
                price: Money(minorUnits: 399_900), stock: 0, lowStockThreshold: 0, at: now)))
    static let opened = goods(.preOrdersOpened(PreOrdersOpened(variantId: nil, cap: 100, endsAt: inAWeek, arrivesBy: inAMonth, at: now)))
    static func open(cap: Int = 100, endsAt: Instant = inAWeek, arrivesBy: Instant = inAMonth) -> Catalog.Command {
        .goods(phone, .preOrders(.open(variant: nil, cap: cap, endsAt: endsAt, arrivesBy: arrivesBy)))
    }

    @Test func aMerchantOpensPreOrdersAgainstAnnouncedStock() {
        Spec.given(Self.listed).when(Self.open(), by: Self.merchant).then(Self.opened)
    }

    @Test func openingIsRefusedWhereItMustBe() {
        let spec = Spec.given(Self.listed)
        spec.when(Self.open(), by: .user(Self.buyer, .customer)).thenRejects(.forbidden)
        spec.when(Self.open(), by: .user(Self.rival, .merchant)).thenRejects(.notOwner)
        spec.when(
            .goods(GoodsId(UUID()), .preOrders(.open(variant: nil, cap: 1, endsAt: Self.inAWeek, arrivesBy: Self.inAMonth))),
            by: Self.merchant
        )
        .thenRejects(.goodsNotFound)
        spec.when(
            .goods(Self.phone, .preOrders(.open(variant: VariantId(UUID()), cap: 1, endsAt: Self.inAWeek, arrivesBy: Self.inAMonth))),
            by: Self.merchant
        ).thenRejects(.variantNotFound)
        spec.when(Self.open(cap: 0), by: Self.merchant).thenRejects(.invalidInput)
        spec.when(Self.open(cap: Limits.stockMax + 1), by: Self.merchant).thenRejects(.invalidInput)
        spec.when(Self.open(endsAt: Self.now), by: Self.merchant).thenRejects(.invalidInput)
        spec.when(Self.open(arrivesBy: Self.now.adding(seconds: 3_600)), by: Self.merchant).thenRejects(.invalidInput)
        spec.when(Self.open(arrivesBy: Self.now.adding(seconds: 400 * 86_400)), by: Self.merchant).thenRejects(.invalidInput)
        spec.and(Self.opened.0, Self.opened.1).when(Self.open(), by: Self.merchant).thenRejects(.preOrdersOpen)
        spec.and(Self.goods(.delisted(GoodsDelisted(at: Self.now))).0, Self.goods(.delisted(GoodsDelisted(at: Self.now))).1)
            .when(Self.open(), by: Self.merchant).thenRejects(.goodsDelisted)
        // Once the campaign has ended with nothing waiting, another may open.
        spec.and(Self.opened.0, Self.opened.1).when(Self.open(endsAt: Self.inAMonth), by: Self.merchant, at: Self.inAWeek)
            .then(
                Self.goods(
                    .preOrdersOpened(
                        PreOrdersOpened(variantId: nil, cap: 100, endsAt: Self.inAMonth, arrivesBy: Self.inAMonth, at: Self.inAWeek))))
    }

    @Test func aMerchantCallsPreOrdersOffWithAReason() {
        let spec = Spec.given(Self.listed).and(Self.opened.0, Self.opened.1)
        let cancel = Catalog.Command.goods(Self.phone, .preOrders(.cancel(variant: nil, reason: "供应商停产 supplier stopped")))
        spec.when(cancel, by: Self.merchant)
            .then(Self.goods(.preOrdersCancelled(PreOrdersCancelled(variantId: nil, reason: "供应商停产 supplier stopped", at: Self.now))))
        spec.when(.goods(Self.phone, .preOrders(.cancel(variant: nil, reason: ""))), by: Self.merchant).thenRejects(.invalidInput)
        spec.when(cancel, by: .user(Self.rival, .merchant)).thenRejects(.notOwner)
        Spec.given(Self.listed).when(cancel, by: Self.merchant).thenRejects(.preOrdersNotOpen)
        let cancelled = Self.goods(.preOrdersCancelled(PreOrdersCancelled(variantId: nil, reason: "x", at: Self.now)))
        spec.and(cancelled.0, cancelled.1).when(cancel, by: Self.merchant).thenRejects(.preOrdersNotOpen)
        // Ended with nothing waiting: nothing to call off.
        spec.when(cancel, by: Self.merchant, at: Self.inAWeek).thenRejects(.preOrdersNotOpen)
    }
}

/// Pre-orders through orders: queued, filled first come first served, never shipped early, released, cancelled.
@Suite struct PreOrderOrderSpecs {
    /// A merchant's phone with no stock and pre-orders open for `cap` units.
    func preOrderShop(cap: Int = 5, stock: Int = 0) throws -> (Shop, seller: UserId, phone: GoodsId) {
        let shop = Shop()
        let seller = try shop.merchant()
        let phone = try shop.list(by: seller, title: "Phone 手机", price: 399_900, stock: stock, threshold: 0)
        try shop.goodsCommand(
            .preOrders(
                .open(variant: nil, cap: cap, endsAt: shop.now.adding(seconds: 86_400), arrivesBy: shop.now.adding(seconds: 7 * 86_400))),
            on: phone, by: shop.customer(seller))
        return (shop, seller, phone)
    }

    func buyNow(_ shop: Shop, _ buyer: UserId, _ goods: GoodsId, quantity: Int) throws(Rejection) -> (OrderId, Decision) {
        let (orderId, decision) = try shop.decidePlaceOrder(buyer: buyer, items: [CartLine(goodsId: goods, quantity: quantity)])
        shop.commit(decision)
        return (orderId, decision)
    }

    @Test func anOrderTheStockCannotFillQueuesAsAPreOrderAndCannotShip() throws {
        let (shop, seller, phone) = try preOrderShop()
        let buyer = try shop.shopper()
        let order = try shop.paidOrder(buyer: buyer, goodsId: phone, quantity: 2)
        #expect(shop.events(.goods(phone)).contains { if case .goods(.preOrderReserved(let r)) = $0 { r.orderId == order } else { false } })
        #expect(shop.goods(phone).reserved == 0 && shop.goods(phone).variants[0].awaitingUnits == 2)
        #expect(shop.goods(phone).variants[0].preOrder?.taken == 2)
        expectRejection(.orderAwaitingStock, in: shop) {
            try shop.orderCommand(.ship(carrier: "SF", trackingNumber: "SF1"), order, by: shop.customer(seller))
        }
        // The stock arrives: the order becomes a regular one and ships.
        let restock = try shop.goodsCommand(.restock(2), on: phone, by: shop.customer(seller))
        #expect(eventTypes(restock) == ["goods:StockAdded", "goods:PreOrderFilled"])
        #expect(shop.goods(phone).reserved == 2 && shop.goods(phone).available == 0 && !shop.goods(phone).awaits(order))
        try shop.orderCommand(.ship(carrier: "SF", trackingNumber: "SF1"), order, by: shop.customer(seller))
        #expect(shop.goods(phone).onHand == 0 && shop.goods(phone).sold == 2)
    }

    @Test func arrivingStockFillsTheQueueInOrderAndNoLaterBuyerJumpsIt() throws {
        let (shop, seller, phone) = try preOrderShop(cap: 10)
        let buyers = try (0..<3).map { _ throws(Rejection) in try shop.shopper() }
        let first = try buyNow(shop, buyers[0], phone, quantity: 3).0
        let second = try buyNow(shop, buyers[1], phone, quantity: 1).0
        // Two units arrive: not enough for the first order, so the second (which would fit) waits behind it.
        #expect(eventTypes(try shop.goodsCommand(.restock(2), on: phone, by: shop.customer(seller))) == ["goods:StockAdded"])
        #expect(shop.goods(phone).available == 0, "the two units are the queue's: a new buyer cannot take them")
        let third = try buyNow(shop, buyers[2], phone, quantity: 1)
        #expect(eventTypes(third.1).contains("goods:PreOrderReserved"))
        // Two more: the first order (3) and the second (1) are filled, the third still waits.
        let filled = try shop.goodsCommand(.restock(2), on: phone, by: shop.customer(seller)).changes.flatMap(\.events).compactMap {
            event -> OrderId? in
            guard case .goods(.preOrderFilled(let filled)) = event else { return nil }
            return filled.orderId
        }
        #expect(filled == [first, second])
        #expect(shop.goods(phone).variants[0].preOrders.map(\.orderId) == [third.0])
    }

    @Test func theCapBoundsTheUnitsPreOrderedAndAGivenBackClaimFreesRoom() throws {
        let (shop, _, phone) = try preOrderShop(cap: 3)
        let buyer = try shop.shopper()
        let other = try shop.shopper()
        let (order, _) = try buyNow(shop, buyer, phone, quantity: 2)
        expectRejection(.insufficientStock, in: shop) {
            _ = try shop.decidePlaceOrder(buyer: other, items: [CartLine(goodsId: phone, quantity: 2)])
        }
        let cancelled = try shop.orderCommand(.cancel(reason: "不要了"), order, by: shop.customer(buyer))
        #expect(eventTypes(cancelled) == ["order:OrderCancelled", "goods:PreOrderReleased"])
        #expect(shop.goods(phone).variants[0].preOrder?.taken == 0)
        _ = try buyNow(shop, other, phone, quantity: 3)
        // Past the end date no more are taken.
        shop.advance(seconds: 86_400)
        expectRejection(.insufficientStock, in: shop) {
            _ = try shop.decidePlaceOrder(buyer: buyer, items: [CartLine(goodsId: phone, quantity: 1)])
        }
    }

    @Test func stockOnHandIsSoldFirstAndOnlyTheShortfallIsPreOrdered() throws {
        let (shop, seller, phone) = try preOrderShop(cap: 5, stock: 2)
        let buyer = try shop.shopper()
        let (fromStock, decision) = try buyNow(shop, buyer, phone, quantity: 2)
        #expect(eventTypes(decision).contains("goods:StockReserved"))
        let (queued, _) = try buyNow(shop, buyer, phone, quantity: 1)
        // The order from stock is cancelled: its units go to the queued pre-order at once.
        let cancelled = try shop.orderCommand(.cancel(reason: "wrong colour"), fromStock, by: shop.customer(buyer))
        #expect(eventTypes(cancelled) == ["order:OrderCancelled", "goods:StockReleased", "goods:PreOrderFilled"])
        #expect(!shop.goods(phone).awaits(queued) && shop.goods(phone).reserved == 1 && shop.goods(phone).available == 1)
        _ = seller
    }

    @Test func anExpiredPreOrderGivesItsClaimBack() throws {
        let (shop, _, phone) = try preOrderShop()
        let buyer = try shop.shopper()
        let (order, _) = try buyNow(shop, buyer, phone, quantity: 1)
        shop.advance(seconds: shop.policy.orderExpirySeconds)
        #expect(eventTypes(try shop.orderCommand(.expire, order, by: .system)) == ["order:OrderExpired", "goods:PreOrderReleased"])
        #expect(shop.goods(phone).variants[0].preOrders.isEmpty)
    }

    /// The stock never comes: the merchant calls the pre-orders off, nothing is filled any more, and each queued order
    /// is cancelled (as the expiry process does, as the system) with its payment refunded.
    @Test func calledOffPreOrdersAreNotFilledAndTheirOrdersAreRefunded() throws {
        let (shop, seller, phone) = try preOrderShop()
        let buyer = try shop.shopper()
        let order = try shop.paidOrder(buyer: buyer, goodsId: phone, quantity: 1)
        try shop.goodsCommand(.preOrders(.cancel(variant: nil, reason: "供应商停产")), on: phone, by: shop.customer(seller))
        #expect(eventTypes(try shop.goodsCommand(.restock(5), on: phone, by: shop.customer(seller))) == ["goods:StockAdded"])
        #expect(shop.goods(phone).available == 4, "the queued unit stays claimed until its order is cancelled")
        let cancelled = try shop.orderCommand(.cancel(reason: "pre-orders called off: 供应商停产"), order, by: .system)
        #expect(eventTypes(cancelled) == ["order:OrderCancelled", "payment:PaymentRefunded", "goods:PreOrderReleased"])
        #expect(shop.goods(phone).available == 5 && shop.order(order).status == .cancelled)
    }
}
