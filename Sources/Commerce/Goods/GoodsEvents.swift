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
// Version 3 of the price and stock events adds `variantId` as their last field: which variant they
// concern. nil means the goods' default variant (the one every goods listed before variants has), and
// such an event is still written in its version 2 form, byte for byte what it was (`VariantEvent`).

/// An event about one variant's price or stock: `variantId` nil means the default variant.
public protocol VariantEvent: EvolvedEventPayload {
    var variantId: VariantId? { get }
}

extension VariantEvent {
    public static var schemaVersion: Int { 3 }
    public var writtenVersion: Int { variantId == nil ? 2 : 3 }
}

public struct PriceChanged: VariantEvent {
    public static let eventType = "PriceChanged"; public var from: Money; public var to: Money; public var at: Instant
    public var variantId: VariantId?
    public init(from: Money, to: Money, at: Instant, variantId: VariantId? = nil) {
        self.from = from; self.to = to; self.at = at; self.variantId = variantId
    }
}
public struct StockAdded: VariantEvent {
    public static let eventType = "StockAdded"; public var quantity: Int; public var at: Instant; public var variantId: VariantId?
    public init(quantity: Int, at: Instant, variantId: VariantId? = nil) {
        self.quantity = quantity; self.at = at; self.variantId = variantId
    }
}
/// Units of an order that came back undamaged (a return), on hand again.
public struct StockReturned: EventPayload {
    public static let eventType = "StockReturned"; public var orderId: OrderId; public var quantity: Int; public var variantId: VariantId?
    public var at: Instant
    public init(orderId: OrderId, quantity: Int, variantId: VariantId? = nil, at: Instant) {
        self.orderId = orderId; self.quantity = quantity; self.variantId = variantId; self.at = at
    }
}
public struct StockAdjusted: VariantEvent {
    public static let eventType = "StockAdjusted"; public var delta: Int; public var reason: String; public var at: Instant
    public var variantId: VariantId?
    public init(delta: Int, reason: String, at: Instant, variantId: VariantId? = nil) {
        self.delta = delta; self.reason = reason; self.at = at; self.variantId = variantId
    }
}
public struct StockReserved: VariantEvent {
    public static let eventType = "StockReserved"; public var orderId: OrderId; public var quantity: Int; public var at: Instant
    public var variantId: VariantId?
    public init(orderId: OrderId, quantity: Int, at: Instant, variantId: VariantId? = nil) {
        self.orderId = orderId; self.quantity = quantity; self.at = at; self.variantId = variantId
    }
}
public struct StockReleased: VariantEvent {
    public static let eventType = "StockReleased"; public var orderId: OrderId; public var quantity: Int; public var at: Instant
    public var variantId: VariantId?
    public init(orderId: OrderId, quantity: Int, at: Instant, variantId: VariantId? = nil) {
        self.orderId = orderId; self.quantity = quantity; self.at = at; self.variantId = variantId
    }
}
public struct StockShipped: VariantEvent {
    public static let eventType = "StockShipped"; public var orderId: OrderId; public var quantity: Int; public var at: Instant
    public var variantId: VariantId?
    public init(orderId: OrderId, quantity: Int, at: Instant, variantId: VariantId? = nil) {
        self.orderId = orderId; self.quantity = quantity; self.at = at; self.variantId = variantId
    }
}
public struct LowStockDetected: VariantEvent {
    public static let eventType = "LowStockDetected"; public var available: Int; public var threshold: Int; public var at: Instant
    public var variantId: VariantId?
    public init(available: Int, threshold: Int, at: Instant, variantId: VariantId? = nil) {
        self.available = available; self.threshold = threshold; self.at = at; self.variantId = variantId
    }
}

// MARK: Variants and attributes (first shipped at version 2)

/// The goods' option names (颜色/Colour, 尺码/Size) and the default variant's values, SKU and weight: a plain goods
/// becomes one with variants. Once per goods.
public struct GoodsOptionsDefined: EventPayload {
    public static let eventType = "GoodsOptionsDefined"
    public var options: [String]
    /// The default variant's value of each option, in order.
    public var values: [String]
    public var sku: String
    public var weightGrams: Int?
    public var at: Instant

