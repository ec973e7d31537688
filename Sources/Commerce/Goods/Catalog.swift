public struct GoodsState: Hashable, Codable, Sendable {
    public var goodsId: GoodsId?
    public var merchantId: UserId?
    public var title = ""
    public var description = ""
    public var category = ""
    public var brand = ""
    public var tags: [String] = []
    /// The option names (颜色, 尺码), in order; empty for a plain goods.
    public var options: [String] = []
    /// Every variant ever added, the default one first (a plain goods has just that one).
    public var variants: [VariantState] = []
    public var attributes: [GoodsAttribute] = []
    public var isListed = false
    /// (order, goods) lines already reviewed: one review per order line.
    public var reviewedOrders: SortedSet<OrderId> = []
    /// Every review, in the order posted (`Reviews.swift`).
    public var reviews: [ReviewMark] = []
    /// Customers waiting for a variant to be back in stock, first come first (`Waitlist.swift`).
    public var waitlist: [WaitlistEntry] = []
    /// Over approved reviews only.
    public var ratingTotal = 0
    public var ratingCount = 0
    public var listedAt: Instant?

    public init() {}

    public var exists: Bool { goodsId != nil }
    /// The variants for sale.
    public var listedVariants: [VariantState] { variants.filter(\.isListed) }
    // Read on every event a read model folds: loops, no arrays made.
    /// The lowest price of a variant for sale (the "from" price), else the default variant's.
    public var price: Money {
        var lowest = Int64.max
        for variant in variants where variant.isListed { lowest = min(lowest, variant.price.minorUnits) }
        return lowest == .max ? variants.first?.price ?? .zero : Money(minorUnits: lowest)
    }
    public var highestPrice: Money {
        var highest = Int64.min
        for variant in variants where variant.isListed { highest = max(highest, variant.price.minorUnits) }
        return highest == .min ? price : Money(minorUnits: highest)
    }
    public var onHand: Int { variants.reduce(0) { $0 + $1.onHand } }
    public var reserved: Int { variants.reduce(0) { $0 + $1.reserved } }
    public var sold: Int { variants.reduce(0) { $0 + $1.sold } }
    /// What can still be ordered, over the variants for sale: > 0 means some variant is in stock.
    public var available: Int {
        var total = 0
        for variant in variants where variant.isListed { total += variant.available }
        return total
    }

    /// The variant an event or command names; nil names the default variant.
    public func variant(_ id: VariantId?) -> VariantState? { variantIndex(id).map { variants[$0] } }

    func variantIndex(_ id: VariantId?) -> Int? {
        guard let goodsId else { return nil }
        let wanted = id ?? goodsId.defaultVariant
        return variants.firstIndex { $0.variantId == wanted }
    }

    /// "颜色: 红 / 尺码: M"; empty for a plain goods.
    public func label(of variant: VariantState) -> String {
        zip(options, variant.values).map { "\($0): \($1)" }.joined(separator: " / ")
    }

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
            next.variants = [
                VariantState(
                    variantId: listed.goodsId.defaultVariant, sku: "", values: [], price: listed.price, onHand: listed.stock,
                    lowStockThreshold: listed.lowStockThreshold)
            ]
            next.isListed = true
            next.listedAt = listed.at
        case .updated(let updated):
            next.title = updated.title
            next.description = updated.description
            next.category = updated.category
            next.brand = updated.brand
            next.tags = updated.tags
            for index in next.variants.indices { next.variants[index].lowStockThreshold = updated.lowStockThreshold }
        case .priceChanged(let changed): next.changeVariant(changed.variantId) { $0.price = changed.to }
        case .stockAdded(let added): next.changeVariant(added.variantId) { $0.onHand += added.quantity }
        case .stockReturned(let returned):
            next.changeVariant(returned.variantId) {
                $0.onHand += returned.quantity
                $0.sold -= returned.quantity
            }
        case .stockAdjusted(let adjusted): next.changeVariant(adjusted.variantId) { $0.onHand += adjusted.delta }
        case .stockReserved(let reserved): next.changeVariant(reserved.variantId) { $0.reserved += reserved.quantity }
        case .stockReleased(let released): next.changeVariant(released.variantId) { $0.reserved -= released.quantity }
        case .stockShipped(let shipped):
            next.changeVariant(shipped.variantId) {
                $0.reserved -= shipped.quantity
                $0.onHand -= shipped.quantity
                $0.sold += shipped.quantity
            }
        case .lowStockDetected: break
        case .delisted: next.isListed = false
        case .relisted: next.isListed = true
        case .reviewPosted, .reviewModerated, .reviewReplied, .reviewEdited: next.applyReview(event)
        case .waitlistJoined, .waitlistLeft, .backInStockNotified: next.applyWaitlist(event)
        case .preOrdersOpened, .preOrdersCancelled, .preOrderReserved, .preOrderFilled, .preOrderReleased: next.applyPreOrder(event)
        case .optionsDefined(let defined):
            next.options = defined.options
            next.changeVariant(nil) {
                $0.values = defined.values
                $0.sku = defined.sku
                $0.weightGrams = defined.weightGrams
            }
        case .variantAdded(let added):
            next.variants.append(
                VariantState(
                    variantId: added.variantId, sku: added.sku, values: added.values, price: added.price, onHand: added.stock,
                    lowStockThreshold: added.lowStockThreshold, weightGrams: added.weightGrams))
        case .variantUpdated(let updated):
            next.changeVariant(updated.variantId) {
                $0.lowStockThreshold = updated.lowStockThreshold
                $0.weightGrams = updated.weightGrams
            }
        case .variantDelisted(let delisted): next.changeVariant(delisted.variantId) { $0.isListed = false }
        case .variantRelisted(let relisted): next.changeVariant(relisted.variantId) { $0.isListed = true }
        case .attributesSet(let set): next.attributes = set.attributes
        }
        return next
    }

    mutating func changeVariant(_ id: VariantId?, _ change: (inout VariantState) -> Void) {
        guard let index = variantIndex(id) else { return }
        change(&variants[index])
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
    /// A plain goods: one (default) variant with this price and stock.
    case list(GoodsId, GoodsDetails, price: Money, stock: Int)
    /// A goods with options and variants (the first becomes the default variant, its id the goods id's),
    /// or a plain goods with a SKU, a weight or attributes (no options, one variant).
    case listVariants(GoodsId, GoodsDetails, options: [String], variants: [NewVariant], attributes: [GoodsAttribute])
    case update(GoodsDetails)
    /// nil variant: the default one (the only one of a plain goods).
    case changePrice(Money, variant: VariantId? = nil)
    case restock(Int, variant: VariantId? = nil)
    case adjustStock(delta: Int, reason: String, variant: VariantId? = nil)
    case delist
    case relist
    /// Gives a plain goods options: its one variant gets `values` and `sku`.
    case defineOptions([String], values: [String], sku: String)
    case addVariant(NewVariant)
    case updateVariant(VariantId, lowStockThreshold: Int, weightGrams: Int?)
    case delistVariant(VariantId)
    case relistVariant(VariantId)
    case setAttributes([GoodsAttribute])
    case preOrders(PreOrderCommand)

    /// The SKUs this command claims (read before deciding, so a taken one is refused).
    var claimedSkus: [String] {
        switch self {
        case let .listVariants(_, _, _, variants, _): return variants.map(\.terms.sku).filter { !$0.isEmpty }
        case let .defineOptions(_, _, sku): return sku.isEmpty ? [] : [sku]
        case .addVariant(let variant): return variant.terms.sku.isEmpty ? [] : [variant.terms.sku]
        default: return []
        }
    }
}

