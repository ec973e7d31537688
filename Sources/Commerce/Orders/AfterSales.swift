import Foundation

// After-sale service (售后: 退货, 补发, 仅退款), modelled on Medusa's returns and claims: a buyer asks about some of a
// received order's lines; the merchant approves or rejects; a return is refunded when the goods come back (what is not
// damaged goes back to stock), a claim for a missing or wrong item is refunded or replaced without a return. Each
// request is a stream of its own (`aftersale-<id>`) whose every step names the order's version it was decided on, and
// each step that changes what the order owes also lands on the order's stream (`AfterSaleOpened`, `OrderPartlyRefunded`,
// `AfterSaleClosed`), so two requests about the same order are decided one after the other and never refund a unit, or
// a yuan, twice.
//
// The refund of returned units (`AfterSales.refund`): each line's net price is its total less its share of the coupon
// discount and of the points' value (shared by line totals, the last line taking what rounding leaves); the units
// refunded so far and now are `net × units / quantity`, rounded down, so returning a line unit by unit refunds exactly
// its net price in all. Points used come back in the same proportion; points the order earned go in proportion to the
// money refunded. The delivery fee is not refunded by a partial return. Nothing refunds more than was paid.

public enum AfterSaleKind: String, Codable, Hashable, Sendable, CaseIterable {
    /// The goods come back; refunded for the units received.
    case `return`
    /// A missing or wrong item: refunded, or replaced, without a return.
    case claim
    /// The goods come back and another variant of the same goods (or the same one) is sent in their place.
    case exchange
}

public enum AfterSaleResolution: String, Codable, Hashable, Sendable, CaseIterable {
    case refund
    /// A new shipment: the same variant (a claim), or the variant asked for (an exchange).
    case replace
}

/// Units of one of the order's lines (`line` indexes `OrderPlaced.lines`); an exchange's line names the variant sent in
/// their place and its unit price when asked for.
public struct AfterSaleLine: Codable, Hashable, Sendable {
    public var line: Int
    public var quantity: Int
    public var replacement: VariantId?
    public var replacementPrice: Money?

    public init(line: Int, quantity: Int, replacement: VariantId? = nil, replacementPrice: Money? = nil) {
        self.line = line
        self.quantity = quantity
        self.replacement = replacement
        self.replacementPrice = replacementPrice
    }
}

/// What came back of a line: `received` units, `damaged` of them (those do not go back to stock).
public struct ReturnedLine: Codable, Hashable, Sendable {
    public var line: Int
    public var received: Int
    public var damaged: Int

    public init(line: Int, received: Int, damaged: Int = 0) {
        self.line = line
        self.received = received
        self.damaged = damaged
    }
}

// MARK: Events of the after-sale stream

public struct AfterSaleRequested: EventPayload {
    public static let eventType = "AfterSaleRequested"
    public var afterSaleId: AfterSaleId
    public var orderId: OrderId
    /// The order's version once this request is on it.
    public var orderVersion: Int
    public var kind: AfterSaleKind
    public var resolution: AfterSaleResolution
    public var lines: [AfterSaleLine]
    public var reason: String
    public var at: Instant

    public init(
        afterSaleId: AfterSaleId, orderId: OrderId, orderVersion: Int, kind: AfterSaleKind, resolution: AfterSaleResolution,
        lines: [AfterSaleLine], reason: String, at: Instant
    ) {
        self.afterSaleId = afterSaleId
        self.orderId = orderId
        self.orderVersion = orderVersion
        self.kind = kind
        self.resolution = resolution
        self.lines = lines
        self.reason = reason
        self.at = at
    }
}

public struct AfterSaleApproved: EventPayload {
    public static let eventType = "AfterSaleApproved"; public var orderVersion: Int; public var at: Instant
    public init(orderVersion: Int, at: Instant) { self.orderVersion = orderVersion; self.at = at }
}

public struct AfterSaleRejected: EventPayload {
    public static let eventType = "AfterSaleRejected"; public var orderVersion: Int; public var reason: String; public var at: Instant
    public init(orderVersion: Int, reason: String, at: Instant) { self.orderVersion = orderVersion; self.reason = reason; self.at = at }
}

public struct ReturnReceived: EventPayload {
    public static let eventType = "ReturnReceived"; public var orderVersion: Int; public var lines: [ReturnedLine]; public var at: Instant
    public init(orderVersion: Int, lines: [ReturnedLine], at: Instant) {
        self.orderVersion = orderVersion; self.lines = lines; self.at = at
    }
}

public struct AfterSaleRefunded: EventPayload {
    public static let eventType = "AfterSaleRefunded"
    public var orderVersion: Int
    /// The units refunded (a return's received ones, or a claim's).
    public var lines: [AfterSaleLine]
    public var amount: Money
    /// Points used on the order given back.
    public var points: Int64
    public var at: Instant

