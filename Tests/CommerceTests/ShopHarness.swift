import Foundation
import Testing

@testable import Commerce

/// An in-memory stand-in for the engine: streams of events, states folded on
/// demand, every command decided by its aggregate's decider over the states
/// its `reads` name (the engine follows the same list), and the decision
/// appended whole. Test double only.
final class Shop {
    private(set) var streams: [StreamId: [DomainEvent]] = [:]
    var policy: ShopPolicy
    var now = Instant(millisecondsSinceEpoch: 1_790_000_000_000)
    private var nextId: UInt64 = 0
    /// The engine hands numbers out of reserved blocks; the harness simply counts.
    private var nextOrderNumber = 0

    init() {
        policy = ShopPolicy()
        policy.passwordHashing = .fastForTests
    }

    // MARK: Store

    func state<S: AggregateState>(_ stream: StreamId, as type: S.Type = S.self) -> S { S(events: streams[stream] ?? []) }
    func events(_ stream: StreamId) -> [DomainEvent] { streams[stream] ?? [] }
    var eventCount: Int { streams.values.reduce(0) { $0 + $1.count } }

    @discardableResult
    func commit(_ decision: Decision) -> Decision {
        for change in decision.changes { streams[change.stream, default: []].append(contentsOf: change.events) }
        return decision
    }

    /// Decides `command` as the engine does: loads what the decider's `reads` name, decides, appends.
    @discardableResult
    func run<D: Decider>(_ decider: D.Type, _ command: D.Command, by actor: Actor) throws(Rejection) -> Decision {
        commit(try decide(decider, command, by: actor))
    }

    /// The decision `command` gets now, not appended (a test may race it against others).
    func decide<D: Decider>(_: D.Type, _ command: D.Command, by actor: Actor) throws(Rejection) -> Decision {
        let loaded = D.load(command, actor: actor) { stream in Self.fold(stream.emptyState, events(stream)) }
        return try D.decide(command, actor: actor, loaded: loaded, at: now, policy: policy)
    }

    private static func fold<S: AggregateState>(_ empty: S, _ events: [DomainEvent]) -> any AggregateState { S(events: events) }

    func id<Tag>(_: Tag.Type = Tag.self) -> EntityId<Tag> {
        nextId += 1
        return EntityId(UUID(uuidString: String(format: "0193a1f2-0000-7000-8000-%012llx", nextId)) ?? UUID())
    }

    func advance(seconds: Int64) { now = now.adding(seconds: seconds) }
    func salt() -> [UInt8] { (0..<PasswordHash.saltBytes).map { UInt8(truncatingIfNeeded: Int(nextId) &+ $0) } }

    // MARK: Users

    func user(_ id: UserId) -> UserState { state(.user(id)) }

    @discardableResult
    func register(
        email: String, password: String = "correct horse", name: String = "Li Lei", role: Role = .customer,
        actor: Actor = .system, id: UserId? = nil
    ) throws(Rejection) -> UserId {
        let userId = id ?? self.id()
        let command = RegisterUser(userId: userId, email: email, password: password, name: name, role: role, salt: salt(), at: now)
        try run(Users.self, .register(command), by: actor)
        return userId
    }

    /// Resolves the email through its claim, as the engine does.
    func login(email: String, password: String) throws(Rejection) -> Decision {
        try run(Users.self, .login(email: email, Login(password: password, at: now)), by: .anonymous)
    }

    @discardableResult
    func userCommand(_ command: UserCommand, on userId: UserId, by actor: Actor) throws(Rejection) -> Decision {
        try run(Users.self, .onUser(userId, command), by: actor)
    }

    func customer(_ id: UserId) -> Actor { .user(id, user(id).role) }

    /// A registered customer with one address.
    func shopper(_ email: String = "buyer\(UUID().uuidString.prefix(6))@example.com") throws(Rejection) -> UserId {
        let id = try register(email: email)
        try userCommand(.addAddress(self.id(), sampleAddress, makeDefault: true), on: id, by: customer(id))
        return id
    }

