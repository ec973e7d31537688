public enum OrderStatus: String, Codable, Sendable, CaseIterable {
    case placed, paid, shipped, received, refundRequested, refunded, cancelled, expired

    /// Orders whose stock is still reserved (not shipped, not given back).
    public var holdsReservation: Bool { self == .placed || self == .paid }
    /// Orders whose money the shop keeps.
    public var holdsPayment: Bool { self == .paid || self == .shipped || self == .received || self == .refundRequested }
}

public struct OrderState: Hashable, Codable, Sendable {
    public var placed: OrderPlaced?
    public var status = OrderStatus.placed
    public var paymentId: PaymentId?
    public var paidAmount = Money.zero
    public var carrier: String?
    public var trackingNumber: String?
    public var receivedAt: Instant?
    /// The number of events on the order's stream (an after-sale step names the version it was decided on).
    public var version = 0
    public var afterSales = OrderAfterSales()
    /// What promotions took off it (their sum and the coupon's make `placed.discount`).
    public var promotions: [PromotionDiscount] = []

    public init() {}

    /// What promotions took off each of its lines.
    public var promotionDiscountByLine: [Int64] {
        var byLine = (placed?.lines ?? []).map { _ in Int64(0) }
        for discount in promotions {
            for (index, amount) in discount.lines.enumerated() where byLine.indices.contains(index) { byLine[index] += amount.minorUnits }
        }
        return byLine
    }

    public var exists: Bool { placed != nil }

    public func evolve(_ event: OrderEvent) -> OrderState {
        var next = self
        next.version += 1
        switch event {
        case .placed(let placed):
            next.placed = placed
            next.status = .placed
        case .paid(let paid):
            next.status = .paid
            next.paymentId = paid.paymentId
            next.paidAmount = paid.amount
        case .shipped(let shipped):
            next.status = .shipped
            next.carrier = shipped.carrier
            next.trackingNumber = shipped.trackingNumber
        case .received(let received):
            next.status = .received
            next.receivedAt = received.at
        case .cancelled: next.status = .cancelled
        case .refundRequested: next.status = .refundRequested
        case .refundApproved: break  // OrderRefunded follows in the same decision
        case .refundRejected: next.status = .received
        case .refunded: next.status = .refunded
        case .expired: next.status = .expired
        case .afterSaleOpened, .afterSaleClosed, .partlyRefunded, .differencePaid: next.afterSales.apply(event)
        case .promotionsApplied(let applied): next.promotions = applied.discounts
        }
        return next
    }
}

/// The day's order numbers handed out in blocks (`ordernumbers-YYYYMMDD`).
public struct OrderNumbersState: Hashable, Codable, Sendable {
    /// The last sequence number reserved so far (0: none).
    public var reservedThrough = 0

    public init() {}

    public func evolve(_ event: OrderNumberEvent) -> OrderNumbersState {
        var next = self
        switch event {
        case .reserved(let reserved): next.reservedThrough = reserved.first + reserved.count - 1
        }
        return next
    }
}

public struct PlaceOrder: Hashable, Sendable {
    public var orderId: OrderId
    /// `YYYYMMDD-NNNNNN`, from a block reserved with `Orders.reserveNumbers` (made outside, like the id).
    public var number: String
    public var addressId: AddressId?
    public var pointsToUse: Int64
    /// "Buy now": the goods and quantities to order, leaving the cart alone
    /// (no coupon; the cart is neither read nor checked out). nil: the cart.
    public var items: [CartLine]?
    /// The delivery method chosen (one of the merchant's); nil: none, no fee (collected, or delivered as agreed).
    public var deliveryMethodId: DeliveryMethodId?
    public var at: Instant

    public init(
        orderId: OrderId, number: String, addressId: AddressId? = nil, pointsToUse: Int64 = 0, items: [CartLine]? = nil,
        deliveryMethodId: DeliveryMethodId? = nil, at: Instant
    ) {
        self.orderId = orderId
        self.number = number
        self.addressId = addressId
        self.pointsToUse = pointsToUse
        self.items = items
        self.deliveryMethodId = deliveryMethodId
        self.at = at
    }
}

