import Foundation

// MARK: Points

public struct PointsEarned: EventPayload {
    public static let eventType = "PointsEarned"; public var orderId: OrderId; public var points: Int64; public var at: Instant
    public init(orderId: OrderId, points: Int64, at: Instant) { self.orderId = orderId; self.points = points; self.at = at }
}
public struct PointsRedeemed: EventPayload {
    public static let eventType = "PointsRedeemed"; public var orderId: OrderId?; public var points: Int64; public var reason: String;
    public var at: Instant
    public init(orderId: OrderId?, points: Int64, reason: String, at: Instant) {
        self.orderId = orderId; self.points = points; self.reason = reason; self.at = at
    }
}
public struct PointsRefunded: EventPayload {
    public static let eventType = "PointsRefunded"; public var orderId: OrderId; public var points: Int64; public var at: Instant
    public init(orderId: OrderId, points: Int64, at: Instant) { self.orderId = orderId; self.points = points; self.at = at }
}
public struct PointsRevoked: EventPayload {
    public static let eventType = "PointsRevoked"; public var orderId: OrderId; public var points: Int64; public var at: Instant
    public init(orderId: OrderId, points: Int64, at: Instant) { self.orderId = orderId; self.points = points; self.at = at }
}
public struct PointsExchanged: EventPayload {
    public static let eventType = "PointsExchanged"; public var points: Int64; public var couponId: CouponId; public var at: Instant
    public init(points: Int64, couponId: CouponId, at: Instant) { self.points = points; self.couponId = couponId; self.at = at }
}

public enum PointsEvent: Hashable, Sendable {
    case earned(PointsEarned)
    case redeemed(PointsRedeemed)
    case refunded(PointsRefunded)
    case revoked(PointsRevoked)
    case exchanged(PointsExchanged)
}