    public init(orderVersion: Int, lines: [AfterSaleLine], amount: Money, points: Int64, at: Instant) {
        self.orderVersion = orderVersion
        self.lines = lines
        self.amount = amount
        self.points = points
        self.at = at
    }
}

public struct ReplacementShipped: EventPayload {
    public static let eventType = "ReplacementShipped"
    public var orderVersion: Int
    public var carrier: String
    public var trackingNumber: String
    public var at: Instant

    public init(orderVersion: Int, carrier: String, trackingNumber: String, at: Instant) {
        self.orderVersion = orderVersion
        self.carrier = carrier
        self.trackingNumber = trackingNumber
        self.at = at
    }
}

/// An exchange's replacements cost more than the units that came back, at the prices paid for them: the buyer owes
/// `amount` before the replacements ship (they pay it with `InitiatePayment` naming the request).
public struct ExchangeDifferenceDue: EventPayload {
    public static let eventType = "ExchangeDifferenceDue"; public var orderVersion: Int; public var amount: Money; public var at: Instant
    public init(orderVersion: Int, amount: Money, at: Instant) { self.orderVersion = orderVersion; self.amount = amount; self.at = at }
}

/// The buyer paid what the exchange owed, through `paymentId`.
public struct ExchangeDifferencePaid: EventPayload {
    public static let eventType = "ExchangeDifferencePaid"
    public var orderVersion: Int
    public var paymentId: PaymentId
    public var amount: Money
    public var at: Instant

    public init(orderVersion: Int, paymentId: PaymentId, amount: Money, at: Instant) {
        self.orderVersion = orderVersion
        self.paymentId = paymentId
        self.amount = amount
        self.at = at
    }
}

public enum AfterSaleEvent: Hashable, Sendable {
    case requested(AfterSaleRequested)
    case approved(AfterSaleApproved)
    case rejected(AfterSaleRejected)
    case returnReceived(ReturnReceived)
    case refunded(AfterSaleRefunded)
    case replacementShipped(ReplacementShipped)
    case differenceDue(ExchangeDifferenceDue)
    case differencePaid(ExchangeDifferencePaid)

    var payload: any EventPayload {
        switch self {
        case .requested(let payload): return payload
        case .approved(let payload): return payload
        case .rejected(let payload): return payload
        case .returnReceived(let payload): return payload
        case .refunded(let payload): return payload
        case .replacementShipped(let payload): return payload
        case .differenceDue(let payload): return payload
        case .differencePaid(let payload): return payload
        }
    }
}

// MARK: Events of the order's stream

/// An after-sale request holds `lines`' units until it is closed or settled.
public struct AfterSaleOpened: EventPayload {
    public static let eventType = "AfterSaleOpened"
    public var afterSaleId: AfterSaleId
    public var kind: AfterSaleKind
    public var lines: [AfterSaleLine]
    public var at: Instant

    public init(afterSaleId: AfterSaleId, kind: AfterSaleKind, lines: [AfterSaleLine], at: Instant) {
        self.afterSaleId = afterSaleId
        self.kind = kind
        self.lines = lines
        self.at = at
    }
}

/// The request is over: rejected (its units free to ask about again), or its units replaced.
public struct AfterSaleClosed: EventPayload {
    public static let eventType = "AfterSaleClosed"
    public var afterSaleId: AfterSaleId
    /// Units settled by a replacement (none when rejected).
    public var replaced: [AfterSaleLine]
    public var at: Instant

    public init(afterSaleId: AfterSaleId, replaced: [AfterSaleLine], at: Instant) {
        self.afterSaleId = afterSaleId
        self.replaced = replaced
        self.at = at
    }
}

/// Part of the order refunded through an after-sale request, which it settles.
public struct OrderPartlyRefunded: EventPayload {
    public static let eventType = "OrderPartlyRefunded"
    public var afterSaleId: AfterSaleId
    public var lines: [AfterSaleLine]
    public var amount: Money
    public var points: Int64
    public var at: Instant

    public init(afterSaleId: AfterSaleId, lines: [AfterSaleLine], amount: Money, points: Int64, at: Instant) {
        self.afterSaleId = afterSaleId
        self.lines = lines
        self.amount = amount
        self.points = points
        self.at = at
    }
}

/// Money paid for an exchange's dearer replacements (the order's ledger of what `ExchangeDifferencePaid` took): a whole
/// refund of the order gives it back too.
public struct OrderDifferencePaid: EventPayload {
    public static let eventType = "OrderDifferencePaid"
    public var afterSaleId: AfterSaleId
    public var paymentId: PaymentId
    public var amount: Money
    public var at: Instant

    public init(afterSaleId: AfterSaleId, paymentId: PaymentId, amount: Money, at: Instant) {
        self.afterSaleId = afterSaleId
        self.paymentId = paymentId
        self.amount = amount
        self.at = at
    }
}