/// Everything PlaceOrder decides over; the engine loads each at a version
/// and appends the decision with those versions as expectations.
public struct CheckoutStates: Sendable {
    public var user: UserState
    public var cart: CartState
    /// The state of every goods in the cart.
    public var goods: [GoodsId: GoodsState]
    /// The state of the cart's coupon, when one is applied.
    public var coupon: CouponState?
    public var points: PointsState
    public var order: OrderState
    /// The delivery methods of the merchant whose goods are ordered, when the order names a method.
    public var delivery: DeliveryState?
    /// The promotions running at checkout that the goods may get, with their budgets' use.
    public var promotions: [LivePromotion]

    public init(
        user: UserState, cart: CartState, goods: [GoodsId: GoodsState], coupon: CouponState?, points: PointsState, order: OrderState,
        delivery: DeliveryState? = nil, promotions: [LivePromotion] = []
    ) {
        self.promotions = promotions
        self.user = user
        self.cart = cart
        self.goods = goods
        self.coupon = coupon
        self.points = points
        self.order = order
        self.delivery = delivery
    }
}

/// The other order commands: each names its order.
public enum OrderCommand: Hashable, Sendable {
    /// Marks paid without a provider (offline payment); admins only.
    case pay(PaymentId, amount: Money)
    /// An empty carrier: the delivery method the order was placed with.
    case ship(carrier: String, trackingNumber: String)
    case confirmReceipt
    case cancel(reason: String)
    case requestRefund(reason: String)
    case approveRefund
    case rejectRefund(reason: String)
    case expire
}

/// The states an order command may touch besides the order.
public struct OrderContext: Sendable {
    /// Goods of the order's lines (needed to ship, release stock).
    public var goods: [GoodsId: GoodsState]
    public var coupon: CouponState?
    /// The buyer's points.
    public var points: PointsState
    /// The order's captured payment, when refunding.
    public var payment: PaymentState?
    /// The budgets of the order's budgeted promotions (a cancellation gives back what it spent).
    public var promotions: [PromotionId: PromotionState] = [:]
    /// The payments of exchanges' differences (a whole refund gives them back too).
    public var differencePayments: [PaymentId: PaymentState] = [:]

    public init(
        goods: [GoodsId: GoodsState] = [:], coupon: CouponState? = nil, points: PointsState = PointsState(), payment: PaymentState? = nil
    ) {
        self.goods = goods
        self.coupon = coupon
        self.points = points
        self.payment = payment
    }
}

public enum Orders {
    static let orderNumberSequenceMax = 999_999
    static let orderNumberBlockMax = 10_000

