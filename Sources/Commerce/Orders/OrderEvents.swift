import Foundation

// MARK: Orders

public struct OrderLine: Codable, Hashable, Sendable {
    public var goodsId: GoodsId
    public var merchantId: UserId
    public var title: String
    public var unitPrice: Money
    public var quantity: Int
    public var lineTotal: Money
    /// The variant bought (nil: the goods' default one), and its label ("颜色: 红 / 尺码: M"). Both are in
    /// `OrderPlaced` version 3 only, written when some line names a variant.
    public var variantId: VariantId?
    public var variant: String?

    public init(
        goodsId: GoodsId, merchantId: UserId, title: String, unitPrice: Money, quantity: Int, lineTotal: Money,
        variantId: VariantId? = nil, variant: String? = nil
    ) {
        self.goodsId = goodsId
        self.merchantId = merchantId
        self.title = title
        self.unitPrice = unitPrice
        self.quantity = quantity
        self.lineTotal = lineTotal
        self.variantId = variantId
        self.variant = variant
    }

    private enum CodingKeys: String, CodingKey {
        case goodsId, merchantId, title, unitPrice, quantity, lineTotal, variantId, variant
    }

    /// The variant fields exist from `OrderPlaced` version 3 on (the binary form has no names to tell).
    private static func hasVariantFields(_ userInfo: [CodingUserInfoKey: Any]) -> Bool {
        (userInfo[.eventSchemaVersion] as? Int ?? OrderPlaced.schemaVersion) >= 3
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        goodsId = try container.decode(GoodsId.self, forKey: .goodsId)
        merchantId = try container.decode(UserId.self, forKey: .merchantId)
        title = try container.decode(String.self, forKey: .title)
        unitPrice = try container.decode(Money.self, forKey: .unitPrice)
        quantity = try container.decode(Int.self, forKey: .quantity)
        lineTotal = try container.decode(Money.self, forKey: .lineTotal)
        if Self.hasVariantFields(decoder.userInfo) {
            variantId = try container.decodeIfPresent(VariantId.self, forKey: .variantId)
            variant = try container.decodeIfPresent(String.self, forKey: .variant)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(goodsId, forKey: .goodsId)
        try container.encode(merchantId, forKey: .merchantId)
        try container.encode(title, forKey: .title)
        try container.encode(unitPrice, forKey: .unitPrice)
        try container.encode(quantity, forKey: .quantity)
        try container.encode(lineTotal, forKey: .lineTotal)
        if Self.hasVariantFields(encoder.userInfo) {
            try container.encodeIfPresent(variantId, forKey: .variantId)
            try container.encodeIfPresent(variant, forKey: .variant)
        }
    }
}

/// A block of the day's order numbers, taken by one engine to hand out: numbers stay unique without every order touching one stream.
public struct OrderNumbersReserved: EventPayload {
    public static let eventType = "OrderNumbersReserved"; public var day: String; public var first: Int; public var count: Int
    public init(day: String, first: Int, count: Int) { self.day = day; self.first = first; self.count = count }
}

public struct OrderPlaced: EvolvedEventPayload {
    public static let eventType = "OrderPlaced"
    /// 3: lines may name their variant (`OrderLine.variantId`, `.variant`), and the delivery chosen follows the other
    /// fields; written only when the order has either, else in the v2 form.
    public static var schemaVersion: Int { 3 }
    /// Whether the event needs version 3: some line names a variant, or a delivery was chosen.
    public var needsVersion3: Bool { delivery != nil || lines.contains { $0.variantId != nil || $0.variant != nil } }
    public var writtenVersion: Int { needsVersion3 ? 3 : 2 }
    public var orderId: OrderId
    public var number: String
    public var userId: UserId
    public var lines: [OrderLine]
    public var subtotal: Money
    public var discount: Money
    public var couponId: CouponId?
    public var pointsUsed: Int64
    public var pointsValue: Money
    public var total: Money
    public var address: Address
    public var at: Instant
    public var expiresAt: Instant
    /// The delivery method chosen and its fee, counted in `total` (version 3).
    public var delivery: DeliveryChoice?

    public init(
        orderId: OrderId, number: String, userId: UserId, lines: [OrderLine], subtotal: Money, discount: Money, couponId: CouponId?,
        pointsUsed: Int64, pointsValue: Money, total: Money, address: Address, at: Instant, expiresAt: Instant,
        delivery: DeliveryChoice? = nil
    ) {
        self.orderId = orderId
        self.number = number
        self.userId = userId
        self.lines = lines
        self.subtotal = subtotal
        self.discount = discount
        self.couponId = couponId
        self.pointsUsed = pointsUsed
        self.pointsValue = pointsValue
        self.total = total
        self.address = address
        self.at = at
        self.expiresAt = expiresAt
        self.delivery = delivery
    }
}
public struct OrderPaid: EventPayload {
    public static let eventType = "OrderPaid"; public var paymentId: PaymentId; public var amount: Money; public var at: Instant
    public init(paymentId: PaymentId, amount: Money, at: Instant) { self.paymentId = paymentId; self.amount = amount; self.at = at }
}
public struct OrderShipped: EventPayload {
    public static let eventType = "OrderShipped"; public var carrier: String; public var trackingNumber: String; public var at: Instant
    public init(carrier: String, trackingNumber: String, at: Instant) {
        self.carrier = carrier; self.trackingNumber = trackingNumber; self.at = at
    }
}
public struct OrderReceived: EventPayload {
    public static let eventType = "OrderReceived"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
public struct OrderCancelled: EventPayload {
    public static let eventType = "OrderCancelled"; public var reason: String; public var refundAmount: Money; public var at: Instant
    public init(reason: String, refundAmount: Money, at: Instant) { self.reason = reason; self.refundAmount = refundAmount; self.at = at }
}
public struct RefundRequested: EventPayload {
    public static let eventType = "RefundRequested"; public var reason: String; public var at: Instant
    public init(reason: String, at: Instant) { self.reason = reason; self.at = at }
}
public struct RefundApproved: EventPayload {
    public static let eventType = "RefundApproved"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
public struct RefundRejected: EventPayload {
    public static let eventType = "RefundRejected"; public var reason: String; public var at: Instant
    public init(reason: String, at: Instant) { self.reason = reason; self.at = at }
}
public struct OrderRefunded: EventPayload {
    public static let eventType = "OrderRefunded"; public var amount: Money; public var at: Instant
    public init(amount: Money, at: Instant) { self.amount = amount; self.at = at }
}
public struct OrderExpired: EventPayload {
    public static let eventType = "OrderExpired"; public var at: Instant
    public init(at: Instant) { self.at = at }
}

public enum OrderEvent: Hashable, Sendable {
    case placed(OrderPlaced)
    case paid(OrderPaid)
    case shipped(OrderShipped)
    case received(OrderReceived)
    case cancelled(OrderCancelled)
    case refundRequested(RefundRequested)
    case refundApproved(RefundApproved)
    case refundRejected(RefundRejected)
    case refunded(OrderRefunded)
    case expired(OrderExpired)
    // After-sale requests (`AfterSales.swift`).
    case afterSaleOpened(AfterSaleOpened)
    case afterSaleClosed(AfterSaleClosed)
    case partlyRefunded(OrderPartlyRefunded)
    case differencePaid(OrderDifferencePaid)
    /// The promotions the order got (`Promotions.swift`), right after `OrderPlaced`.
    case promotionsApplied(PromotionsApplied)
}

public enum OrderNumberEvent: Hashable, Sendable {
    case reserved(OrderNumbersReserved)
}