/// A variant to add, with the id the engine made for it.
public struct NewVariant: Hashable, Sendable {
    public var variantId: VariantId
    public var terms: VariantTerms

    public init(_ variantId: VariantId, _ terms: VariantTerms) {
        self.variantId = variantId
        self.terms = terms
    }
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
    /// their own and changes only their own; an admin changes any. `skuClaims`
    /// holds the claim of each SKU the command names, by its claim key.
    public static func decide(
        _ command: GoodsCommand, actor: Actor, goods: GoodsState, skuClaims: [String: SkuClaimState] = [:], at: Instant
    ) throws(Rejection) -> Decision {
        let merchant: UserId?
        switch actor {
        case .system: merchant = nil
        case .user, .apiKey, .paymentProvider, .anonymous:
            guard let id = actor.userId, let role = actor.role, role >= .merchant else {
                throw Rejection(.forbidden, "only merchants and admins manage goods")
            }
            merchant = id
        }
        let goodsId: GoodsId
        var events: [GoodsEvent]
        switch command {
        case let .list(id, details, price, stock):
            guard let merchant else { throw Rejection(.forbidden, "goods are listed by a merchant") }
            guard !goods.exists else { throw Rejection(.goodsAlreadyExists, "goods \(id) exist") }
            goodsId = id
            events = [try listed(id, merchant: merchant, details, price: price, stock: stock, at: at)]
        case let .listVariants(id, details, options, variants, attributes):
            guard let merchant else { throw Rejection(.forbidden, "goods are listed by a merchant") }
            guard !goods.exists else { throw Rejection(.goodsAlreadyExists, "goods \(id) exist") }
            goodsId = id
            events = try listedWithVariants(id, merchant: merchant, details, options, variants, attributes, at: at)
        default:
            guard let id = goods.goodsId else { throw Rejection(.goodsNotFound, "no such goods") }
            guard actor.isAdmin || goods.merchantId == merchant else {
                throw Rejection(.notOwner, "these goods belong to another merchant")
            }
            goodsId = id
            events = try ownerEvents(command, goods: goods, at: at)
        }
        var decision = Decision()
        var state = goods
        for event in events {
            decision.append(.goods(event), to: .goods(goodsId))
            let before = state
            state = state.evolve(event)
            for low in lowStock(before: before, after: state, at: at) { decision.append(.goods(low), to: .goods(goodsId)) }
        }
        // Freed units go to queued pre-orders first, then to the waitlist.
        for event in fillPreOrders(state, at: at) + backInStock(before: goods, after: state, at: at) {
            decision.append(.goods(event), to: .goods(goodsId))
            state = state.evolve(event)
        }
        try claimSkus(of: state, newIn: goods, claims: skuClaims, into: &decision)
        return decision
    }