    /// `YYYYMMDD-NNNNNN`.
    public static func orderNumber(day: String, sequence: Int) -> String {
        let digits = String(sequence)
        return day + "-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// Reserves the next `count` numbers of `day`. One engine appends this now
    /// and then and hands the numbers out, so placing orders never contends on one stream.
    public static func reserveNumbers(day: String, count: Int, state: OrderNumbersState) throws(Rejection) -> Decision {
        guard day.utf8.count == 8, isASCIIDigits(day.utf8) else { throw Rejection(.invalidInput, "day must be YYYYMMDD", field: "day") }
        guard (1...orderNumberBlockMax).contains(count) else {
            throw Rejection(.invalidInput, "a block holds 1 to \(orderNumberBlockMax) numbers", field: "count")
        }
        let first = state.reservedThrough + 1
        guard first + count - 1 <= orderNumberSequenceMax else {
            throw Rejection(.orderNumberTaken, "the order numbers of \(day) are used up")
        }
        var decision = Decision()
        decision.append(.orderNumber(.reserved(OrderNumbersReserved(day: day, first: first, count: count))), to: .orderNumbers(day))
        return decision
    }

    static func validateNumber(_ number: String) throws(Rejection) {
        let utf8 = number.utf8
        guard utf8.count == 15, utf8.dropFirst(8).first == UInt8(ascii: "-"), isASCIIDigits(utf8.prefix(8)),
            isASCIIDigits(utf8.dropFirst(9))
        else {
            throw Rejection(.invalidInput, "an order number is YYYYMMDD-NNNNNN", field: "number")
        }
    }

    /// 0–9 only (`Character.isNumber` also takes other scripts' digits and fractions).
    private static func isASCIIDigits(_ bytes: some Sequence<UInt8>) -> Bool {
        bytes.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// One atomic decision: the order, a stock reservation per line, the coupon
    /// redemption, the points and the emptied cart.
    public static func place(_ command: PlaceOrder, actor: Actor, states: CheckoutStates, policy: ShopPolicy) throws(Rejection) -> Decision
    {
        guard let buyer = states.user.userId, actor.userId == buyer else { throw Rejection(.notOwner, "orders are placed by the buyer") }
        guard !states.user.isForgotten else { throw Rejection(.userForgotten, "the user was forgotten") }
        try validateNumber(command.number)
        guard !states.order.exists else { throw Rejection(.orderAlreadyExists, "order \(command.orderId) exists") }
        guard let addressId = command.addressId ?? states.user.defaultAddress, let address = states.user.address(addressId) else {
            throw Rejection(.addressNotFound, "an order needs one of your addresses", field: "addressId")
        }
        let basket = try command.items.map { items throws(Rejection) in try Self.basket(items, goods: states.goods) } ?? states.cart
        let quote = try Pricing.quote(
            cart: basket, goods: states.goods, promotions: states.promotions, coupon: states.coupon, buyer: buyer,
            pointsToUse: command.pointsToUse, pointsBalance: states.points.balance, policy: policy, at: command.at)
        // A line the stock cannot fill is a pre-order while the variant's pre-orders have room (`PreOrders.swift`).
        var preOrdered = Set<Int>()
        for (index, line) in quote.lines.enumerated() {
            let variant = states.goods[line.goodsId]?.variant(line.variantId)
            let available = variant?.available ?? 0
            guard available < line.quantity else { continue }
            let room = variant?.preOrder?.room(at: command.at) ?? 0
            guard room < line.quantity else {
                preOrdered.insert(index)
                continue
            }
            let name = [line.title, line.variant ?? ""].filter { !$0.isEmpty }.joined(separator: " ")
            let preOrders = variant?.preOrder?.isOpen(at: command.at) == true ? " (\(room) more can be pre-ordered)" : ""
            throw Rejection(
                .insufficientStock, "\(name): \(available) left\(preOrders), \(line.quantity) wanted", field: "\(line.goodsId)")
        }
        var delivery: DeliveryChoice?
        if let methodId = command.deliveryMethodId {
            guard let merchant = quote.lines.first?.merchantId, quote.lines.allSatisfy({ $0.merchantId == merchant }),
                let methods = states.delivery
            else {
                throw Rejection(
                    .deliveryMethodNotFound, "a delivery method is one merchant's: order each merchant's goods on their own",
                    field: "deliveryMethodId")
            }
            delivery = try DeliveryMethods.choice(
                methodId, lines: quote.lines, goods: states.goods,
                subtotal: Money(minorUnits: quote.subtotal.minorUnits - quote.discount.minorUnits),
                address: address, state: methods)
        }
        var decision = Decision()
        decision.append(
            .order(
                .placed(
                    OrderPlaced(
                        orderId: command.orderId, number: command.number, userId: buyer, lines: quote.lines, subtotal: quote.subtotal,
                        discount: quote.discount, couponId: basket.couponId, pointsUsed: quote.pointsUsed, pointsValue: quote.pointsValue,
                        total: try quote.total + (delivery?.fee ?? .zero), address: address, at: command.at,
                        expiresAt: command.at.adding(seconds: policy.orderExpirySeconds), delivery: delivery))),
            to: .order(command.orderId))
        if !quote.promotions.isEmpty {
            decision.append(.order(.promotionsApplied(PromotionsApplied(discounts: quote.promotions))), to: .order(command.orderId))
            Promotions.spend(quote.promotions, orderId: command.orderId, at: command.at, into: &decision)
        }
        var goodsAfter = states.goods
        for (index, line) in quote.lines.enumerated() {
            guard let goods = goodsAfter[line.goodsId] else { continue }
            let reserved =
                preOrdered.contains(index)
                ? GoodsEvent.preOrderReserved(
                    PreOrderReserved(orderId: command.orderId, quantity: line.quantity, variantId: line.variantId, at: command.at))
                : GoodsEvent.stockReserved(
                    StockReserved(orderId: command.orderId, quantity: line.quantity, at: command.at, variantId: line.variantId))
            decision.append(.goods(reserved), to: .goods(line.goodsId))
            let after = goods.evolve(reserved)
            for low in Catalog.lowStock(before: goods, after: after, at: command.at) {
                decision.append(.goods(low), to: .goods(line.goodsId))
            }
            goodsAfter[line.goodsId] = after
        }
        if let couponId = basket.couponId {
            decision.append(
                .coupon(.redeemed(CouponRedeemed(orderId: command.orderId, userId: buyer, at: command.at))), to: .coupon(couponId))
        }
        if quote.pointsUsed > 0 {
            decision.append(
                .points(.redeemed(PointsRedeemed(orderId: command.orderId, points: quote.pointsUsed, reason: "order", at: command.at))),
                to: .points(buyer))
        }
        if command.items == nil {
            decision.append(.cart(.checkedOut(CartCheckedOut(orderId: command.orderId, at: command.at))), to: .cart(buyer))
        }
        return decision
    }

    /// A buy-now order's items as a cart of its own: 1–`cartLinesMax` lines, each variant once, quantities as a cart
    /// allows; an item of a goods with several variants names one.
    static func basket(_ items: [CartLine], goods: [GoodsId: GoodsState]) throws(Rejection) -> CartState {
        guard !items.isEmpty else { throw Rejection(.cartEmpty, "items is empty", field: "items") }
        guard items.count <= Limits.cartLinesMax else {
            throw Rejection(.invalidInput, "at most \(Limits.cartLinesMax) items", field: "items")
        }
        var seen = Set<VariantId>()
        var basket = CartState()
        for item in items {
            try Limits.quantity(item.quantity)
            guard seen.insert(item.variantId ?? item.goodsId.defaultVariant).inserted else {
                throw Rejection(.invalidInput, "each goods (or variant) appears once in items", field: "items")
            }
            var line = item
            if let state = goods[item.goodsId], state.exists {
                line.variantId = try state.chosenVariant(item.variantId).variantId.named(in: item.goodsId)
            }
            basket.lines.append(line)
        }
        return basket
    }

    public static func decide(
        _ command: OrderCommand, actor: Actor, order: OrderState, context: OrderContext,
        at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        guard let placed = order.placed else { throw Rejection(.orderNotFound, "no such order") }
        try authorize(command, actor: actor, placed: placed)
        var decision = Decision()
        let orderStream = StreamId.order(placed.orderId)
        switch command {
        case let .pay(paymentId, amount):
            guard order.status == .placed, at < placed.expiresAt else {
                throw Rejection(.orderNotPayable, "order is \(order.status.rawValue)")
            }
            guard amount == placed.total else { throw Rejection(.amountMismatch, "the order total is \(placed.total)") }
            decision.append(.order(.paid(OrderPaid(paymentId: paymentId, amount: amount, at: at))), to: orderStream)
        case let .ship(carrier, trackingNumber):
            // Shipped as the delivery method chosen unless the merchant names another carrier.
            let carrier = carrier.isEmpty ? placed.delivery?.name ?? "" : carrier
            try Limits.text(carrier, "carrier", max: Limits.carrierCharactersMax)
            try Limits.text(trackingNumber, "trackingNumber", max: Limits.trackingNumberCharactersMax)
            guard order.status == .paid else { throw Rejection(.orderNotShippable, "order is \(order.status.rawValue)") }
            if let waiting = placed.lines.first(where: { context.goods[$0.goodsId]?.awaits(placed.orderId) == true }) {
                throw Rejection(.orderAwaitingStock, "\(waiting.title) is pre-ordered: its stock has not arrived")
            }
            decision.append(.order(.shipped(OrderShipped(carrier: carrier, trackingNumber: trackingNumber, at: at))), to: orderStream)
            for line in placed.lines {
                decision.append(
                    .goods(
                        .stockShipped(StockShipped(orderId: placed.orderId, quantity: line.quantity, at: at, variantId: line.variantId))),
                    to: .goods(line.goodsId))
            }
        case .confirmReceipt:
            guard order.status == .shipped else { throw Rejection(.orderNotReceivable, "order is \(order.status.rawValue)") }
            decision.append(.order(.received(OrderReceived(at: at))), to: orderStream)
            let points = placed.total.minorUnits / 100 * policy.pointsPerMajorUnit
            if points > 0 {
                decision.append(.points(.earned(PointsEarned(orderId: placed.orderId, points: points, at: at))), to: .points(placed.userId))
            }
        case .cancel(let reason):
            try Limits.text(reason, "reason", max: Limits.reasonCharactersMax)
            switch order.status {
            case .placed:
                decision.append(.order(.cancelled(OrderCancelled(reason: reason, refundAmount: .zero, at: at))), to: orderStream)
            case .paid:
                decision.append(.order(.cancelled(OrderCancelled(reason: reason, refundAmount: order.paidAmount, at: at))), to: orderStream)
                try refundPayment(order, context: context, reason: "order cancelled", at: at, into: &decision)
            case .shipped, .received, .refundRequested, .refunded, .cancelled, .expired:
                throw Rejection(.orderNotCancellable, "order is \(order.status.rawValue)")
            }
            release(placed, promotions: order.promotions, context: context, at: at, into: &decision)
        case .expire:
            guard order.status == .placed else { throw Rejection(.orderNotExpirable, "order is \(order.status.rawValue)") }
            guard at >= placed.expiresAt else {
                throw Rejection(.orderNotExpirable, "order expires at \(placed.expiresAt.millisecondsSinceEpoch)")
            }
            decision.append(.order(.expired(OrderExpired(at: at))), to: orderStream)
            release(placed, promotions: order.promotions, context: context, at: at, into: &decision)
        case .requestRefund(let reason):
            try Limits.text(reason, "reason", max: Limits.reasonCharactersMax)
            guard order.status == .received, let receivedAt = order.receivedAt else {
                throw Rejection(.orderNotRefundable, "order is \(order.status.rawValue)")
            }
            guard at < receivedAt.adding(seconds: policy.refundWindowSeconds) else {
                throw Rejection(.refundWindowClosed, "the refund window has closed")
            }
            guard order.afterSales.open.isEmpty else {
                throw Rejection(.afterSaleOpen, "an after-sale request about this order is open: answer it first")
            }
            guard order.afterSales.refundedAmount.minorUnits < order.paidAmount.minorUnits || order.paidAmount == .zero else {
                throw Rejection(.orderNotRefundable, "everything paid was refunded")
            }
            decision.append(.order(.refundRequested(RefundRequested(reason: reason, at: at))), to: orderStream)
        case .approveRefund:
            guard order.status == .refundRequested else { throw Rejection(.refundNotRequested, "order is \(order.status.rawValue)") }
            decision.append(.order(.refundApproved(RefundApproved(at: at))), to: orderStream)
            // What after-sale requests refunded already is not refunded again; what exchanges' differences paid is.
            let left = Money(
                minorUnits: order.paidAmount.minorUnits - order.afterSales.refundedAmount.minorUnits
                    + order.afterSales.differencesAmount.minorUnits)
            decision.append(.order(.refunded(OrderRefunded(amount: left, at: at))), to: orderStream)
            try refundPayment(order, context: context, reason: "refund approved", at: at, into: &decision)
            settlePointsOnRefund(placed, alreadyBack: order.afterSales.refundedPoints, context: context, at: at, into: &decision)
        case .rejectRefund(let reason):
            try Limits.text(reason, "reason", max: Limits.reasonCharactersMax)
            guard order.status == .refundRequested else { throw Rejection(.refundNotRequested, "order is \(order.status.rawValue)") }
            decision.append(.order(.refundRejected(RefundRejected(reason: reason, at: at))), to: orderStream)
        }
        return decision
    }

    /// Buyers pay, cancel, confirm and ask for refunds; the merchant of every line
    /// (or an admin) ships and answers refunds; the system expires; admins do anything.
    private static func authorize(_ command: OrderCommand, actor: Actor, placed: OrderPlaced) throws(Rejection) {
        if actor.isAdmin { return }
        let isBuyer = actor.userId == placed.userId
        let isMerchant = actor.userId.map { merchant in placed.lines.allSatisfy { $0.merchantId == merchant } } ?? false
        let allowed: Bool
        switch command {
        case .pay, .expire: allowed = false
        case .confirmReceipt, .requestRefund: allowed = isBuyer
        case .cancel: allowed = isBuyer || isMerchant
        case .ship, .approveRefund, .rejectRefund: allowed = isMerchant
        }
        guard allowed else { throw Rejection(isBuyer || actor.userId != nil ? .notOwner : .forbidden, "not your order to change that way") }
    }

    /// Gives back what placing the order took: stock or a pre-order's claim (the units freed fill queued pre-orders,
    /// then tell a waitlist its variant is back), coupon use, points.
    static func release(
        _ placed: OrderPlaced, promotions: [PromotionDiscount], context: OrderContext, at: Instant, into decision: inout Decision
    ) {
        Promotions.release(promotions, orderId: placed.orderId, usage: context.promotions, at: at, into: &decision)
        var released: [GoodsId: GoodsState] = [:]
        var goodsInOrder: [GoodsId] = []
        for line in placed.lines {
            let state = released[line.goodsId] ?? context.goods[line.goodsId]
            let event =
                state?.variant(line.variantId)?.awaits(placed.orderId) == true
                ? GoodsEvent.preOrderReleased(
                    PreOrderReleased(orderId: placed.orderId, quantity: line.quantity, variantId: line.variantId, at: at))
                : GoodsEvent.stockReleased(
                    StockReleased(orderId: placed.orderId, quantity: line.quantity, at: at, variantId: line.variantId))
            decision.append(.goods(event), to: .goods(line.goodsId))
            // Folded only for goods someone waits for: most cancellations and expiries owe nothing more.
            guard let state, !state.waitlist.isEmpty || state.variants.contains(where: { !$0.preOrders.isEmpty }) else { continue }
            if released[line.goodsId] == nil { goodsInOrder.append(line.goodsId) }
            released[line.goodsId] = state.evolve(event)
        }
        for goodsId in goodsInOrder {
            guard let before = context.goods[goodsId], let after = released[goodsId] else { continue }
            for event in Catalog.afterUnitsFreed(before: before, after: after, at: at) {
                decision.append(.goods(event), to: .goods(goodsId))
            }
        }
        if let couponId = placed.couponId, context.coupon?.openRedemptions[placed.orderId] != nil {
            decision.append(
                .coupon(.released(CouponReleased(orderId: placed.orderId, userId: placed.userId, at: at))), to: .coupon(couponId))
        }
        if placed.pointsUsed > 0 {
            decision.append(
                .points(.refunded(PointsRefunded(orderId: placed.orderId, points: placed.pointsUsed, at: at))), to: .points(placed.userId))
        }
    }

    private static func refundPayment(
        _ order: OrderState, context: OrderContext, reason: String, at: Instant, into decision: inout Decision
    ) throws(Rejection) {
        // Paid offline (`pay`): there is no provider payment; the refund happens offline too.
        var payments: [(PaymentId, PaymentState)] = []
        if let paymentId = order.paymentId, let payment = context.payment, payment.exists { payments.append((paymentId, payment)) }
        for paymentId in order.afterSales.differencePayments {
            if let payment = context.differencePayments[paymentId], payment.exists { payments.append((paymentId, payment)) }
        }
        for (paymentId, payment) in payments {
            guard payment.status == .succeeded else {
                throw Rejection(.paymentNotPending, "the order's payment \(paymentId) is \(payment.status.rawValue)")
            }
            decision.append(
                .payment(.refunded(PaymentRefunded(amount: payment.refundable, reason: reason, at: at))), to: .payment(paymentId))
        }
    }

    /// Points used come back; points earned go, as far as the balance allows.
    private static func settlePointsOnRefund(
        _ placed: OrderPlaced, alreadyBack: Int64, context: OrderContext, at: Instant, into decision: inout Decision
    ) {
        var balance = context.points.balance
        let back = placed.pointsUsed - alreadyBack
        if back > 0 {
            decision.append(.points(.refunded(PointsRefunded(orderId: placed.orderId, points: back, at: at))), to: .points(placed.userId))
            balance += back
        }
        let earned = context.points.earnedByOrder[placed.orderId] ?? 0
        let revoke = min(earned, balance)
        if revoke > 0 {
            decision.append(.points(.revoked(PointsRevoked(orderId: placed.orderId, points: revoke, at: at))), to: .points(placed.userId))
        }
    }
}
