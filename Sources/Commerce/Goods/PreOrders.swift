// Pre-orders (预售): a merchant announces incoming stock of a variant and opens pre-orders against it — up to a cap of
// units, until an end date, with the date the stock is to arrive by. While they are open, an order line the variant's
// stock cannot fill is taken as a pre-order: the units are claimed against the incoming stock (`PreOrderReserved`, not a
// stock reservation, so reserved ≤ on hand holds) and the order joins the variant's queue. Units that become free — a
// restock, a stock count, an order's release — fill the queue first come, first served (`PreOrderFilled` turns the
// claim into an ordinary reservation: the order is then a regular order and can ship); a queued order cannot ship. Units
// in the queue are not available to anyone else, so a later buyer never jumps it. If the stock never comes — the merchant
// cancels the pre-orders, or the arrival date passes with orders still queued — every queued order is cancelled and, when
// paid, refunded (the order expiry process does it, one `CancelOrder` each, as the system).

/// What the merchant announced: at most `cap` units pre-ordered, taken until `endsAt`, to arrive by `arrivesBy`.
public struct PreOrderTerms: Hashable, Codable, Sendable {
    public var cap: Int
    public var endsAt: Instant
    public var arrivesBy: Instant
    /// Units pre-ordered in this campaign and not given back (filled ones count: the cap bounds the campaign).
    public var taken = 0
    /// The merchant called the pre-orders off: none are taken, none filled; the queued orders are cancelled.
    public var isCancelled = false

    public init(cap: Int, endsAt: Instant, arrivesBy: Instant) {
        self.cap = cap
        self.endsAt = endsAt
        self.arrivesBy = arrivesBy
    }

    /// Whether new pre-orders are taken at `at`.
    public func isOpen(at: Instant) -> Bool { !isCancelled && at < endsAt }
    /// Units still to be pre-ordered at `at`.
    public func room(at: Instant) -> Int { isOpen(at: at) ? max(cap - taken, 0) : 0 }
}

/// One order's units waiting in a variant's pre-order queue.
public struct PreOrderHold: Hashable, Codable, Sendable {
    public var orderId: OrderId
    public var quantity: Int
    public var since: Instant

    public init(orderId: OrderId, quantity: Int, since: Instant) {
        self.orderId = orderId
        self.quantity = quantity
        self.since = since
    }
}

/// A merchant's (or admin's) command on a variant's pre-orders; nil variant: the goods' only one.
public enum PreOrderCommand: Hashable, Sendable {
    case open(variant: VariantId?, cap: Int, endsAt: Instant, arrivesBy: Instant)
    case cancel(variant: VariantId?, reason: String)
}

public struct PreOrdersOpened: EventPayload {
    public static let eventType = "PreOrdersOpened"
    public var variantId: VariantId?
    public var cap: Int
    public var endsAt: Instant
    public var arrivesBy: Instant
    public var at: Instant

    public init(variantId: VariantId?, cap: Int, endsAt: Instant, arrivesBy: Instant, at: Instant) {
        self.variantId = variantId
        self.cap = cap
        self.endsAt = endsAt
        self.arrivesBy = arrivesBy
        self.at = at
    }
}

/// The merchant called a variant's pre-orders off: its queued orders are to be cancelled and refunded.
public struct PreOrdersCancelled: EventPayload {
    public static let eventType = "PreOrdersCancelled"
    public var variantId: VariantId?
    public var reason: String
    public var at: Instant

    public init(variantId: VariantId?, reason: String, at: Instant) {
        self.variantId = variantId
        self.reason = reason
        self.at = at
    }
}

/// An order line taken as a pre-order: `quantity` units claimed against the incoming stock; the order joins the queue.
public struct PreOrderReserved: EventPayload {
    public static let eventType = "PreOrderReserved"
    public var orderId: OrderId
    public var quantity: Int
    public var variantId: VariantId?
    public var at: Instant

    public init(orderId: OrderId, quantity: Int, variantId: VariantId?, at: Instant) {
        self.orderId = orderId
        self.quantity = quantity
        self.variantId = variantId
        self.at = at
    }
}

/// Stock arrived for a queued order: its claim becomes an ordinary reservation and it leaves the queue.
public struct PreOrderFilled: EventPayload {
    public static let eventType = "PreOrderFilled"
    public var orderId: OrderId
    public var quantity: Int
    public var variantId: VariantId?
    public var at: Instant

    public init(orderId: OrderId, quantity: Int, variantId: VariantId?, at: Instant) {
        self.orderId = orderId
        self.quantity = quantity
        self.variantId = variantId
        self.at = at
    }
}

/// A queued order was cancelled or expired before its stock arrived: its claim is given back.
public struct PreOrderReleased: EventPayload {
    public static let eventType = "PreOrderReleased"
    public var orderId: OrderId
    public var quantity: Int
    public var variantId: VariantId?
    public var at: Instant

    public init(orderId: OrderId, quantity: Int, variantId: VariantId?, at: Instant) {
        self.orderId = orderId
        self.quantity = quantity
        self.variantId = variantId
        self.at = at
    }
}

extension VariantState {
    /// Units of queued pre-orders: claims on stock still to come.
    public var awaitingUnits: Int { preOrders.reduce(0) { $0 + $1.quantity } }

