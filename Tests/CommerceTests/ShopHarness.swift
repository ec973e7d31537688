import Foundation
import Testing
@testable import Commerce

/// An in-memory stand-in for the engine: streams of events, states folded on
/// demand, every command decided over exactly the states the engine would
/// load, and the decision appended whole. Test double only.
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

    func id<Tag>(_: Tag.Type = Tag.self) -> EntityId<Tag> {
        nextId += 1
        return EntityId(UUID(uuidString: String(format: "0193a1f2-0000-7000-8000-%012llx", nextId)) ?? UUID())
    }

    func advance(seconds: Int64) { now = now.adding(seconds: seconds) }
    func salt() -> [UInt8] { (0..<PasswordHash.saltBytes).map { UInt8(truncatingIfNeeded: Int(nextId) &+ $0) } }

    // MARK: Users

    func user(_ id: UserId) -> UserState { state(.user(id)) }

    @discardableResult
    func register(email: String, password: String = "correct horse", name: String = "Li Lei", role: Role = .customer,
                  actor: Actor = .system, id: UserId? = nil) throws(Rejection) -> UserId {
        let userId = id ?? self.id()
        let command = RegisterUser(userId: userId, email: email, password: password, name: name, role: role, salt: salt(), at: now)
        let normalized = Users.normalizedEmail(email)
        commit(try Users.register(command, actor: actor, claim: state(.emailClaim(normalized)), user: user(userId), policy: policy))
        return userId
    }

    /// Resolves the email through its claim, as the engine does.
    func login(email: String, password: String) throws(Rejection) -> LoginResult {
        let claim: EmailClaimState = state(.emailClaim(Users.normalizedEmail(email)))
        let result = try Users.login(Login(password: password, at: now), user: claim.owner.map(user) ?? UserState(), policy: policy)
        commit(result.decision)
        return result
    }

    @discardableResult
    func userCommand(_ command: UserCommand, on userId: UserId, by actor: Actor) throws(Rejection) -> Decision {
        var goods: GoodsState?
        switch command {
        case .addFavorite(let id), .removeFavorite(let id), .recordView(let id): goods = state(.goods(id))
        default: goods = nil
        }
        return commit(try Users.decide(command, actor: actor, user: user(userId), goods: goods, at: now, policy: policy))
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
    func list(by merchant: UserId, title: String = "Green tea 绿茶", price: Int64 = 1_999, stock: Int = 10,
              threshold: Int = 2, category: String = "tea") throws(Rejection) -> GoodsId {
        let goodsId: GoodsId = id()
        try goodsCommand(.list(goodsId, GoodsDetails(title: title, category: category, lowStockThreshold: threshold),
                               price: Money(minorUnits: price), stock: stock), on: goodsId, by: customer(merchant))
        return goodsId
    }

    @discardableResult
    func goodsCommand(_ command: GoodsCommand, on goodsId: GoodsId, by actor: Actor) throws(Rejection) -> Decision {
        commit(try Catalog.decide(command, actor: actor, goods: goods(goodsId), at: now))
    }

    @discardableResult
    func review(_ goodsId: GoodsId, order: OrderId, rating: Int = 5, by actor: Actor) throws(Rejection) -> Decision {
        commit(try Catalog.review(PostReview(reviewId: id(), goodsId: goodsId, orderId: order, rating: rating, text: "好", at: now),
                                  actor: actor, goods: goods(goodsId), order: self.order(order)))
    }

    // MARK: Carts and coupons

    func cart(_ owner: UserId) -> CartState { state(.cart(owner)) }

    @discardableResult
    func cartCommand(_ command: CartCommand, owner: UserId, by actor: Actor? = nil) throws(Rejection) -> Decision {
        var goods: GoodsState?
        var coupon: CouponState?
        switch command {
        case .add(let id, _), .changeQuantity(let id, _): goods = self.goods(id)
        case .applyCoupon(let id, _): coupon = state(.coupon(id))
        case .remove, .removeCoupon, .clear: break
        }
        return commit(try Carts.decide(command, actor: actor ?? customer(owner), owner: owner, cart: cart(owner),
                                       goods: goods, coupon: coupon, at: now))
    }

    @discardableResult
    func createCoupon(code: String, kind: CouponKind = .percent, value: Int64 = 10, minimumSpend: Int64 = 0,
                      totalLimit: Int = 100, perUserLimit: Int = 1, validSeconds: Int64 = 86_400,
                      actor: Actor = .system) throws(Rejection) -> CouponId {
        let couponId: CouponId = id()
        let command = CreateCoupon(couponId: couponId, code: code, kind: kind, value: value, minimumSpend: Money(minorUnits: minimumSpend),
                                   validFrom: now, validUntil: now.adding(seconds: validSeconds), totalLimit: totalLimit,
                                   perUserLimit: perUserLimit, at: now)
        commit(try Coupons.create(command, actor: actor, coupon: state(.coupon(couponId)), code: state(.couponCode(Coupons.normalizedCode(code)))))
        return couponId
    }

    func applyCoupon(_ code: String, owner: UserId) throws(Rejection) {
        let holder: CouponCodeState = state(.couponCode(Coupons.normalizedCode(code)))
        guard let couponId = holder.couponId else { throw Rejection(.couponNotFound, "no coupon \(code)") }
        try cartCommand(.applyCoupon(couponId, code: code), owner: owner)
    }

    // MARK: Orders

    func order(_ id: OrderId) -> OrderState { state(.order(id)) }
    func points(_ owner: UserId) -> PointsState { state(.points(owner)) }
    func payment(_ id: PaymentId) -> PaymentState { state(.payment(id)) }

    /// Loads every state PlaceOrder decides over, then decides.
    func decidePlaceOrder(buyer: UserId, pointsToUse: Int64 = 0, orderId: OrderId? = nil, actor: Actor? = nil,
                          items: [CartLine]? = nil) throws(Rejection) -> (OrderId, Decision) {
        let orderId = orderId ?? id()
        let cart = items == nil ? cart(buyer) : CartState()
        var goodsStates: [GoodsId: GoodsState] = [:]
        for line in items ?? cart.lines { goodsStates[line.goodsId] = goods(line.goodsId) }
        let states = CheckoutStates(user: user(buyer), cart: cart, goods: goodsStates,
                                    coupon: cart.couponId.map { state(.coupon($0)) }, points: points(buyer), order: order(orderId))
        nextOrderNumber += 1
        let number = Orders.orderNumber(day: now.dayStamp, sequence: nextOrderNumber)
        let decision = try Orders.place(PlaceOrder(orderId: orderId, number: number, pointsToUse: pointsToUse, items: items, at: now), actor: actor ?? customer(buyer),
                                        states: states, policy: policy)
        return (orderId, decision)
    }

    @discardableResult
    func placeOrder(buyer: UserId, pointsToUse: Int64 = 0) throws(Rejection) -> OrderId {
        let (orderId, decision) = try decidePlaceOrder(buyer: buyer, pointsToUse: pointsToUse)
        commit(decision)
        return orderId
    }

    /// The states the engine loads for an order command.
    func orderContext(_ orderId: OrderId) -> OrderContext {
        let order = self.order(orderId)
        guard let placed = order.placed else { return OrderContext() }
        var goodsStates: [GoodsId: GoodsState] = [:]
        for line in placed.lines { goodsStates[line.goodsId] = goods(line.goodsId) }
        return OrderContext(goods: goodsStates, coupon: placed.couponId.map { state(.coupon($0)) }, points: points(placed.userId),
                            payment: order.paymentId.map(payment))
    }

    @discardableResult
    func orderCommand(_ command: OrderCommand, _ orderId: OrderId, by actor: Actor) throws(Rejection) -> Decision {
        commit(try Orders.decide(command, actor: actor, order: order(orderId), context: orderContext(orderId), at: now, policy: policy))
    }

    @discardableResult
    func initiatePayment(_ orderId: OrderId, by actor: Actor, provider: String = "sandbox") throws(Rejection) -> PaymentId {
        let paymentId: PaymentId = id()
        commit(try Payments.initiate(InitiatePayment(paymentId: paymentId, provider: provider, at: now), actor: actor,
                                     payment: payment(paymentId), order: order(orderId)))
        return paymentId
    }

    @discardableResult
    func callback(_ paymentId: PaymentId, transaction: String, succeeded: Bool = true, amount: Money? = nil,
                  provider: String = "sandbox") throws(Rejection) -> Decision {
        let state = payment(paymentId)
        let orderId = state.initiated?.orderId
        return commit(try Payments.handle(ProviderCallback(providerTransactionId: transaction, succeeded: succeeded,
                                                           amount: amount ?? state.initiated?.amount ?? .zero, at: now),
                                          actor: .paymentProvider(provider), payment: state, order: orderId.map(order) ?? OrderState()))
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

let sampleAddress = Address(recipient: "韩梅梅", phone: "+86 138 0000 0000", line1: "1 Zhongguancun St", city: "Beijing",
                            postalCode: "100080", country: "CN")

/// `then`: the decision's event types, stream by stream, in order.
func eventTypes(_ decision: Decision) -> [String] {
    decision.changes.flatMap { change in change.events.map { "\(change.stream.kind):\($0.eventType)" } }
}

extension StreamId {
    var kind: String { String(description.prefix { $0 != "-" }) }
}

/// `thenRejects`: the command is refused with `code`, and nothing is appended.
func expectRejection(_ code: Rejection.Code, in shop: Shop, sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () throws -> Void) {
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