    private static func listed(
        _ id: GoodsId, merchant: UserId, _ details: GoodsDetails, price: Money, stock: Int, at: Instant
    ) throws(Rejection) -> GoodsEvent {
        try details.validate()
        try Limits.price(price)
        guard (0...Limits.stockMax).contains(stock) else {
            throw Rejection(.stockOutOfRange, "stock must be between 0 and \(Limits.stockMax)", field: "stock")
        }
        return .listed(
            GoodsListed(
                goodsId: id, merchantId: merchant, title: details.title, description: details.description, category: details.category,
                brand: details.brand, tags: details.tags, price: price, stock: stock, lowStockThreshold: details.lowStockThreshold,
                at: at))
    }

    /// Listed as a plain goods whose default variant is the first one, then its options, the other variants and the attributes.
    private static func listedWithVariants(
        _ id: GoodsId, merchant: UserId, _ details: GoodsDetails, _ options: [String], _ variants: [NewVariant],
        _ attributes: [GoodsAttribute], at: Instant
    ) throws(Rejection) -> [GoodsEvent] {
        guard let first = variants.first else { throw Rejection(.invalidInput, "a goods has at least one variant", field: "variants") }
        guard first.variantId == id.defaultVariant else { preconditionFailure("the first variant's id is the goods id's") }
        if !options.isEmpty { try Variants.validate(options: options) }
        guard options.isEmpty ? variants.count == 1 : variants.count <= Limits.variantsPerGoodsMax else {
            throw Rejection(
                .invalidInput,
                options.isEmpty ? "a goods without options has one variant" : "at most \(Limits.variantsPerGoodsMax) variants",
                field: "variants")
        }
        try first.terms.validate(options: options)
        try GoodsAttribute.validate(attributes)
        var details = details
        details.lowStockThreshold = first.terms.lowStockThreshold
        var events = [try listed(id, merchant: merchant, details, price: first.terms.price, stock: first.terms.stock, at: at)]
        if !options.isEmpty || !first.terms.sku.isEmpty || first.terms.weightGrams != nil {
            events.append(
                .optionsDefined(
                    GoodsOptionsDefined(
                        options: options, values: first.terms.values, sku: first.terms.sku, weightGrams: first.terms.weightGrams, at: at)))
        }
        var state = GoodsState()
        for event in events { state = state.evolve(event) }
        for variant in variants.dropFirst() {
            let added = try variantAdded(variant, to: state, at: at)
            events.append(added)
            state = state.evolve(added)
        }
        if !attributes.isEmpty { events.append(.attributesSet(GoodsAttributesSet(attributes: attributes, at: at))) }
        return events
    }

