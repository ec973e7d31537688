import Foundation

// MARK: Carts

// Version 3 of the three line events adds `variantId` last (nil: the goods' default variant, written in the v2 form).
public struct CartItemAdded: VariantEvent {
    public static let eventType = "CartItemAdded"; public var goodsId: GoodsId; public var quantity: Int; public var at: Instant
    public var variantId: VariantId?
    public init(goodsId: GoodsId, quantity: Int, at: Instant, variantId: VariantId? = nil) {
        self.goodsId = goodsId; self.quantity = quantity; self.at = at; self.variantId = variantId
    }
}
public struct CartItemQuantityChanged: VariantEvent {
    public static let eventType = "CartItemQuantityChanged"; public var goodsId: GoodsId; public var quantity: Int; public var at: Instant
    public var variantId: VariantId?
    public init(goodsId: GoodsId, quantity: Int, at: Instant, variantId: VariantId? = nil) {
        self.goodsId = goodsId; self.quantity = quantity; self.at = at; self.variantId = variantId
    }
}
public struct CartItemRemoved: VariantEvent {
    public static let eventType = "CartItemRemoved"; public var goodsId: GoodsId; public var at: Instant; public var variantId: VariantId?
    public init(goodsId: GoodsId, at: Instant, variantId: VariantId? = nil) {
        self.goodsId = goodsId; self.at = at; self.variantId = variantId
    }
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