    public init(options: [String], values: [String], sku: String, weightGrams: Int?, at: Instant) {
        self.options = options
        self.values = values
        self.sku = sku
        self.weightGrams = weightGrams
        self.at = at
    }
}

public struct VariantAdded: EventPayload {
    public static let eventType = "VariantAdded"
    public var variantId: VariantId
    public var sku: String
    /// One value per option of the goods, in order.
    public var values: [String]
    public var price: Money
    public var stock: Int
    public var lowStockThreshold: Int
    public var weightGrams: Int?
    public var at: Instant

    public init(
        variantId: VariantId, sku: String, values: [String], price: Money, stock: Int, lowStockThreshold: Int, weightGrams: Int?,
        at: Instant
    ) {
        self.variantId = variantId
        self.sku = sku
        self.values = values
        self.price = price
        self.stock = stock
        self.lowStockThreshold = lowStockThreshold
        self.weightGrams = weightGrams
        self.at = at
    }
}

/// A variant's low-stock threshold and weight (its price changes with `PriceChanged`, its stock with the stock events).
public struct VariantUpdated: EventPayload {
    public static let eventType = "VariantUpdated"
    public var variantId: VariantId
    public var lowStockThreshold: Int
    public var weightGrams: Int?
    public var at: Instant

    public init(variantId: VariantId, lowStockThreshold: Int, weightGrams: Int?, at: Instant) {
        self.variantId = variantId
        self.lowStockThreshold = lowStockThreshold
        self.weightGrams = weightGrams
        self.at = at
    }
}

public struct VariantDelisted: EventPayload {
    public static let eventType = "VariantDelisted"; public var variantId: VariantId; public var at: Instant
    public init(variantId: VariantId, at: Instant) { self.variantId = variantId; self.at = at }
}
public struct VariantRelisted: EventPayload {
    public static let eventType = "VariantRelisted"; public var variantId: VariantId; public var at: Instant
    public init(variantId: VariantId, at: Instant) { self.variantId = variantId; self.at = at }
}

/// The goods' specification attributes, all of them (the previous set is replaced).
public struct GoodsAttributesSet: EventPayload {
    public static let eventType = "GoodsAttributesSet"; public var attributes: [GoodsAttribute]; public var at: Instant
    public init(attributes: [GoodsAttribute], at: Instant) { self.attributes = attributes; self.at = at }
}

/// Claims a SKU code among one merchant's goods (`sku-<merchant>:<CODE>`), so SKUs stay unique per merchant.
public struct SkuClaimed: EventPayload {
    public static let eventType = "SkuClaimed"
    public var merchantId: UserId
    public var sku: String
    public var goodsId: GoodsId
    public var variantId: VariantId

    public init(merchantId: UserId, sku: String, goodsId: GoodsId, variantId: VariantId) {
        self.merchantId = merchantId
        self.sku = sku
        self.goodsId = goodsId
        self.variantId = variantId
    }
}

public enum SkuClaimEvent: Hashable, Sendable {
    case claimed(SkuClaimed)
}

public struct GoodsDelisted: EventPayload {
    public static let eventType = "GoodsDelisted"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
public struct GoodsRelisted: EventPayload {
    public static let eventType = "GoodsRelisted"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
/// A buyer's review of goods from a received order. Version 3 adds `awaitingModeration` last: true when the shop
/// moderates reviews (it counts once approved); nil when it was published at once, as every review before version 3
/// was, and then it is written in its version 2 form.
public struct ReviewPosted: EvolvedEventPayload {
    public static let eventType = "ReviewPosted"
    public static var schemaVersion: Int { 3 }
    public var reviewId: ReviewId
    public var orderId: OrderId
    public var userId: UserId
    public var rating: Int
    public var text: String
    public var at: Instant
    public var awaitingModeration: Bool?

