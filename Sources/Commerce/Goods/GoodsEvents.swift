import Foundation

// MARK: Goods

public struct GoodsListed: EventPayload {
    public static let eventType = "GoodsListed"
    public var goodsId: GoodsId
    public var merchantId: UserId
    public var title: String
    public var description: String
    public var category: String
    public var brand: String
    public var tags: [String]
    public var price: Money
    public var stock: Int
    public var lowStockThreshold: Int
    public var at: Instant

    public init(
        goodsId: GoodsId, merchantId: UserId, title: String, description: String, category: String, brand: String, tags: [String],
        price: Money, stock: Int, lowStockThreshold: Int, at: Instant
    ) {
        self.goodsId = goodsId
        self.merchantId = merchantId
        self.title = title
        self.description = description
        self.category = category
        self.brand = brand
        self.tags = tags
        self.price = price
        self.stock = stock
        self.lowStockThreshold = lowStockThreshold
        self.at = at
    }
}
public struct GoodsUpdated: EventPayload {
    public static let eventType = "GoodsUpdated"
    public var title: String
    public var description: String
    public var category: String
    public var brand: String
    public var tags: [String]
    public var lowStockThreshold: Int
    public var at: Instant

    public init(title: String, description: String, category: String, brand: String, tags: [String], lowStockThreshold: Int, at: Instant) {
        self.title = title
        self.description = description
        self.category = category
        self.brand = brand
        self.tags = tags
        self.lowStockThreshold = lowStockThreshold
        self.at = at
    }
}
public struct PriceChanged: EventPayload {
    public static let eventType = "PriceChanged"; public var from: Money; public var to: Money; public var at: Instant
    public init(from: Money, to: Money, at: Instant) { self.from = from; self.to = to; self.at = at }
}
public struct StockAdded: EventPayload {
    public static let eventType = "StockAdded"; public var quantity: Int; public var at: Instant
    public init(quantity: Int, at: Instant) { self.quantity = quantity; self.at = at }
}
public struct StockAdjusted: EventPayload {
    public static let eventType = "StockAdjusted"; public var delta: Int; public var reason: String; public var at: Instant
    public init(delta: Int, reason: String, at: Instant) { self.delta = delta; self.reason = reason; self.at = at }
}
public struct StockReserved: EventPayload {
    public static let eventType = "StockReserved"; public var orderId: OrderId; public var quantity: Int; public var at: Instant
    public init(orderId: OrderId, quantity: Int, at: Instant) { self.orderId = orderId; self.quantity = quantity; self.at = at }
}
public struct StockReleased: EventPayload {
    public static let eventType = "StockReleased"; public var orderId: OrderId; public var quantity: Int; public var at: Instant
    public init(orderId: OrderId, quantity: Int, at: Instant) { self.orderId = orderId; self.quantity = quantity; self.at = at }
}
public struct StockShipped: EventPayload {
    public static let eventType = "StockShipped"; public var orderId: OrderId; public var quantity: Int; public var at: Instant
    public init(orderId: OrderId, quantity: Int, at: Instant) { self.orderId = orderId; self.quantity = quantity; self.at = at }
}
public struct LowStockDetected: EventPayload {
    public static let eventType = "LowStockDetected"; public var available: Int; public var threshold: Int; public var at: Instant
    public init(available: Int, threshold: Int, at: Instant) { self.available = available; self.threshold = threshold; self.at = at }
}
public struct GoodsDelisted: EventPayload {
    public static let eventType = "GoodsDelisted"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
public struct GoodsRelisted: EventPayload {
    public static let eventType = "GoodsRelisted"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
public struct ReviewPosted: EventPayload {
    public static let eventType = "ReviewPosted"
    public var reviewId: ReviewId
    public var orderId: OrderId
    public var userId: UserId
    public var rating: Int
    public var text: String
    public var at: Instant

    public init(reviewId: ReviewId, orderId: OrderId, userId: UserId, rating: Int, text: String, at: Instant) {
        self.reviewId = reviewId
        self.orderId = orderId
        self.userId = userId
        self.rating = rating
        self.text = text
        self.at = at
    }
}

public enum GoodsEvent: Hashable, Sendable {
    case listed(GoodsListed)
    case updated(GoodsUpdated)
    case priceChanged(PriceChanged)
    case stockAdded(StockAdded)
    case stockAdjusted(StockAdjusted)
    case stockReserved(StockReserved)
    case stockReleased(StockReleased)
    case stockShipped(StockShipped)
    case lowStockDetected(LowStockDetected)
    case delisted(GoodsDelisted)
    case relisted(GoodsRelisted)
    case reviewPosted(ReviewPosted)
}