// MARK: State

public enum AfterSaleStatus: String, Codable, Hashable, Sendable, CaseIterable {
    case requested, approved, rejected, refunded, replaced
}

public struct AfterSaleState: Hashable, Codable, Sendable {
    public var requested: AfterSaleRequested?
    public var status = AfterSaleStatus.requested
    public var rejectionReason: String?
    public var returned: [ReturnedLine] = []
    public var refund: AfterSaleRefunded?
    public var replacement: ReplacementShipped?
    /// What an exchange owes for dearer replacements, and its payment once paid.
    public var due: Money?
    public var paid: ExchangeDifferencePaid?
    /// Every step's time, in order (the request's first).
    public var updatedAt: Instant?

    public init() {}

    public var exists: Bool { requested != nil }
    public var isOpen: Bool { status == .requested || status == .approved }
    /// What the buyer still owes before the replacements ship (nil: nothing).
    public var owed: Money? { status == .approved && paid == nil ? due : nil }

    public func evolve(_ event: AfterSaleEvent) -> AfterSaleState {
        var next = self
        switch event {
        case .requested(let requested):
            next.requested = requested
            next.updatedAt = requested.at
        case .approved(let approved):
            next.status = .approved
            next.updatedAt = approved.at
        case .rejected(let rejected):
            next.status = .rejected
            next.rejectionReason = rejected.reason
            next.updatedAt = rejected.at
        case .returnReceived(let received):
            next.returned = received.lines
            next.updatedAt = received.at
        case .refunded(let refunded):
            next.status = .refunded
            next.refund = refunded
            next.updatedAt = refunded.at
        case .replacementShipped(let shipped):
            next.status = .replaced
            next.replacement = shipped
            next.updatedAt = shipped.at
        case .differenceDue(let due):
            next.due = due.amount
            next.updatedAt = due.at
        case .differencePaid(let paid):
            next.paid = paid
            next.updatedAt = paid.at
        }
        return next
    }
}

/// What an order's after-sale requests hold and settled (folded from the order's stream, part of `OrderState`).
public struct OrderAfterSales: Hashable, Codable, Sendable {
    /// Every request about the order, oldest first.
    public var ids: [AfterSaleId] = []
    /// The open requests' units.
    public var open: [AfterSaleId: [AfterSaleLine]] = [:]
    /// Units refunded and units replaced, by line.
    public var refundedUnits: [Int: Int] = [:]
    public var replacedUnits: [Int: Int] = [:]
    public var refundedAmount = Money.zero
    public var refundedPoints: Int64 = 0
    /// What exchanges paid for dearer replacements (beside the order's own payment), by request; a request refunded
    /// instead gives its payment back and leaves this.
    public var differencesPaid: [AfterSaleId: OrderDifferencePaid] = [:]

    public init() {}

    /// All the differences paid and kept.
    public var differencesAmount: Money { Money(minorUnits: differencesPaid.values.reduce(0) { $0 + $1.amount.minorUnits }) }
    /// Their payments, in id order.
    public var differencePayments: [PaymentId] { differencesPaid.values.map(\.paymentId).sorted() }

    /// Units of `line` no new request may ask about: held by an open request, refunded or replaced.
    public func held(_ line: Int) -> Int {
        (refundedUnits[line] ?? 0) + (replacedUnits[line] ?? 0)
            + open.values.reduce(0) { $0 + ($1.first { $0.line == line }?.quantity ?? 0) }
    }

    mutating func apply(_ event: OrderEvent) {
        switch event {
        case .afterSaleOpened(let opened):
            ids.append(opened.afterSaleId)
            open[opened.afterSaleId] = opened.lines
        case .afterSaleClosed(let closed):
            open[closed.afterSaleId] = nil
            for line in closed.replaced { replacedUnits[line.line, default: 0] += line.quantity }
        case .partlyRefunded(let refunded):
            open[refunded.afterSaleId] = nil
            for line in refunded.lines { refundedUnits[line.line, default: 0] += line.quantity }
            refundedAmount = Money(minorUnits: refundedAmount.minorUnits + refunded.amount.minorUnits)
            refundedPoints += refunded.points
            differencesPaid[refunded.afterSaleId] = nil
        case .differencePaid(let paid): differencesPaid[paid.afterSaleId] = paid
        default: break
        }
    }
}

// MARK: Commands and rules

public enum AfterSaleCommand: Hashable, Sendable {
    /// The buyer asks about `lines` of a received order (a return is always refunded).
    case request(orderId: OrderId, kind: AfterSaleKind, resolution: AfterSaleResolution, lines: [AfterSaleLine], reason: String)
    case approve
    /// Turns the request down, before or after approving it, as long as nothing came back.
    case reject(reason: String)
    /// The merchant records what came back of an approved return; the received units are refunded.
    case receive([ReturnedLine])
    /// The merchant ships the replacement of an approved claim.
    case shipReplacement(carrier: String, trackingNumber: String)
    /// The merchant refunds an exchange whose goods came back instead of sending replacements (none left, discontinued):
    /// the units received are refunded as a return's are, and a difference paid goes back to its payment.
    case refundExchange
}