    func merchant(_ email: String = "shop\(UUID().uuidString.prefix(6))@example.com") throws(Rejection) -> UserId {
        try register(email: email, role: .merchant)
    }

    // MARK: Goods

    func goods(_ id: GoodsId) -> GoodsState { state(.goods(id)) }

    @discardableResult
    func list(
        by merchant: UserId, title: String = "Green tea 绿茶", price: Int64 = 1_999, stock: Int = 10,
        threshold: Int = 2, category: String = "tea"
    ) throws(Rejection) -> GoodsId {
        let goodsId: GoodsId = id()
        try goodsCommand(
            .list(
                goodsId, GoodsDetails(title: title, category: category, lowStockThreshold: threshold),
                price: Money(minorUnits: price), stock: stock), on: goodsId, by: customer(merchant))
        return goodsId
    }

    @discardableResult
    func goodsCommand(_ command: GoodsCommand, on goodsId: GoodsId, by actor: Actor) throws(Rejection) -> Decision {
        try run(Catalog.self, .goods(goodsId, command), by: actor)
    }

    @discardableResult
    func review(_ goodsId: GoodsId, order: OrderId, rating: Int = 5, by actor: Actor) throws(Rejection) -> Decision {
        try run(
            Catalog.self, .review(PostReview(reviewId: id(), goodsId: goodsId, orderId: order, rating: rating, text: "好", at: now)),
            by: actor)
    }

    // MARK: Carts and coupons

    func cart(_ owner: UserId) -> CartState { state(.cart(owner)) }

    @discardableResult
    func cartCommand(_ command: Carts.Command, owner: UserId, by actor: Actor? = nil) throws(Rejection) -> Decision {
        let actor = actor ?? customer(owner)
        guard actor.userId == owner else {
            // The decider works on the caller's own cart; another's is refused by the rule beneath it.
            let domain: CartCommand
            switch command {
            case let .add(goodsId, quantity, variant): domain = .add(goodsId, quantity: quantity, variant: variant)
            case let .changeQuantity(goodsId, quantity, variant): domain = .changeQuantity(goodsId, quantity: quantity, variant: variant)
            case let .remove(goodsId, variant): domain = .remove(goodsId, variant: variant)
            case .applyCoupon, .removeCoupon: domain = .removeCoupon
            case .clear: domain = .clear
            }
            return commit(try Carts.decide(domain, actor: actor, owner: owner, cart: cart(owner), goods: nil, coupon: nil, at: now))
        }
        return try run(Carts.self, command, by: actor)
    }

    @discardableResult
    func createCoupon(
        code: String, kind: CouponKind = .percent, value: Int64 = 10, minimumSpend: Int64 = 0,
        totalLimit: Int = 100, perUserLimit: Int = 1, validSeconds: Int64 = 86_400,
        actor: Actor = .system
    ) throws(Rejection) -> CouponId {
        let couponId: CouponId = id()
        let command = CreateCoupon(
            couponId: couponId, code: code, kind: kind, value: value, minimumSpend: Money(minorUnits: minimumSpend),
            validFrom: now, validUntil: now.adding(seconds: validSeconds), totalLimit: totalLimit,
            perUserLimit: perUserLimit, at: now)
        try run(Coupons.self, .create(command), by: actor)
        return couponId
    }

    func applyCoupon(_ code: String, owner: UserId) throws(Rejection) {
        try cartCommand(.applyCoupon(code: code), owner: owner)
    }

    // MARK: Orders

    func order(_ id: OrderId) -> OrderState { state(.order(id)) }
    func points(_ owner: UserId) -> PointsState { state(.points(owner)) }
    func payment(_ id: PaymentId) -> PaymentState { state(.payment(id)) }