    public init(
        reviewId: ReviewId, orderId: OrderId, userId: UserId, rating: Int, text: String, at: Instant, awaitingModeration: Bool? = nil
    ) {
        self.reviewId = reviewId
        self.orderId = orderId
        self.userId = userId
        self.rating = rating
        self.text = text
        self.at = at
        self.awaitingModeration = awaitingModeration
    }

    public var writtenVersion: Int { awaitingModeration == nil ? 2 : 3 }

    /// Version 2 ends before `awaitingModeration` (its review was published at once).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        reviewId = try container.decode(ReviewId.self, forKey: .reviewId)
        orderId = try container.decode(OrderId.self, forKey: .orderId)
        userId = try container.decode(UserId.self, forKey: .userId)
        rating = try container.decode(Int.self, forKey: .rating)
        text = try container.decode(String.self, forKey: .text)
        at = try container.decode(Instant.self, forKey: .at)
        if decoder.userInfo[.eventSchemaVersion] as? Int ?? Self.schemaVersion >= 3 {
            awaitingModeration = try container.decodeIfPresent(Bool.self, forKey: .awaitingModeration)
        }
    }
}

/// A moderator's verdict on a review (an admin, or the goods' merchant): approved reviews count in the rating and in
/// search ranking; rejected and flagged ones do not (flagged: taken out for another look).
public struct ReviewModerated: EventPayload {
    public static let eventType = "ReviewModerated"
    public var reviewId: ReviewId
    public var verdict: ReviewVerdict
    /// Why (required to reject or flag; shown to the author).
    public var reason: String
    public var moderatorId: UserId
    public var at: Instant

    public init(reviewId: ReviewId, verdict: ReviewVerdict, reason: String, moderatorId: UserId, at: Instant) {
        self.reviewId = reviewId
        self.verdict = verdict
        self.reason = reason
        self.moderatorId = moderatorId
        self.at = at
    }
}

/// The shop's one public reply to a review: by the goods' merchant (or an admin, as the shop's service desk).
public struct ReviewReplied: EventPayload {
    public static let eventType = "ReviewReplied"
    public var reviewId: ReviewId
    public var text: String
    public var replierId: UserId
    public var at: Instant

    public init(reviewId: ReviewId, text: String, replierId: UserId, at: Instant) {
        self.reviewId = reviewId
        self.text = text
        self.replierId = replierId
        self.at = at
    }
}

/// The author's new rating and text for a review still pending or rejected; it awaits moderation again.
public struct ReviewEdited: EventPayload {
    public static let eventType = "ReviewEdited"
    public var reviewId: ReviewId
    public var rating: Int
    public var text: String
    public var at: Instant

    public init(reviewId: ReviewId, rating: Int, text: String, at: Instant) {
        self.reviewId = reviewId
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
    case stockReturned(StockReturned)
    case stockAdjusted(StockAdjusted)
    case stockReserved(StockReserved)
    case stockReleased(StockReleased)
    case stockShipped(StockShipped)
    case lowStockDetected(LowStockDetected)
    case delisted(GoodsDelisted)
    case relisted(GoodsRelisted)
    case reviewPosted(ReviewPosted)
    case reviewModerated(ReviewModerated)
    case reviewReplied(ReviewReplied)
    case reviewEdited(ReviewEdited)
    case waitlistJoined(WaitlistJoined)
    case waitlistLeft(WaitlistLeft)
    case backInStockNotified(BackInStockNotified)
    case preOrdersOpened(PreOrdersOpened)
    case preOrdersCancelled(PreOrdersCancelled)
    case preOrderReserved(PreOrderReserved)
    case preOrderFilled(PreOrderFilled)
    case preOrderReleased(PreOrderReleased)
    case optionsDefined(GoodsOptionsDefined)
    case variantAdded(VariantAdded)
    case variantUpdated(VariantUpdated)
    case variantDelisted(VariantDelisted)
    case variantRelisted(VariantRelisted)
    case attributesSet(GoodsAttributesSet)
}