/// The states an after-sale command decides over besides its own stream.
public struct AfterSaleContext: Sendable {
    public var order: OrderState
    public var goods: [GoodsId: GoodsState]
    public var payment: PaymentState?
    public var points: PointsState
    /// The payment of what the request's exchange owed, once paid.
    public var differencePayment: PaymentState?

    public init(
        order: OrderState, goods: [GoodsId: GoodsState] = [:], payment: PaymentState? = nil, points: PointsState = PointsState(),
        differencePayment: PaymentState? = nil
    ) {
        self.order = order
        self.goods = goods
        self.payment = payment
        self.points = points
        self.differencePayment = differencePayment
    }
}

public enum AfterSales {
    public static func decide(
        _ id: AfterSaleId, _ command: AfterSaleCommand, actor: Actor, afterSale: AfterSaleState, context: AfterSaleContext, at: Instant,
        policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        if case let .request(orderId, kind, resolution, lines, reason) = command {
            return try request(
                id, orderId: orderId, kind: kind, resolution: resolution, lines: lines, reason: reason, actor: actor, afterSale: afterSale,
                order: context.order, goods: context.goods, at: at, policy: policy)
        }
        guard let requested = afterSale.requested, let placed = context.order.placed else {
            throw Rejection(.afterSaleNotFound, "no such after-sale request")
        }
        let isMerchant = actor.userId.map { merchant in placed.lines.allSatisfy { $0.merchantId == merchant } } ?? false
        guard actor.isAdmin || isMerchant else {
            throw Rejection(actor.userId == nil ? .forbidden : .notOwner, "the order's merchant answers after-sale requests")
        }
        let order = context.order
        // The version the order will be at once this step's order event, if any, is on it.
        let nextVersion = order.version + 1
        let stream = StreamId.afterSale(id)
        let orderStream = StreamId.order(placed.orderId)
        var decision = Decision()
        switch command {
        case .request: preconditionFailure("handled above")
        case .approve:
            guard afterSale.status == .requested else { throw Rejection(.afterSaleNotOpen, "the request is \(afterSale.status.rawValue)") }
            decision.append(.afterSale(.approved(AfterSaleApproved(orderVersion: order.version, at: at))), to: stream)
            // A claim refunded without a return is refunded as soon as it is approved.
            if requested.kind == .claim, requested.resolution == .refund {
                try refund(id, requested.lines, placed: placed, context: context, at: at, into: &decision)
            }
        case .reject(let reason):
            try Limits.text(reason, "reason", max: Limits.reasonCharactersMax)
            // Until something came back: an approved return whose parcel never arrives is turned down too.
            guard afterSale.isOpen, afterSale.returned.isEmpty else {
                throw Rejection(.afterSaleNotOpen, "the request is \(afterSale.returned.isEmpty ? afterSale.status.rawValue : "received")")
            }
            decision.append(.afterSale(.rejected(AfterSaleRejected(orderVersion: nextVersion, reason: reason, at: at))), to: stream)
            decision.append(.order(.afterSaleClosed(AfterSaleClosed(afterSaleId: id, replaced: [], at: at))), to: orderStream)
        case .receive(let returned):
            guard requested.kind != .claim else { throw Rejection(.afterSaleNotOpen, "a claim has nothing to receive") }
            guard afterSale.status == .approved, afterSale.returned.isEmpty else {
                throw Rejection(.afterSaleNotOpen, "the request is \(afterSale.returned.isEmpty ? afterSale.status.rawValue : "received")")
            }
            try check(returned, against: requested.lines)
            // An exchange's receipt is on the request only: the order changes when the replacement ships.
            let version = requested.kind == .return ? nextVersion : order.version
            decision.append(.afterSale(.returnReceived(ReturnReceived(orderVersion: version, lines: returned, at: at))), to: stream)
            restock(returned, placed: placed, goods: context.goods, at: at, into: &decision)
            if requested.kind == .exchange, let due = difference(exchanging: returned, requested.lines, placed: placed) {
                decision.append(.afterSale(.differenceDue(ExchangeDifferenceDue(orderVersion: version, amount: due, at: at))), to: stream)
            }
            if requested.kind == .return {
                let refunded = returned.filter { $0.received > 0 }.map { AfterSaleLine(line: $0.line, quantity: $0.received) }
                try refund(id, refunded, placed: placed, context: context, at: at, into: &decision)
            }
        case let .shipReplacement(carrier, trackingNumber):
            try Limits.text(carrier, "carrier", max: Limits.carrierCharactersMax)
            try Limits.text(trackingNumber, "trackingNumber", max: Limits.trackingNumberCharactersMax)
            guard requested.resolution == .replace else { throw Rejection(.afterSaleNotOpen, "the request is refunded, not replaced") }
            guard afterSale.status == .approved else { throw Rejection(.afterSaleNotOpen, "the request is \(afterSale.status.rawValue)") }
            var replaced = requested.lines
            if requested.kind == .exchange {
                // The units that came back are exchanged; the rest stay the buyer's.
                guard !afterSale.returned.isEmpty else { throw Rejection(.afterSaleNotOpen, "the returned goods have not arrived") }
                if let owed = afterSale.owed {
                    throw Rejection(.exchangeDifferenceUnpaid, "the buyer owes \(owed) for the dearer replacement: it ships once paid")
                }
                replaced = requested.lines.compactMap { line in
                    let received = afterSale.returned.first { $0.line == line.line }?.received ?? 0
                    guard received > 0 else { return nil }
                    var exchanged = line
                    exchanged.quantity = received
                    return exchanged
                }
                try refundExchangeDifference(id, replaced, placed: placed, context: context, at: at, into: &decision)
            }
            try shipReplacement(replaced, placed: placed, goods: context.goods, at: at, into: &decision)
            decision.append(
                .afterSale(
                    .replacementShipped(
                        ReplacementShipped(orderVersion: nextVersion, carrier: carrier, trackingNumber: trackingNumber, at: at))),
                to: stream)
            decision.append(.order(.afterSaleClosed(AfterSaleClosed(afterSaleId: id, replaced: replaced, at: at))), to: orderStream)
        case .refundExchange:
            guard requested.kind == .exchange else { throw Rejection(.afterSaleNotOpen, "only an exchange is refunded instead") }
            guard afterSale.status == .approved, !afterSale.returned.isEmpty else {
                throw Rejection(
                    .afterSaleNotOpen,
                    afterSale.status == .approved
                        ? "the returned goods have not arrived: reject it" : "the request is \(afterSale.status.rawValue)")
            }
            let received = afterSale.returned.filter { $0.received > 0 }.map { AfterSaleLine(line: $0.line, quantity: $0.received) }
            try refund(id, received, placed: placed, context: context, at: at, into: &decision)
            if let paid = afterSale.paid, let payment = context.differencePayment, payment.refundable.minorUnits > 0 {
                decision.append(
                    .payment(.refunded(PaymentRefunded(amount: payment.refundable, reason: "after-sale \(id) refunded", at: at))),
                    to: .payment(paid.paymentId))
            }
        }
        return decision
    }

