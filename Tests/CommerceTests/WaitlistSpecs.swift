import Foundation
import Testing

@testable import Commerce

/// Back in stock: customers join the waitlist of a sold-out variant; a restock notifies them first come, first served,
/// as many as there are units, one event each.
@Suite struct WaitlistSpecs {
    typealias Spec = DeciderSpec<Catalog>
    static let seller = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000001") ?? UUID())
    static let first = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000002") ?? UUID())
    static let second = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000003") ?? UUID())
    static let third = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000004") ?? UUID())
    static let tee = GoodsId(UUID(uuidString: "0193a1f2-0000-7000-8000-0000000000b1") ?? UUID())
    static let large = VariantId(UUID(uuidString: "0193a1f2-0000-7000-8000-0000000000c1") ?? UUID())
    static let merchant = Actor.user(seller, .merchant)
    static let now = Spec.now

    /// A T-shirt in M (the default variant, 3 in stock) and L (sold out).
    static var listed: [(StreamId, DomainEvent)] {
        let terms = { (sku: String, size: String, stock: Int) in
            VariantTerms(sku: sku, values: [size], price: Money(minorUnits: 9_900), stock: stock, lowStockThreshold: 0)
        }
        let listing = GoodsCommand.listVariants(
            tee, GoodsDetails(title: "T-shirt T恤", category: "clothing"), options: ["尺码 Size"],
            variants: [NewVariant(tee.defaultVariant, terms("TEE-M", "M", 3)), NewVariant(large, terms("TEE-L", "L", 0))], attributes: [])
        guard
            case .success(let decision) = Result(catching: { () throws(Rejection) in
                try Catalog.decide(listing, actor: merchant, goods: GoodsState(), at: now)
            })
        else { return [] }
        return decision.changes.flatMap { change in change.events.map { (change.stream, $0) } }.filter { $0.0 == .goods(tee) }
    }

    static func goods(_ event: GoodsEvent) -> (StreamId, DomainEvent) { (.goods(tee), .goods(event)) }
    static func joined(_ user: UserId) -> (StreamId, DomainEvent) {
        goods(.waitlistJoined(WaitlistJoined(userId: user, variantId: large, at: now)))
    }
    static func notified(_ user: UserId, available: Int) -> (StreamId, DomainEvent) {
        goods(.backInStockNotified(BackInStockNotified(userId: user, variantId: large, available: available, at: now)))
    }

    static func given(_ extra: (StreamId, DomainEvent)...) -> Spec {
        var spec = Spec.given()
        for (stream, event) in listed + extra { spec = spec.and(stream, event) }
        return spec
    }

    static func customer(_ id: UserId) -> Actor { .user(id, .customer) }

    @Test func aCustomerJoinsTheWaitlistOfASoldOutVariant() {
        Self.given().when(.waitlist(Self.tee, .join(variant: Self.large)), by: Self.customer(Self.first)).then(Self.joined(Self.first))
    }

    @Test func joiningAndLeavingAreRefusedWhereTheyMustBe() {
        let spec = Self.given(Self.joined(Self.first))
        spec.when(.waitlist(Self.tee, .join(variant: Self.large)), by: Self.customer(Self.first)).thenRejects(.alreadyWaiting)
        spec.when(.waitlist(Self.tee, .join(variant: nil)), by: Self.customer(Self.second)).thenRejects(.variantRequired)
        spec.when(.waitlist(Self.tee, .join(variant: Self.tee.defaultVariant)), by: Self.customer(Self.second)).thenRejects(.inStock)
        spec.when(.waitlist(Self.tee, .join(variant: VariantId(UUID()))), by: Self.customer(Self.second)).thenRejects(.variantNotFound)
        spec.when(.waitlist(GoodsId(UUID()), .join(variant: nil)), by: Self.customer(Self.second)).thenRejects(.goodsNotFound)
        spec.when(.waitlist(Self.tee, .join(variant: Self.large)), by: .anonymous).thenRejects(.forbidden)
        spec.when(.waitlist(Self.tee, .leave(variant: Self.large)), by: Self.customer(Self.second)).thenRejects(.notWaiting)
        spec.when(.waitlist(Self.tee, .leave(variant: Self.large)), by: Self.customer(Self.first))
            .then(Self.goods(.waitlistLeft(WaitlistLeft(userId: Self.first, variantId: Self.large, at: Self.now))))
        Self.given(Self.goods(.delisted(GoodsDelisted(at: Self.now))))
            .when(.waitlist(Self.tee, .join(variant: Self.large)), by: Self.customer(Self.first)).thenRejects(.goodsDelisted)
    }