    private static func variantAdded(_ variant: NewVariant, to goods: GoodsState, at: Instant) throws(Rejection) -> GoodsEvent {
        guard !goods.options.isEmpty else {
            throw Rejection(.invalidInput, "define the goods' options before adding variants", field: "options")
        }
        try variant.terms.validate(options: goods.options)
        guard goods.variants.count < Limits.variantsPerGoodsMax else {
            throw Rejection(.invalidInput, "at most \(Limits.variantsPerGoodsMax) variants", field: "variants")
        }
        guard goods.variant(variant.variantId) == nil else { throw Rejection(.invalidInput, "variant \(variant.variantId) exists") }
        if let same = goods.variants.first(where: { $0.values == variant.terms.values }) {
            throw Rejection(
                .optionCombinationExists, "\(goods.label(of: same)) is already a variant (\(same.variantId))", field: "values")
        }
        let skus = goods.variants.map { Variants.normalizedSku($0.sku) }
        guard variant.terms.sku.isEmpty || !skus.contains(Variants.normalizedSku(variant.terms.sku)) else {
            throw Rejection(.duplicateSku, "SKU \(variant.terms.sku) is another variant's", field: "sku")
        }
        let terms = variant.terms
        return .variantAdded(
            VariantAdded(
                variantId: variant.variantId, sku: terms.sku, values: terms.values, price: terms.price, stock: terms.stock,
                lowStockThreshold: terms.lowStockThreshold, weightGrams: terms.weightGrams, at: at))
    }

    /// A `SkuClaimed` for each SKU the decision gave a variant; refused when the merchant's other goods hold it.
    private static func claimSkus(
        of after: GoodsState, newIn before: GoodsState, claims: [String: SkuClaimState], into decision: inout Decision
    ) throws(Rejection) {
        guard let goodsId = after.goodsId, let merchant = after.merchantId else { return }
        for variant in after.variants where !variant.sku.isEmpty && before.variant(variant.variantId)?.sku != variant.sku {
            let key = Variants.claimKey(merchant: merchant, sku: variant.sku)
            if let holder = claims[key]?.goodsId {
                throw Rejection(.duplicateSku, "SKU \(variant.sku) belongs to goods \(holder)", field: "sku")
            }
            decision.append(
                .skuClaim(
                    .claimed(
                        SkuClaimed(
                            merchantId: merchant, sku: Variants.normalizedSku(variant.sku), goodsId: goodsId, variantId: variant.variantId))
                ),
                to: .skuClaim(key))
        }
    }