    private static func request(
        _ id: AfterSaleId, orderId: OrderId, kind: AfterSaleKind, resolution: AfterSaleResolution, lines: [AfterSaleLine], reason: String,
        actor: Actor, afterSale: AfterSaleState, order: OrderState, goods: [GoodsId: GoodsState], at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        guard let placed = order.placed else { throw Rejection(.orderNotFound, "no such order") }
        guard actor.userId == placed.userId || actor.isAdmin else { throw Rejection(.notOwner, "not your order") }
        guard !afterSale.exists else { throw Rejection(.afterSaleExists, "after-sale request \(id) exists") }
        try Limits.text(reason, "reason", max: Limits.reasonCharactersMax)
        guard kind == .claim || resolution == (kind == .exchange ? .replace : .refund) else {
            throw Rejection(.invalidInput, "a return is refunded, an exchange replaced; a claim is either", field: "resolution")
        }
        guard order.status == .received, let receivedAt = order.receivedAt else {
            throw Rejection(.orderNotRefundable, "order is \(order.status.rawValue): after-sale requests are for received orders")
        }
        guard at < receivedAt.adding(seconds: policy.refundWindowSeconds) else {
            throw Rejection(.refundWindowClosed, "the after-sale window has closed")
        }
        guard !lines.isEmpty, lines.count <= placed.lines.count, Set(lines.map(\.line)).count == lines.count else {
            throw Rejection(.invalidInput, "name each of the order's lines at most once", field: "lines")
        }
        for line in lines {
            guard placed.lines.indices.contains(line.line) else {
                throw Rejection(.invalidInput, "the order has lines 0…\(placed.lines.count - 1)", field: "lines")
            }
            let left = placed.lines[line.line].quantity - order.afterSales.held(line.line)
            guard line.quantity >= 1, line.quantity <= left else {
                throw Rejection(
                    .quantityNotReturnable,
                    "\(placed.lines[line.line].title): \(left) of \(placed.lines[line.line].quantity) can be asked about",
                    field: "lines")
            }
        }
        let lines = try lines.sorted { $0.line < $1.line }.map { line throws(Rejection) in
            try priced(line, kind: kind, ordered: placed.lines[line.line], goods: goods)
        }
        var decision = Decision()
        decision.append(
            .afterSale(
                .requested(
                    AfterSaleRequested(
                        afterSaleId: id, orderId: orderId, orderVersion: order.version + 1, kind: kind, resolution: resolution,
                        lines: lines,
                        reason: reason, at: at))), to: .afterSale(id))
        decision.append(.order(.afterSaleOpened(AfterSaleOpened(afterSaleId: id, kind: kind, lines: lines, at: at))), to: .order(orderId))
        return decision
    }