    @Test func aFullWaitlistTakesNoOneMore() throws {
        var goods = GoodsState(events: Self.listed.map(\.1))
        goods.waitlist = (0..<Limits.waitlistPerGoodsMax).map { _ in
            WaitlistEntry(userId: UserId(UUID()), variantId: Self.large, since: Self.now)
        }
        #expect(throws: Rejection(.waitlistFull, "the waitlist of T-shirt T恤 is full (10000)")) {
            try Catalog.decide(WaitlistCommand.join(variant: Self.large), actor: Self.customer(Self.first), goods: goods, at: Self.now)
        }
    }

    @Test func aRestockNotifiesTheFirstComersAsManyAsThereAreUnits() {
        let waiting = Self.given(Self.joined(Self.first), Self.joined(Self.second), Self.joined(Self.third))
        waiting.when(.goods(Self.tee, .restock(2, variant: Self.large)), by: Self.merchant)
            .then(
                Self.goods(.stockAdded(StockAdded(quantity: 2, at: Self.now, variantId: Self.large))),
                Self.notified(Self.first, available: 2), Self.notified(Self.second, available: 2))
        // The third waits for the next restock; restocking M notifies no one waiting for L.
        let afterFirst = waiting.and(.goods(Self.tee), .goods(.stockAdded(StockAdded(quantity: 2, at: Self.now, variantId: Self.large))))
            .and(Self.notified(Self.first, available: 2).0, Self.notified(Self.first, available: 2).1)
            .and(Self.notified(Self.second, available: 2).0, Self.notified(Self.second, available: 2).1)
        afterFirst.when(.goods(Self.tee, .restock(5, variant: Self.tee.defaultVariant)), by: Self.merchant)
            .then(Self.goods(.stockAdded(StockAdded(quantity: 5, at: Self.now, variantId: nil))))
        afterFirst.when(.goods(Self.tee, .restock(1, variant: Self.large)), by: Self.merchant)
            .then(
                Self.goods(.stockAdded(StockAdded(quantity: 1, at: Self.now, variantId: Self.large))),
                Self.notified(Self.third, available: 3))
    }

    @Test func relistingWithStockNotifiesAndAPriceChangeDoesNot() {
        let stocked = Self.given(
            Self.joined(Self.first), Self.goods(.delisted(GoodsDelisted(at: Self.now))),
            Self.goods(.stockAdded(StockAdded(quantity: 4, at: Self.now, variantId: Self.large))))
        stocked.when(.goods(Self.tee, .relist), by: Self.merchant)
            .then(Self.goods(.relisted(GoodsRelisted(at: Self.now))), Self.notified(Self.first, available: 4))
        Self.given(Self.joined(Self.first)).when(
            .goods(Self.tee, .changePrice(Money(minorUnits: 8_900), variant: Self.large)), by: Self.merchant
        )
        .then(
            Self.goods(
                .priceChanged(
                    PriceChanged(from: Money(minorUnits: 9_900), to: Money(minorUnits: 8_900), at: Self.now, variantId: Self.large))))
    }

    @Test func theNotifiedLeaveTheWaitlist() {
        let state = GoodsState(
            events: (Self.listed + [Self.joined(Self.first), Self.joined(Self.second), Self.notified(Self.first, available: 1)]).map(\.1))
        #expect(state.waiting(for: Self.large).map(\.userId) == [Self.second])
    }
}

/// Units an order gives back (cancelled, expired) tell the waitlist too.
@Suite struct WaitlistReleaseSpecs {
    @Test func aCancelledOrderTellsTheFirstWaitingCustomer() throws {
        let shop = Shop()
        let seller = try shop.merchant()
        let buyer = try shop.shopper()
        let hopeful = try shop.shopper()
        let patient = try shop.shopper()
        let tea = try shop.list(by: seller, stock: 1)
        try shop.cartCommand(.add(tea, quantity: 1), owner: buyer)
        let order = try shop.placeOrder(buyer: buyer)
        for waiting in [hopeful, patient] {
            try shop.run(Catalog.self, .waitlist(tea, .join(variant: nil)), by: shop.customer(waiting))
        }
        let cancelled = try shop.orderCommand(.cancel(reason: "changed my mind"), order, by: shop.customer(buyer))
        let told = cancelled.changes.flatMap(\.events).compactMap { event -> UserId? in
            guard case .goods(.backInStockNotified(let notified)) = event else { return nil }
            return notified.userId
        }
        #expect(told == [hopeful], "one unit back: the first to join is told, the second still waits")
        #expect(shop.goods(tea).waitlist.map(\.userId) == [patient])
    }
}