    private static func ownerEvents(_ command: GoodsCommand, goods: GoodsState, at: Instant) throws(Rejection) -> [GoodsEvent] {
        guard let goodsId = goods.goodsId else { throw Rejection(.goodsNotFound, "no such goods") }
        switch command {
        case .list, .listVariants: preconditionFailure("listing is decided before")
        case .update(let details):
            try details.validate()
            return [
                .updated(
                    GoodsUpdated(
                        title: details.title, description: details.description, category: details.category,
                        brand: details.brand, tags: details.tags, lowStockThreshold: details.lowStockThreshold, at: at))
            ]
        case let .changePrice(price, id):
            let variant = try goods.chosenVariant(id)
            try Limits.price(price)
            guard price != variant.price else { throw Rejection(.nothingChanged, "the price is already \(price)") }
            return [.priceChanged(PriceChanged(from: variant.price, to: price, at: at, variantId: variant.variantId.named(in: goodsId)))]
        case let .restock(quantity, id):
            let variant = try goods.chosenVariant(id)
            guard (1...Limits.stockMax).contains(quantity), variant.onHand + quantity <= Limits.stockMax else {
                throw Rejection(.stockOutOfRange, "restock must be positive and keep stock ≤ \(Limits.stockMax)", field: "quantity")
            }
            return [.stockAdded(StockAdded(quantity: quantity, at: at, variantId: variant.variantId.named(in: goodsId)))]
        case let .adjustStock(delta, reason, id):
            let variant = try goods.chosenVariant(id)
            try Limits.text(reason, "reason", max: Limits.reasonCharactersMax)
            guard delta != 0 else { throw Rejection(.nothingChanged, "an adjustment of 0 changes nothing") }
            guard (-Limits.stockMax...Limits.stockMax).contains(delta) else {  // checked first: onHand + delta could overflow
                throw Rejection(.stockOutOfRange, "an adjustment is at most \(Limits.stockMax) either way", field: "delta")
            }
            guard variant.onHand + delta >= variant.reserved, variant.onHand + delta <= Limits.stockMax else {
                throw Rejection(.insufficientStock, "on hand would be \(variant.onHand + delta) with \(variant.reserved) reserved")
            }
            return [.stockAdjusted(StockAdjusted(delta: delta, reason: reason, at: at, variantId: variant.variantId.named(in: goodsId)))]
        case .delist:
            guard goods.isListed else { throw Rejection(.goodsDelisted, "already delisted") }
            return [.delisted(GoodsDelisted(at: at))]
        case .relist:
            guard !goods.isListed else { throw Rejection(.goodsNotDelisted, "already listed") }
            return [.relisted(GoodsRelisted(at: at))]
        case let .defineOptions(options, values, sku):
            guard goods.options.isEmpty, goods.variants.count == 1, let only = goods.variants.first else {
                throw Rejection(.optionsAlreadyDefined, "\(goods.title) has options: \(goods.options.joined(separator: ", "))")
            }
            try Variants.validate(options: options)
            try VariantTerms(sku: sku, values: values, price: only.price, stock: only.onHand, lowStockThreshold: only.lowStockThreshold)
                .validate(options: options)
            return [.optionsDefined(GoodsOptionsDefined(options: options, values: values, sku: sku, weightGrams: only.weightGrams, at: at))]
        case .addVariant(let variant): return [try variantAdded(variant, to: goods, at: at)]
        case let .updateVariant(id, threshold, weightGrams):
            let variant = try goods.chosenVariant(id)
            try Variants.validate(threshold: threshold, weightGrams: weightGrams)
            guard threshold != variant.lowStockThreshold || weightGrams != variant.weightGrams else {
                throw Rejection(.nothingChanged, "the variant already has that threshold and weight")
            }
            return [
                .variantUpdated(
                    VariantUpdated(variantId: variant.variantId, lowStockThreshold: threshold, weightGrams: weightGrams, at: at))
            ]
        case .delistVariant(let id):
            let variant = try goods.chosenVariant(id)
            guard variant.isListed else { throw Rejection(.variantDelisted, "the variant is already delisted") }
            guard goods.listedVariants.count > 1 else {
                throw Rejection(.invalidInput, "the last variant for sale is not delisted: delist the goods", field: "variantId")
            }
            return [.variantDelisted(VariantDelisted(variantId: variant.variantId, at: at))]
        case .relistVariant(let id):
            let variant = try goods.chosenVariant(id)
            guard !variant.isListed else { throw Rejection(.goodsNotDelisted, "the variant is for sale") }
            return [.variantRelisted(VariantRelisted(variantId: variant.variantId, at: at))]
        case .setAttributes(let attributes):
            try GoodsAttribute.validate(attributes)
            guard attributes != goods.attributes else { throw Rejection(.nothingChanged, "the attributes are already these") }
            return [.attributesSet(GoodsAttributesSet(attributes: attributes, at: at))]
        case .preOrders(let command): return try preOrderEvents(command, goods: goods, at: at)
        }
    }

    /// `LowStockDetected` for each variant whose available stock fell to its threshold or below.
    static func lowStock(before: GoodsState, after: GoodsState, at: Instant) -> [GoodsEvent] {
        guard let goodsId = after.goodsId else { return [] }
        return after.variants.compactMap { variant in
            let previous = before.variant(variant.variantId)
            guard variant.available <= variant.lowStockThreshold else { return nil }
            if let previous {
                guard previous.available > variant.available, previous.available > previous.lowStockThreshold else { return nil }
            }
            return .lowStockDetected(
                LowStockDetected(
                    available: variant.available, threshold: variant.lowStockThreshold, at: at,
                    variantId: variant.variantId.named(in: goodsId)))
        }
    }
}
