import Foundation

// MARK: Coupons

public enum CouponKind: String, Codable, Sendable, Hashable, CaseIterable {
    /// `value` is a percentage, 1–100.
    case percent
    /// `value` is an amount in minor units.
    case fixed
}

public struct CouponCreated: EventPayload {
    public static let eventType = "CouponCreated"
    public var couponId: CouponId
    public var code: String
    public var kind: CouponKind
    public var value: Int64
    public var minimumSpend: Money
    public var validFrom: Instant
    public var validUntil: Instant
    public var totalLimit: Int
    public var perUserLimit: Int
    /// Only this user may redeem it (coupons bought with points), or anyone when nil.
    public var restrictedTo: UserId?
    public var createdBy: String
    public var at: Instant

    public init(
        couponId: CouponId, code: String, kind: CouponKind, value: Int64, minimumSpend: Money, validFrom: Instant, validUntil: Instant,
        totalLimit: Int, perUserLimit: Int, restrictedTo: UserId?, createdBy: String, at: Instant
    ) {
        self.couponId = couponId
        self.code = code
        self.kind = kind
        self.value = value
        self.minimumSpend = minimumSpend
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.totalLimit = totalLimit
        self.perUserLimit = perUserLimit
        self.restrictedTo = restrictedTo
        self.createdBy = createdBy
        self.at = at
    }
}
public struct CouponCodeClaimed: EventPayload {
    public static let eventType = "CouponCodeClaimed"; public var code: String; public var couponId: CouponId
    public init(code: String, couponId: CouponId) { self.code = code; self.couponId = couponId }
}
public struct CouponRedeemed: EventPayload {
    public static let eventType = "CouponRedeemed"; public var orderId: OrderId; public var userId: UserId; public var at: Instant
    public init(orderId: OrderId, userId: UserId, at: Instant) { self.orderId = orderId; self.userId = userId; self.at = at }
}
public struct CouponReleased: EventPayload {
    public static let eventType = "CouponReleased"; public var orderId: OrderId; public var userId: UserId; public var at: Instant
    public init(orderId: OrderId, userId: UserId, at: Instant) { self.orderId = orderId; self.userId = userId; self.at = at }
}
public struct CouponDisabled: EventPayload {
    public static let eventType = "CouponDisabled"; public var at: Instant
    public init(at: Instant) { self.at = at }
}

public enum CouponEvent: Hashable, Sendable {
    case created(CouponCreated)
    case redeemed(CouponRedeemed)
    case released(CouponReleased)
    case disabled(CouponDisabled)
}

public enum CouponCodeEvent: Hashable, Sendable {
    case claimed(CouponCodeClaimed)
}