    /// PlaceOrder's decision over what its `reads` name, not appended.
    func decidePlaceOrder(
        buyer: UserId, pointsToUse: Int64 = 0, orderId: OrderId? = nil, actor: Actor? = nil,
        items: [CartLine]? = nil, delivery: DeliveryMethodId? = nil
    ) throws(Rejection) -> (OrderId, Decision) {
        let orderId = orderId ?? id()
        nextOrderNumber += 1
        let number = Orders.orderNumber(day: now.dayStamp, sequence: nextOrderNumber)
        let place = PlaceOrder(
            orderId: orderId, number: number, pointsToUse: pointsToUse, items: items, deliveryMethodId: delivery, at: now)
        return (orderId, try decide(Orders.self, .place(place), by: actor ?? customer(buyer)))
    }

    @discardableResult
    func placeOrder(buyer: UserId, pointsToUse: Int64 = 0) throws(Rejection) -> OrderId {
        let (orderId, decision) = try decidePlaceOrder(buyer: buyer, pointsToUse: pointsToUse)
        commit(decision)
        return orderId
    }

    @discardableResult
    func orderCommand(_ command: OrderCommand, _ orderId: OrderId, by actor: Actor) throws(Rejection) -> Decision {
        try run(Orders.self, .onOrder(orderId, command), by: actor)
    }

    @discardableResult
    func initiatePayment(
        _ orderId: OrderId, by actor: Actor, provider: String = "sandbox", afterSaleId: AfterSaleId? = nil
    ) throws(Rejection) -> PaymentId {
        let paymentId: PaymentId = id()
        try run(
            Payments.self,
            .initiate(orderId: orderId, InitiatePayment(paymentId: paymentId, provider: provider, at: now, afterSaleId: afterSaleId)),
            by: actor)
        return paymentId
    }

    @discardableResult
    func callback(
        _ paymentId: PaymentId, transaction: String, succeeded: Bool = true, amount: Money? = nil,
        provider: String = "sandbox"
    ) throws(Rejection) -> Decision {
        let callback = ProviderCallback(
            providerTransactionId: transaction, succeeded: succeeded,
            amount: amount ?? payment(paymentId).initiated?.amount ?? .zero, at: now)
        return try run(Payments.self, .callback(paymentId, callback), by: .paymentProvider(provider))
    }

    /// Places and pays an order for `quantity` of `goodsId`.
    func paidOrder(buyer: UserId, goodsId: GoodsId, quantity: Int = 1) throws(Rejection) -> OrderId {
        try cartCommand(.add(goodsId, quantity: quantity), owner: buyer)
        let orderId = try placeOrder(buyer: buyer)
        let paymentId = try initiatePayment(orderId, by: customer(buyer))
        try callback(paymentId, transaction: "tx-\(paymentId)")
        return orderId
    }

    /// Places, pays, ships and receives an order.
    func receivedOrder(buyer: UserId, merchant: UserId, goodsId: GoodsId, quantity: Int = 1) throws(Rejection) -> OrderId {
        let orderId = try paidOrder(buyer: buyer, goodsId: goodsId, quantity: quantity)
        try orderCommand(.ship(carrier: "SF Express", trackingNumber: "SF1234567890"), orderId, by: customer(merchant))
        try orderCommand(.confirmReceipt, orderId, by: customer(buyer))
        return orderId
    }
}

let sampleAddress = Address(
    recipient: "韩梅梅", phone: "+86 138 0000 0000", line1: "1 Zhongguancun St", city: "Beijing",
    postalCode: "100080", country: "CN")

/// `then`: the decision's event types, stream by stream, in order.
func eventTypes(_ decision: Decision) -> [String] {
    decision.changes.flatMap { change in change.events.map { "\(change.stream.kind):\($0.eventType)" } }
}

extension StreamId {
    var kind: String { String(description.prefix { $0 != "-" }) }
}

/// `thenRejects`: the command is refused with `code`, and nothing is appended.
func expectRejection(
    _ code: Rejection.Code, in shop: Shop, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    let before = shop.eventCount
    do {
        try body()
        Issue.record("expected \(code.rawValue), the command was accepted", sourceLocation: sourceLocation)
    } catch let rejection as Rejection {
        #expect(rejection.code == code, "\(rejection)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
    #expect(shop.eventCount == before, "a rejected command appended events", sourceLocation: sourceLocation)
}