    /// An exchange's line with the replacement's unit price now; a replacement named on another kind is refused. The
    /// replacement is a listed variant of the same goods, at any price: a dearer one's difference is owed once the
    /// goods come back (`difference(exchanging:)`), a cheaper one's refunded when the replacement ships.
    private static func priced(
        _ line: AfterSaleLine, kind: AfterSaleKind, ordered: OrderLine, goods: [GoodsId: GoodsState]
    ) throws(Rejection) -> AfterSaleLine {
        var line = line
        line.replacementPrice = nil
        guard kind == .exchange else {
            guard line.replacement == nil else { throw Rejection(.invalidInput, "only an exchange names a replacement", field: "lines") }
            return line
        }
        guard let state = goods[ordered.goodsId], state.exists else { throw Rejection(.goodsNotFound, "\(ordered.title) is gone") }
        let wanted = line.replacement ?? ordered.variantId
        guard let variant = state.variant(wanted) else {
            throw Rejection(.variantNotFound, "\(ordered.title) has no such variant", field: "lines")
        }
        guard variant.isListed, state.isListed else { throw Rejection(.variantDelisted, "\(ordered.title): that variant is not sold now") }
        line.replacement = variant.variantId
        line.replacementPrice = variant.price
        return line
    }

    /// Each returned line is one the request named, `0 ≤ damaged ≤ received ≤` the units asked about.
    private static func check(_ returned: [ReturnedLine], against lines: [AfterSaleLine]) throws(Rejection) {
        guard !returned.isEmpty, Set(returned.map(\.line)).count == returned.count else {
            throw Rejection(.invalidInput, "name each returned line once", field: "lines")
        }
        for line in returned {
            guard let asked = lines.first(where: { $0.line == line.line }) else {
                throw Rejection(.invalidInput, "line \(line.line) is not in the request", field: "lines")
            }
            guard line.received >= 0, line.damaged >= 0, line.damaged <= line.received, line.received <= asked.quantity else {
                throw Rejection(.invalidInput, "line \(line.line): 0 ≤ damaged ≤ received ≤ \(asked.quantity)", field: "lines")
            }
        }
    }

    /// Undamaged units go back on hand; freed units fill queued pre-orders, then tell the waitlist.
    private static func restock(
        _ returned: [ReturnedLine], placed: OrderPlaced, goods: [GoodsId: GoodsState], at: Instant, into decision: inout Decision
    ) {
        var after = goods
        var touched: [GoodsId] = []
        for line in returned where line.received > line.damaged {
            let ordered = placed.lines[line.line]
            guard let state = after[ordered.goodsId] else { continue }
            let event = GoodsEvent.stockReturned(
                StockReturned(orderId: placed.orderId, quantity: line.received - line.damaged, variantId: ordered.variantId, at: at))
            decision.append(.goods(event), to: .goods(ordered.goodsId))
            if !touched.contains(ordered.goodsId) { touched.append(ordered.goodsId) }
            after[ordered.goodsId] = state.evolve(event)
        }
        for goodsId in touched {
            guard let before = goods[goodsId], let freed = after[goodsId] else { continue }
            for event in Catalog.afterUnitsFreed(before: before, after: freed, at: at) {
                decision.append(.goods(event), to: .goods(goodsId))
            }
        }
    }

    /// The same variant again, from stock: reserved and shipped at once.
    private static func shipReplacement(
        _ lines: [AfterSaleLine], placed: OrderPlaced, goods: [GoodsId: GoodsState], at: Instant, into decision: inout Decision
    ) throws(Rejection) {
        var after = goods
        for line in lines {
            let ordered = placed.lines[line.line]
            let variantId = line.replacement.map { $0 == ordered.goodsId.defaultVariant ? nil : $0 } ?? ordered.variantId
            guard let state = after[ordered.goodsId], let variant = state.variant(variantId) else {
                throw Rejection(.goodsNotFound, "\(ordered.title) is gone")
            }
            guard variant.available >= line.quantity else {
                throw Rejection(
                    .insufficientStock, "\(ordered.title): \(variant.available) left, \(line.quantity) to replace",
                    field: "\(ordered.goodsId)")
            }
            var next = state
            for event in [
                GoodsEvent.stockReserved(StockReserved(orderId: placed.orderId, quantity: line.quantity, at: at, variantId: variantId)),
                .stockShipped(StockShipped(orderId: placed.orderId, quantity: line.quantity, at: at, variantId: variantId)),
            ] {
                decision.append(.goods(event), to: .goods(ordered.goodsId))
                next = next.evolve(event)
            }
            for low in Catalog.lowStock(before: state, after: next, at: at) { decision.append(.goods(low), to: .goods(ordered.goodsId)) }
            after[ordered.goodsId] = next
        }
    }

