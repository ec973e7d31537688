import Foundation

// MARK: Carts

public struct CartItemAdded: EventPayload {
    public static let eventType = "CartItemAdded"; public var goodsId: GoodsId; public var quantity: Int; public var at: Instant
    public init(goodsId: GoodsId, quantity: Int, at: Instant) { self.goodsId = goodsId; self.quantity = quantity; self.at = at }
}
public struct CartItemQuantityChanged: EventPayload {
    public static let eventType = "CartItemQuantityChanged"; public var goodsId: GoodsId; public var quantity: Int; public var at: Instant
    public init(goodsId: GoodsId, quantity: Int, at: Instant) { self.goodsId = goodsId; self.quantity = quantity; self.at = at }
}
public struct CartItemRemoved: EventPayload {
    public static let eventType = "CartItemRemoved"; public var goodsId: GoodsId; public var at: Instant
    public init(goodsId: GoodsId, at: Instant) { self.goodsId = goodsId; self.at = at }
}
public struct CartCouponApplied: EventPayload {
    public static let eventType = "CartCouponApplied"; public var couponId: CouponId; public var code: String; public var at: Instant
    public init(couponId: CouponId, code: String, at: Instant) { self.couponId = couponId; self.code = code; self.at = at }
}
public struct CartCouponRemoved: EventPayload {
    public static let eventType = "CartCouponRemoved"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
public struct CartCleared: EventPayload {
    public static let eventType = "CartCleared"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
public struct CartCheckedOut: EventPayload {
    public static let eventType = "CartCheckedOut"; public var orderId: OrderId; public var at: Instant
    public init(orderId: OrderId, at: Instant) { self.orderId = orderId; self.at = at }
}

public enum CartEvent: Hashable, Sendable {
    case itemAdded(CartItemAdded)
    case quantityChanged(CartItemQuantityChanged)
    case itemRemoved(CartItemRemoved)
    case couponApplied(CartCouponApplied)
    case couponRemoved(CartCouponRemoved)
    case cleared(CartCleared)
    case checkedOut(CartCheckedOut)
}