    /// Whether `order` waits in this variant's pre-order queue.
    public func awaits(_ order: OrderId) -> Bool { preOrders.contains { $0.orderId == order } }
}

extension GoodsState {
    /// Whether `order` waits for stock of any of this goods' variants.
    public func awaits(_ order: OrderId) -> Bool { variants.contains { $0.awaits(order) } }

    mutating func applyPreOrder(_ event: GoodsEvent) {
        switch event {
        case .preOrdersOpened(let opened):
            changeVariant(opened.variantId) {
                $0.preOrder = PreOrderTerms(cap: opened.cap, endsAt: opened.endsAt, arrivesBy: opened.arrivesBy)
            }
        case .preOrdersCancelled(let cancelled): changeVariant(cancelled.variantId) { $0.preOrder?.isCancelled = true }
        case .preOrderReserved(let reserved):
            changeVariant(reserved.variantId) {
                $0.preOrder?.taken += reserved.quantity
                $0.preOrders.append(PreOrderHold(orderId: reserved.orderId, quantity: reserved.quantity, since: reserved.at))
            }
        case .preOrderFilled(let filled):
            changeVariant(filled.variantId) {
                $0.preOrders.removeAll { $0.orderId == filled.orderId }
                $0.reserved += filled.quantity
            }
        case .preOrderReleased(let released):
            changeVariant(released.variantId) {
                $0.preOrders.removeAll { $0.orderId == released.orderId }
                $0.preOrder?.taken -= released.quantity
            }
        default: break
        }
    }
}

extension Catalog {
    /// The longest a merchant may announce stock ahead.
    static let preOrderHorizonSeconds: Int64 = 366 * 24 * 3600

    /// Opening a variant's pre-orders (only when no campaign of it is open or still has orders waiting), or calling them off.
    static func preOrderEvents(_ command: PreOrderCommand, goods: GoodsState, at: Instant) throws(Rejection) -> [GoodsEvent] {
        guard let goodsId = goods.goodsId else { throw Rejection(.goodsNotFound, "no such goods") }
        switch command {
        case let .open(id, cap, endsAt, arrivesBy):
            let variant = try goods.chosenVariant(id)
            guard goods.isListed, variant.isListed else { throw Rejection(.goodsDelisted, "these goods are not for sale") }
            guard (1...Limits.stockMax).contains(cap) else {
                throw Rejection(.invalidInput, "cap must be between 1 and \(Limits.stockMax)", field: "cap")
            }
            guard at < endsAt, endsAt <= arrivesBy, arrivesBy <= at.adding(seconds: preOrderHorizonSeconds) else {
                throw Rejection(
                    .invalidInput, "now < endsAt ≤ arrivesBy, and the stock is announced at most a year ahead", field: "endsAt")
            }
            if let terms = variant.preOrder, terms.isOpen(at: at) || !variant.preOrders.isEmpty {
                throw Rejection(.preOrdersOpen, "pre-orders of this variant are open or still have orders waiting")
            }
            return [
                .preOrdersOpened(
                    PreOrdersOpened(variantId: variant.variantId.named(in: goodsId), cap: cap, endsAt: endsAt, arrivesBy: arrivesBy, at: at)
                )
            ]
        case let .cancel(id, reason):
            let variant = try goods.chosenVariant(id)
            try Limits.text(reason, "reason", max: Limits.reasonCharactersMax)
            guard let terms = variant.preOrder, !terms.isCancelled, terms.isOpen(at: at) || !variant.preOrders.isEmpty else {
                throw Rejection(.preOrdersNotOpen, "this variant has no pre-orders to call off")
            }
            return [.preOrdersCancelled(PreOrdersCancelled(variantId: variant.variantId.named(in: goodsId), reason: reason, at: at))]
        }
    }

    /// What units freed between `before` and `after` (released, returned) set off: queued pre-orders filled first, then
    /// the waitlist told its variant is back.
    static func afterUnitsFreed(before: GoodsState, after: GoodsState, at: Instant) -> [GoodsEvent] {
        var after = after
        var events: [GoodsEvent] = []
        for event in fillPreOrders(after, at: at) {
            events.append(event)
            after = after.evolve(event)
        }
        return events + backInStock(before: before, after: after, at: at)
    }

    /// The queued pre-orders free units fill, first come, first served: for each variant whose pre-orders were not called
    /// off, while the queue's first order fits in the units on hand and not reserved. A queue is never overtaken: an order
    /// that does not fit waits, and so do those after it.
    static func fillPreOrders(_ goods: GoodsState, at: Instant) -> [GoodsEvent] {
        guard let goodsId = goods.goodsId else { return [] }
        var events: [GoodsEvent] = []
        for variant in goods.variants where !variant.preOrders.isEmpty && variant.preOrder?.isCancelled != true {
            var free = variant.onHand - variant.reserved
            for hold in variant.preOrders {
                guard hold.quantity <= free else { break }
                free -= hold.quantity
                events.append(
                    .preOrderFilled(
                        PreOrderFilled(
                            orderId: hold.orderId, quantity: hold.quantity, variantId: variant.variantId.named(in: goodsId), at: at)
                    ))
            }
        }
        return events
    }
}