    /// What exchanging the units that came back owes, when the replacements cost more than them at the unit prices paid
    /// (list prices: what the order's discounts took off a unit stays the buyer's), a cheaper line offsetting a dearer
    /// one; nil when nothing is owed (the difference, if any, is then refunded as the replacements ship).
    static func difference(exchanging returned: [ReturnedLine], _ lines: [AfterSaleLine], placed: OrderPlaced) -> Money? {
        var owed: Int64 = 0
        for line in lines {
            let received = Int64(returned.first { $0.line == line.line }?.received ?? 0)
            guard received > 0, let price = line.replacementPrice, placed.lines.indices.contains(line.line) else { continue }
            owed += (price.minorUnits - placed.lines[line.line].unitPrice.minorUnits) * received
        }
        return owed > 0 ? Money(minorUnits: owed) : nil
    }

    /// An exchange refunds what the returned units were worth (their net price, as a return would refund it) beyond the
    /// replacements' price: a cheaper variant's difference. Points stay with the order; nothing is refunded when the
    /// replacement costs as much.
    private static func refundExchangeDifference(
        _ id: AfterSaleId, _ lines: [AfterSaleLine], placed: OrderPlaced, context: AfterSaleContext, at: Instant,
        into decision: inout Decision
    ) throws(Rejection) {
        let order = context.order
        var credit: Int64 = 0
        for line in lines {
            // Each line's worth as if it alone came back now (what earlier returns of the line took is not counted twice).
            credit += refund(of: [line], order: order).amount
        }
        let cost = lines.reduce(Int64(0)) { $0 + ($1.replacementPrice?.minorUnits ?? 0) * Int64($1.quantity) }
        // Nothing to settle: no cheaper replacement, or nothing left of what was paid (an order paid in points).
        guard credit > cost, order.paidAmount.minorUnits > order.afterSales.refundedAmount.minorUnits else { return }
        try settle(id, [], worth: credit - cost, points: 0, placed: placed, context: context, at: at, into: &decision)
    }

    /// Settles the request on the order with `worth` in money (no more than is left of what was paid) and `points`
    /// given back: the request's and the order's refund, and the payment's. Answers the money refunded.
    @discardableResult
    private static func settle(
        _ id: AfterSaleId, _ lines: [AfterSaleLine], worth: Int64, points: Int64, placed: OrderPlaced, context: AfterSaleContext,
        at: Instant, into decision: inout Decision
    ) throws(Rejection) -> Money {
        let order = context.order
        let left = order.paidAmount.minorUnits - order.afterSales.refundedAmount.minorUnits
        let amount = Money(minorUnits: max(0, min(worth, left)))
        decision.append(
            .afterSale(.refunded(AfterSaleRefunded(orderVersion: order.version + 1, lines: lines, amount: amount, points: points, at: at))),
            to: .afterSale(id))
        decision.append(
            .order(.partlyRefunded(OrderPartlyRefunded(afterSaleId: id, lines: lines, amount: amount, points: points, at: at))),
            to: .order(placed.orderId))
        try refundPayment(id, amount, order: order, payment: context.payment, at: at, into: &decision)
        return amount
    }

    private static func refundPayment(
        _ id: AfterSaleId, _ amount: Money, order: OrderState, payment: PaymentState?, at: Instant, into decision: inout Decision
    ) throws(Rejection) {
        guard amount.minorUnits > 0, let paymentId = order.paymentId, let payment, payment.exists else { return }
        guard payment.status == .succeeded else {
            throw Rejection(.paymentNotPending, "the order's payment \(paymentId) is \(payment.status.rawValue)")
        }
        decision.append(
            .payment(
                .refunded(
                    PaymentRefunded(
                        amount: Money(minorUnits: min(amount.minorUnits, payment.refundable.minorUnits)), reason: "after-sale \(id)", at: at
                    ))),
            to: .payment(paymentId))
    }

