public struct GoodsState: Hashable, Codable, Sendable {
    public var goodsId: GoodsId?
    public var merchantId: UserId?
    public var title = ""
    public var description = ""
    public var category = ""
    public var brand = ""
    public var tags: [String] = []
    public var price = Money.zero
    public var onHand = 0
    public var reserved = 0
    public var lowStockThreshold = 0
    public var isListed = false
    public var sold = 0
    /// (order, goods) lines already reviewed: one review per order line.
    public var reviewedOrders: SortedSet<OrderId> = []
    public var ratingTotal = 0
    public var ratingCount = 0
    public var listedAt: Instant?

    public init() {}

    public var exists: Bool { goodsId != nil }
    public var available: Int { onHand - reserved }

    public func evolve(_ event: GoodsEvent) -> GoodsState {
        var next = self
        switch event {
        case .listed(let listed):
            next.goodsId = listed.goodsId
            next.merchantId = listed.merchantId
            next.title = listed.title
            next.description = listed.description
            next.category = listed.category
            next.brand = listed.brand
            next.tags = listed.tags
            next.price = listed.price
            next.onHand = listed.stock
            next.lowStockThreshold = listed.lowStockThreshold
            next.isListed = true
            next.listedAt = listed.at
        case .updated(let updated):
            next.title = updated.title
            next.description = updated.description
            next.category = updated.category
            next.brand = updated.brand
            next.tags = updated.tags
            next.lowStockThreshold = updated.lowStockThreshold
        case .priceChanged(let changed): next.price = changed.to
        case .stockAdded(let added): next.onHand += added.quantity
        case .stockAdjusted(let adjusted): next.onHand += adjusted.delta
        case .stockReserved(let reserved): next.reserved += reserved.quantity
        case .stockReleased(let released): next.reserved -= released.quantity
        case .stockShipped(let shipped):
            next.reserved -= shipped.quantity
            next.onHand -= shipped.quantity
            next.sold += shipped.quantity
        case .lowStockDetected: break
        case .delisted: next.isListed = false
        case .relisted: next.isListed = true
        case .reviewPosted(let review):
            next.reviewedOrders.insert(review.orderId)
            next.ratingTotal += review.rating
            next.ratingCount += 1
        }
        return next
    }
}

public struct GoodsDetails: Hashable, Sendable {
    public var title: String
    public var description: String
    public var category: String
    public var brand: String
    public var tags: [String]
    public var lowStockThreshold: Int

    public init(
        title: String, description: String = "", category: String, brand: String = "", tags: [String] = [], lowStockThreshold: Int = 5
    ) {
        self.title = title
        self.description = description
        self.category = category
        self.brand = brand
        self.tags = tags
        self.lowStockThreshold = lowStockThreshold
    }

    func validate() throws(Rejection) {
        try Limits.text(title, "title", max: Limits.titleCharactersMax)
        try Limits.text(description, "description", max: Limits.descriptionCharactersMax, allowEmpty: true)
        try Limits.text(category, "category", max: Limits.nameCharactersMax)
        try Limits.text(brand, "brand", max: Limits.nameCharactersMax, allowEmpty: true)
        guard tags.count <= Limits.tagsPerGoodsMax else {
            throw Rejection(.invalidInput, "at most \(Limits.tagsPerGoodsMax) tags", field: "tags")
        }
        for tag in tags { try Limits.text(tag, "tags", max: Limits.tagCharactersMax) }
        guard (0...Limits.stockMax).contains(lowStockThreshold) else {
            throw Rejection(.invalidInput, "lowStockThreshold must be between 0 and \(Limits.stockMax)", field: "lowStockThreshold")
        }
    }
}

public enum GoodsCommand: Hashable, Sendable {
    case list(GoodsId, GoodsDetails, price: Money, stock: Int)
    case update(GoodsDetails)
    case changePrice(Money)
    case restock(Int)
    case adjustStock(delta: Int, reason: String)
    case delist
    case relist
}

public struct PostReview: Hashable, Sendable {
    public var reviewId: ReviewId
    public var goodsId: GoodsId
    public var orderId: OrderId
    public var rating: Int
    public var text: String
    public var at: Instant

    public init(reviewId: ReviewId, goodsId: GoodsId, orderId: OrderId, rating: Int, text: String, at: Instant) {
        self.reviewId = reviewId
        self.goodsId = goodsId
        self.orderId = orderId
        self.rating = rating
        self.text = text
        self.at = at
    }
}

public enum Catalog {
    /// Merchant and admin commands on one goods: a merchant lists goods as
    /// their own and changes only their own; an admin changes any.
    public static func decide(_ command: GoodsCommand, actor: Actor, goods: GoodsState, at: Instant) throws(Rejection) -> Decision {
        let merchant: UserId?
        switch actor {
        case .system: merchant = nil
        case .user, .apiKey, .paymentProvider, .anonymous:
            guard let id = actor.userId, let role = actor.role, role >= .merchant else {
                throw Rejection(.forbidden, "only merchants and admins manage goods")
            }
            merchant = id
        }
        if case .list = command { return try decideAsOwner(command, merchant: merchant, goods: goods, at: at) }
        guard goods.exists else { throw Rejection(.goodsNotFound, "no such goods") }
        guard actor.isAdmin || goods.merchantId == merchant else { throw Rejection(.notOwner, "these goods belong to another merchant") }
        return try decideAsOwner(command, merchant: merchant, goods: goods, at: at)
    }

    private static func decideAsOwner(
        _ command: GoodsCommand, merchant: UserId?, goods: GoodsState, at: Instant
    ) throws(Rejection) -> Decision {
        var events: [GoodsEvent] = []
        let goodsId: GoodsId
        switch command {
        case let .list(id, details, price, stock):
            guard let merchant else { throw Rejection(.forbidden, "goods are listed by a merchant") }
            try details.validate()
            try Limits.price(price)
            guard (0...Limits.stockMax).contains(stock) else {
                throw Rejection(.stockOutOfRange, "stock must be between 0 and \(Limits.stockMax)", field: "stock")
            }
            guard !goods.exists else { throw Rejection(.goodsAlreadyExists, "goods \(id) exist") }
            goodsId = id
            events.append(
                .listed(
                    GoodsListed(
                        goodsId: id, merchantId: merchant, title: details.title, description: details.description,
                        category: details.category, brand: details.brand, tags: details.tags, price: price,
                        stock: stock, lowStockThreshold: details.lowStockThreshold, at: at)))
        default:
            guard let id = goods.goodsId else { throw Rejection(.goodsNotFound, "no such goods") }
            goodsId = id
            events = try ownerEvents(command, goods: goods, at: at)
        }
        var decision = Decision()
        var state = goods
        for event in events {
            decision.append(.goods(event), to: .goods(goodsId))
            state = state.evolve(event)
        }
        if let low = lowStock(before: goods, after: state, at: at) { decision.append(.goods(low), to: .goods(goodsId)) }
        return decision
    }

    private static func ownerEvents(_ command: GoodsCommand, goods: GoodsState, at: Instant) throws(Rejection) -> [GoodsEvent] {
        switch command {
        case .list: preconditionFailure("listing is decided before")
        case .update(let details):
            try details.validate()
            return [
                .updated(
                    GoodsUpdated(
                        title: details.title, description: details.description, category: details.category,
                        brand: details.brand, tags: details.tags, lowStockThreshold: details.lowStockThreshold, at: at))
            ]
        case .changePrice(let price):
            try Limits.price(price)
            guard price != goods.price else { throw Rejection(.nothingChanged, "the price is already \(price)") }
            return [.priceChanged(PriceChanged(from: goods.price, to: price, at: at))]
        case .restock(let quantity):
            guard (1...Limits.stockMax).contains(quantity), goods.onHand + quantity <= Limits.stockMax else {
                throw Rejection(.stockOutOfRange, "restock must be positive and keep stock ≤ \(Limits.stockMax)", field: "quantity")
            }
            return [.stockAdded(StockAdded(quantity: quantity, at: at))]
        case let .adjustStock(delta, reason):
            try Limits.text(reason, "reason", max: Limits.reasonCharactersMax)
            guard delta != 0 else { throw Rejection(.nothingChanged, "an adjustment of 0 changes nothing") }
            guard (-Limits.stockMax...Limits.stockMax).contains(delta) else {  // checked first: onHand + delta could overflow
                throw Rejection(.stockOutOfRange, "an adjustment is at most \(Limits.stockMax) either way", field: "delta")
            }
            guard goods.onHand + delta >= goods.reserved, goods.onHand + delta <= Limits.stockMax else {
                throw Rejection(.insufficientStock, "on hand would be \(goods.onHand + delta) with \(goods.reserved) reserved")
            }
            return [.stockAdjusted(StockAdjusted(delta: delta, reason: reason, at: at))]
        case .delist:
            guard goods.isListed else { throw Rejection(.goodsDelisted, "already delisted") }
            return [.delisted(GoodsDelisted(at: at))]
        case .relist:
            guard !goods.isListed else { throw Rejection(.goodsNotDelisted, "already listed") }
            return [.relisted(GoodsRelisted(at: at))]
        }
    }

    /// `LowStockDetected` when available stock falls to the threshold or below.
    static func lowStock(before: GoodsState, after: GoodsState, at: Instant) -> GoodsEvent? {
        guard after.available <= after.lowStockThreshold, before.available > after.available || !before.exists else { return nil }
        guard before.available > before.lowStockThreshold || !before.exists else { return nil }
        return .lowStockDetected(LowStockDetected(available: after.available, threshold: after.lowStockThreshold, at: at))
    }

    /// A review by the buyer of a received order that contains the goods; one per order line.
    public static func review(_ command: PostReview, actor: Actor, goods: GoodsState, order: OrderState) throws(Rejection) -> Decision {
        guard let goodsId = goods.goodsId else { throw Rejection(.goodsNotFound, "no such goods") }
        guard (1...5).contains(command.rating) else { throw Rejection(.ratingOutOfRange, "rating must be 1 to 5", field: "rating") }
        try Limits.text(command.text, "text", max: Limits.reviewCharactersMax, allowEmpty: true)
        guard let placed = order.placed else { throw Rejection(.orderNotFound, "no such order") }
        guard actor.userId == placed.userId else { throw Rejection(.notOwner, "only the buyer reviews") }
        guard order.status == .received, placed.lines.contains(where: { $0.goodsId == goodsId }) else {
            throw Rejection(.reviewNotAllowed, "a review needs a received order containing these goods")
        }
        guard !goods.reviewedOrders.contains(placed.orderId) else { throw Rejection(.alreadyReviewed, "this order line is reviewed") }
        var decision = Decision()
        decision.append(
            .goods(
                .reviewPosted(
                    ReviewPosted(
                        reviewId: command.reviewId, orderId: placed.orderId, userId: placed.userId,
                        rating: command.rating, text: command.text, at: command.at))),
            to: .goods(goodsId))
        return decision
    }
}