    /// Refunds `lines` (money to the order's payment, points used back, points earned taken in proportion) and settles
    /// the request on the order.
    private static func refund(
        _ id: AfterSaleId, _ lines: [AfterSaleLine], placed: OrderPlaced, context: AfterSaleContext, at: Instant,
        into decision: inout Decision
    ) throws(Rejection) {
        let order = context.order
        let share = refund(of: lines, order: order)
        let left = order.paidAmount.minorUnits - order.afterSales.refundedAmount.minorUnits
        let amount = try settle(
            id, lines, worth: share.amount, points: share.points, placed: placed, context: context, at: at, into: &decision)
        var balance = context.points.balance
        if share.points > 0 {
            decision.append(
                .points(.refunded(PointsRefunded(orderId: placed.orderId, points: share.points, at: at))), to: .points(placed.userId))
            balance += share.points
        }
        // Points earned go in proportion to the money refunded of what was still kept.
        let earned = context.points.earnedByOrder[placed.orderId] ?? 0
        if earned > 0, left > 0 {
            let revoke = min(Int64(Int128(earned) * Int128(amount.minorUnits) / Int128(left)), balance)
            if revoke > 0 {
                decision.append(
                    .points(.revoked(PointsRevoked(orderId: placed.orderId, points: revoke, at: at))), to: .points(placed.userId))
            }
        }
    }

    /// The money and points `lines` refund, given what was refunded before: see the notes at the top of this file.
    public static func refund(of lines: [AfterSaleLine], order: OrderState) -> (amount: Int64, points: Int64) {
        guard let placed = order.placed else { return (0, 0) }
        let settled = order.afterSales
        // Each line less what promotions took off it exactly; the coupon's part shared by what is left of each line.
        let promoted = order.promotionDiscountByLine
        let totals = zip(placed.lines, promoted).map { $0.lineTotal.minorUnits - $1 }
        let discount = apportion(placed.discount.minorUnits - promoted.reduce(0, +), by: totals)
        let pointsValue = apportion(placed.pointsValue.minorUnits, by: totals)
        let points = apportion(placed.pointsUsed, by: totals)
        var amount: Int64 = 0
        var pointsBack: Int64 = 0
        for line in lines where placed.lines.indices.contains(line.line) {
            let quantity = Int64(max(placed.lines[line.line].quantity, 1))
            let before = Int64(settled.refundedUnits[line.line] ?? 0)
            let now = before + Int64(line.quantity)
            let net = max(0, totals[line.line] - discount[line.line] - pointsValue[line.line])
            amount += net * now / quantity - net * before / quantity
            pointsBack += points[line.line] * now / quantity - points[line.line] * before / quantity
        }
        return (amount, pointsBack)
    }

    /// `total` shared in proportion to `weights`, rounded down, the last share taking what rounding leaves.
    static func apportion(_ total: Int64, by weights: [Int64]) -> [Int64] {
        let sum = weights.reduce(0, +)
        guard sum > 0, total > 0, !weights.isEmpty else { return weights.map { _ in 0 } }
        var shares = weights.map { Int64(Int128(total) * Int128($0) / Int128(sum)) }
        shares[shares.count - 1] = total - shares.dropLast().reduce(0, +)
        return shares
    }
}

extension AfterSales: Decider {
    public struct Command: Hashable, Sendable {
        public var afterSaleId: AfterSaleId
        public var command: AfterSaleCommand

        public init(_ afterSaleId: AfterSaleId, _ command: AfterSaleCommand) {
            self.afterSaleId = afterSaleId
            self.command = command
        }
    }

    public static func reads(_ command: Command, actor: Actor, loaded: Loaded) -> [StreamId] {
        let stream = StreamId.afterSale(command.afterSaleId)
        let afterSale: AfterSaleState = loaded[stream]
        let orderId: OrderId
        if case .request(let id, let kind, _, _, _) = command.command {
            // An exchange prices its replacements: the order's goods too.
            guard kind == .exchange else { return [stream, .order(id)] }
            orderId = id
        } else {
            guard let id = afterSale.requested?.orderId else { return [stream] }
            orderId = id
        }
        let order: OrderState = loaded[.order(orderId)]
        guard let placed = order.placed else { return [stream, .order(orderId)] }
        var streams: [StreamId] = [stream, .order(orderId), .points(placed.userId)]
        streams += placed.lines.map { .goods($0.goodsId) }
        if let payment = order.paymentId { streams.append(.payment(payment)) }
        if let paid = afterSale.paid { streams.append(.payment(paid.paymentId)) }
        return streams
    }

    public static func decide(
        _ command: Command, actor: Actor, loaded: Loaded, at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        let afterSale: AfterSaleState = loaded[.afterSale(command.afterSaleId)]
        let orderId: OrderId?
        if case .request(let id, _, _, _, _) = command.command { orderId = id } else { orderId = afterSale.requested?.orderId }
        var context = AfterSaleContext(order: orderId.map { loaded[.order($0)] } ?? OrderState())
        if let placed = context.order.placed {
            for line in placed.lines { context.goods[line.goodsId] = loaded[.goods(line.goodsId)] }
            context.points = loaded[.points(placed.userId)]
            context.payment = context.order.paymentId.map { loaded[.payment($0)] }
            context.differencePayment = afterSale.paid.map { loaded[.payment($0.paymentId)] }
        }
        return try decide(
            command.afterSaleId, command.command, actor: actor, afterSale: afterSale, context: context, at: at, policy: policy)
    }
}
