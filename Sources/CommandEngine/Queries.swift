import Commerce
import EventStore
import Foundation

// Queries answered straight from the aggregates: one goods, my cart, one
// order with its timeline, my profile (whose personal fields are sealed in the
// log, so they are not copied into read models). Lists are the projections'.

public struct GoodsView: Codable, Sendable, Hashable {
    public var goodsId: String
    public var merchantId: String
    public var title: String
    public var description: String
    public var category: String
    public var brand: String
    public var tags: [String]
    /// The lowest price of a variant for sale ("from"), and the highest.
    public var price: Int64
    public var highestPrice: Int64
    /// Over the variants for sale: more than 0 when some variant is in stock.
    public var available: Int
    public var listed: Bool
    public var sold: Int
    public var ratingCount: Int
    public var ratingAverage: Double?
    /// The option names (颜色, 尺码); empty for a plain goods.
    public var options: [String]
    /// Every variant, the default one first (a plain goods has just that one).
    public var variants: [VariantView]
    /// Specification attributes (材质, 产地, 容量).
    public var attributes: [GoodsAttribute]
}

/// One variant of a goods, as its page shows it.
public struct VariantView: Codable, Sendable, Hashable {
    public var variantId: String
    public var sku: String
    /// One value per option of the goods, in order.
    public var values: [String]
    /// "颜色: 红 / 尺码: M"; empty for a plain goods.
    public var label: String
    public var price: Int64
    public var available: Int
    public var listed: Bool
    public var weightGrams: Int?
    /// Its pre-orders, while they are taken or orders wait for the stock.
    public var preOrder: PreOrderView?
}

/// A variant's pre-orders (预售): taken until `endsAt`, the stock announced to arrive by `arrivesBy`.
public struct PreOrderView: Codable, Sendable, Hashable {
    /// Whether an order the stock cannot fill is taken as a pre-order now.
    public var open: Bool
    public var cap: Int
    /// Units that can still be pre-ordered.
    public var remaining: Int
    /// Units queued orders wait for.
    public var waiting: Int
    public var endsAt: Int64
    public var arrivesBy: Int64
    /// The merchant called them off: the waiting orders are cancelled and refunded.
    public var cancelled: Bool

    init?(_ variant: VariantState, at now: Instant) {
        guard let terms = variant.preOrder, terms.isOpen(at: now) || !variant.preOrders.isEmpty else { return nil }
        (open, cap, remaining, waiting) = (terms.isOpen(at: now), terms.cap, terms.room(at: now), variant.awaitingUnits)
        (endsAt, arrivesBy, cancelled) = (terms.endsAt.millisecondsSinceEpoch, terms.arrivesBy.millisecondsSinceEpoch, terms.isCancelled)
    }
}

/// A goods as one of its events left it.
public struct GoodsHistoryEntry: Codable, Sendable, Hashable {
    public var position: UInt64
    public var type: String
    public var recordedAt: String
    public var actor: String
    public var price: Int64
    public var onHand: Int
    public var reserved: Int
    public var listed: Bool
}

public struct CartView: Codable, Sendable, Hashable {
    public struct Line: Codable, Sendable, Hashable {
        public var goodsId: String
        /// The variant (absent: the goods' default one) and its label.
        public var variantId: String?
        public var variant: String?
        public var title: String
        public var unitPrice: Int64
        public var quantity: Int
        public var lineTotal: Int64
    }

    public var lines: [Line]
    public var couponCode: String?
    public var subtotal: Int64
    /// What promotions and the coupon take off.
    public var discount: Int64
    public var total: Int64
    /// Why the cart cannot be checked out as it is (a delisted line, a coupon below its minimum…).
    public var problem: String?
    /// The promotions the cart gets, each with what it takes off.
    public var promotions: [PromotionDiscountView] = []
}

/// What one promotion takes off a cart or took off an order.
public struct PromotionDiscountView: Codable, Sendable, Hashable {
    public var promotionId: String
    public var name: String
    public var kind: PromotionKind
    /// Minor units in all, and per line (in the lines' order).
    public var amount: Int64
    public var lines: [Int64]

    init(_ discount: PromotionDiscount) {
        promotionId = discount.promotionId.description
        name = discount.name
        kind = discount.kind
        amount = discount.amount.minorUnits
        lines = discount.lines.map(\.minorUnits)
    }
}

/// A promotion: its terms, its window, and what its budget has given.
public struct PromotionView: Codable, Sendable, Hashable {
    public var promotionId: String
    public var name: String
    public var kind: PromotionKind
    public var percent: Int?
    public var amountOff: Int64?
    public var tiers: [PromotionTier]?
    public var buy: Int?
    public var get: Int?
    public var goodsIds: [String]
    public var categories: [String]
    public var brands: [String]
    /// The merchant whose goods alone it covers (absent: shop-wide).
    public var merchantId: String?
    public var validFrom: Int64
    /// When it stops: its window's end, or when it was ended.
    public var validUntil: Int64
    public var ended: Bool
    /// The budget (absent: no limit) and what orders spent of it, in minor units and in orders.
    public var discountMax: Int64?
    public var usesMax: Int?
    public var spent: Int64
    public var uses: Int

    init(_ terms: PromotionCreated, directory: PromotionDirectoryState, usage: PromotionState) {
        let rule = terms.rule
        promotionId = terms.promotionId.description
        name = terms.name
        kind = rule.kind
        percent = rule.kind == .percentOff ? rule.percent : nil
        amountOff = rule.kind == .amountOff ? rule.amountOff.minorUnits : nil
        tiers = rule.kind == .spendAndSave ? rule.tiers : nil
        buy = rule.kind == .buyXGetY ? rule.buy : nil
        get = rule.kind == .buyXGetY ? rule.get : nil
        goodsIds = terms.target.goodsIds.map(\.description)
        categories = terms.target.categories
        brands = terms.target.brands
        merchantId = terms.merchantId?.description
        validFrom = terms.validFrom.millisecondsSinceEpoch
        validUntil = directory.closes(terms).millisecondsSinceEpoch
        ended = directory.ended[terms.promotionId] != nil
        discountMax = terms.budget.discountMax?.minorUnits
        usesMax = terms.budget.usesMax
        spent = usage.spent.minorUnits
        uses = usage.uses
    }
}

public struct TimelineEntry: Codable, Sendable, Hashable {
    public var position: UInt64
    public var type: String
    public var recordedAt: String
    public var actor: String
}

public struct OrderView: Codable, Sendable, Hashable {
    public var orderId: String
    public var number: String
    public var userId: String
    public var status: String
    public var lines: [CartView.Line]
    public var subtotal: Int64
    public var discount: Int64
    public var pointsUsed: Int64
    public var total: Int64
    public var placedAt: Int64
    public var expiresAt: Int64
    public var carrier: String?
    public var trackingNumber: String?
    /// The delivery method chosen and its fee (counted in `total`).
    public var delivery: DeliveryChoice?
    /// What promotions took off it (their sum and the coupon's make `discount`).
    public var promotions: [PromotionDiscountView]?
    /// One order's view only: true while a pre-ordered line waits for its stock (the order cannot ship yet).
    public var awaitingStock: Bool?
    /// One order's view only: refunded through after-sale requests (minor units), and each request, oldest first.
    public var refundedByAfterSales: Int64?
    public var afterSales: [AfterSaleView]?
    /// The order's events and its after-sale requests' steps, in log order.
    public var timeline: [TimelineEntry]?
}

/// An after-sale request (a return or a claim) and where it stands.
public struct AfterSaleView: Codable, Sendable, Hashable {
    public struct Line: Codable, Sendable, Hashable {
        /// The order's line (from 0), its goods and title, and the units asked about.
        public var line: Int
        public var goodsId: String
        public var title: String
        public var quantity: Int
        /// An exchange's: the variant sent in their place and its unit price when asked for.
        public var replacementVariantId: String?
        public var replacementPrice: Int64?
    }

    public var afterSaleId: String
    public var orderId: String
    public var kind: AfterSaleKind
    public var resolution: AfterSaleResolution
    public var status: AfterSaleStatus
    public var lines: [Line]
    public var reason: String
    public var rejectionReason: String?
    /// What came back (returns): received and damaged units per line.
    public var returned: [ReturnedLine]
    /// Money (minor units) and points given back, once refunded.
    public var refundedAmount: Int64?
    public var refundedPoints: Int64?
    /// An exchange's dearer replacements: what the buyer owes (minor units) once the goods came back, and the payment
    /// that paid it (the replacements ship after that).
    public var differenceDue: Int64?
    public var differencePaymentId: String?
    public var replacementCarrier: String?
    public var replacementTrackingNumber: String?
    public var requestedAt: Int64
    public var updatedAt: Int64
    /// One request's view only: its steps.
    public var timeline: [TimelineEntry]?

    init?(_ state: AfterSaleState, id: AfterSaleId, placed: OrderPlaced?) {
        guard let requested = state.requested else { return nil }
        afterSaleId = id.description
        orderId = requested.orderId.description
        kind = requested.kind
        resolution = requested.resolution
        status = state.status
        lines = requested.lines.map { line in
            let ordered = placed.flatMap { $0.lines.indices.contains(line.line) ? $0.lines[line.line] : nil }
            return Line(
                line: line.line, goodsId: ordered?.goodsId.description ?? "", title: ordered?.title ?? "", quantity: line.quantity,
                replacementVariantId: line.replacement?.description, replacementPrice: line.replacementPrice?.minorUnits)
        }
        reason = requested.reason
        rejectionReason = state.rejectionReason
        returned = state.returned
        refundedAmount = state.refund?.amount.minorUnits
        refundedPoints = state.refund?.points
        differenceDue = state.due?.minorUnits
        differencePaymentId = state.paid?.paymentId.description
        replacementCarrier = state.replacement?.carrier
        replacementTrackingNumber = state.replacement?.trackingNumber
        requestedAt = requested.at.millisecondsSinceEpoch
        updatedAt = (state.updatedAt ?? requested.at).millisecondsSinceEpoch
    }
}

public struct ProfileView: Codable, Sendable, Hashable {
    public struct SavedAddressView: Codable, Sendable, Hashable {
        public var addressId: String
        public var isDefault: Bool
        public var recipient: String
        public var city: String
        public var line1: String
    }

    public var userId: String
    public var email: String
    public var name: String
    public var role: String
    public var addresses: [SavedAddressView]
    public var favorites: [String]
    public var footprints: [String]
}

extension Engine {
    func state<S: AggregateState>(_ stream: StreamId) throws -> S { try store.load(stream, as: S.self).state }

    /// The caller's current role and id (the token proves who; the record says what they may do).
    public func currentActor(_ actor: Actor?) throws -> Actor {
        var execution = Execution(engine: self, context: CommandContext(actor: actor, correlationId: UUID()), at: now)
        return try execution.requireActor()
    }

    public func goods(_ id: GoodsId) throws -> GoodsView {
        let goods: GoodsState = try state(.goods(id))
        guard goods.exists, let merchant = goods.merchantId else { throw EngineError(.domain(.goodsNotFound), "no goods \(id)") }
        return GoodsView(
            goodsId: id.description, merchantId: merchant.description, title: goods.title, description: goods.description,
            category: goods.category, brand: goods.brand, tags: goods.tags, price: goods.price.minorUnits,
            highestPrice: goods.highestPrice.minorUnits, available: goods.available, listed: goods.isListed, sold: goods.sold,
            ratingCount: goods.ratingCount,
            ratingAverage: goods.ratingCount > 0 ? Double(goods.ratingTotal) / Double(goods.ratingCount) : nil,
            options: goods.options,
            variants: goods.variants.map { variant in
                VariantView(
                    variantId: variant.variantId.description, sku: variant.sku, values: variant.values, label: goods.label(of: variant),
                    price: variant.price.minorUnits, available: max(variant.available, 0), listed: variant.isListed,
                    weightGrams: variant.weightGrams, preOrder: PreOrderView(variant, at: now))
            }, attributes: goods.attributes)
    }

    /// The goods' price, stock and listing after each of its latest `limit` events, newest first: for its merchant and admins.
    public func goodsHistory(_ id: GoodsId, for actor: Actor?, limit: Int = goodsHistoryMax) throws -> [GoodsHistoryEntry] {
        let actor = try currentActor(actor)
        let goods: GoodsState = try state(.goods(id))
        guard goods.exists, actor.isAdmin || (actor.userId != nil && actor.userId == goods.merchantId) else {
            throw EngineError(.domain(.goodsNotFound), "no goods \(id) of yours")  // not 403: do not reveal whose it is
        }
        return try store.history(.goods(id), as: GoodsState.self, keepingLast: max(limit, 1)) { recorded, goods in
            GoodsHistoryEntry(
                position: recorded.position, type: recorded.type, recordedAt: recorded.recordedAt.description,
                actor: recorded.metadata.actor, price: goods.price.minorUnits, onHand: goods.onHand, reserved: goods.reserved,
                listed: goods.isListed)
        }.reversed()
    }

    public static let goodsHistoryMax = 200

    /// The delivery methods a merchant offers now (retired ones are not).
    public func deliveryMethods(of merchant: UserId) throws -> [DeliveryMethod] {
        let methods: DeliveryState = try state(.delivery(merchant))
        return methods.offered
    }

    /// The caller's cart priced at current prices, with the promotions running at `at` (nil: now): what it would cost then.
    public func cart(of actor: Actor?, at: Instant? = nil) throws -> CartView {
        let actor = try currentActor(actor)
        guard let owner = actor.userId else { throw EngineError(.forbidden, "carts belong to users") }
        let cart: CartState = try state(.cart(owner))
        var goods: [GoodsId: GoodsState] = [:]
        for line in cart.lines { goods[line.goodsId] = try state(.goods(line.goodsId)) }
        let lines = cart.lines.map { line -> CartView.Line in
            let variant = goods[line.goodsId]?.variant(line.variantId)
            let price = variant?.price.minorUnits ?? 0
            return CartView.Line(
                goodsId: line.goodsId.description, variantId: line.namedVariant?.description,
                variant: line.namedVariant == nil ? nil : variant.flatMap { goods[line.goodsId]?.label(of: $0) },
                title: goods[line.goodsId]?.title ?? "", unitPrice: price, quantity: line.quantity, lineTotal: price * Int64(line.quantity))
        }
        let subtotal = lines.reduce(0) { $0 + $1.lineTotal }
        guard !cart.lines.isEmpty else {
            return CartView(lines: [], couponCode: cart.couponCode, subtotal: 0, discount: 0, total: 0, problem: nil)
        }
        do {
            let at = at ?? now
            let promotions = try Promotions.live(try state(.promotions), lines: cart.lines, goods: goods, at: at) {
                try state(.promotion($0))
            }
            let quote = try Pricing.quote(
                cart: cart, goods: goods, promotions: promotions, coupon: try cart.couponId.map { try state(.coupon($0)) }, buyer: owner,
                pointsToUse: 0, pointsBalance: 0, policy: policy, at: at)
            return CartView(
                lines: lines, couponCode: cart.couponCode, subtotal: quote.subtotal.minorUnits, discount: quote.discount.minorUnits,
                total: quote.total.minorUnits, problem: nil, promotions: quote.promotions.map(PromotionDiscountView.init))
        } catch {
            return CartView(
                lines: lines, couponCode: cart.couponCode, subtotal: subtotal, discount: 0, total: subtotal,
                problem: (error as? Rejection)?.description ?? "\(error)")
        }
    }

    /// The promotions running at `at` (nil: now), or with `all`, every promotion ever made; newest first.
    public func promotions(at: Instant? = nil, all: Bool = false) throws -> [PromotionView] {
        let directory: PromotionDirectoryState = try state(.promotions)
        let chosen = all ? Array(directory.promotions.values) : directory.live(at: at ?? now)
        return try chosen.sorted { ($0.at, $0.promotionId) > ($1.at, $1.promotionId) }.map {
            PromotionView($0, directory: directory, usage: try state(.promotion($0.promotionId)))
        }
    }

    public func promotion(_ id: PromotionId) throws -> PromotionView {
        let directory: PromotionDirectoryState = try state(.promotions)
        guard let terms = directory.promotions[id] else { throw EngineError(.domain(.promotionNotFound), "no promotion \(id)") }
        return PromotionView(terms, directory: directory, usage: try state(.promotion(id)))
    }

    /// One order, for its buyer, a merchant of its lines, or an admin; with its event timeline.
    public func order(_ id: OrderId, for actor: Actor?) throws -> OrderView {
        let actor = try currentActor(actor)
        let order: OrderState = try state(.order(id))
        guard let placed = order.placed else { throw EngineError(.domain(.orderNotFound), "no order \(id)") }
        let allowed = actor.isAdmin || actor.userId == placed.userId || placed.lines.contains { $0.merchantId == actor.userId }
        guard allowed else { throw EngineError(.domain(.orderNotFound), "no order \(id)") }  // not 403: do not reveal it exists
        var view = Self.view(of: order)
        var awaiting = false
        for goodsId in Set(placed.lines.map(\.goodsId)) where !awaiting {
            let goods: GoodsState = try state(.goods(goodsId))
            awaiting = goods.awaits(id)
        }
        view.awaitingStock = awaiting
        view.refundedByAfterSales = order.afterSales.refundedAmount.minorUnits
        var afterSales: [AfterSaleView] = []
        var streams: [StreamId] = [.order(id)]
        for afterSaleId in order.afterSales.ids {
            let state: AfterSaleState = try self.state(.afterSale(afterSaleId))
            if let view = AfterSaleView(state, id: afterSaleId, placed: placed) { afterSales.append(view) }
            streams.append(.afterSale(afterSaleId))
        }
        view.afterSales = afterSales
        view.timeline = try timeline(of: streams)
        return view
    }

    /// One after-sale request with its steps, for the order's buyer, a merchant of its lines, or an admin.
    public func afterSale(_ id: AfterSaleId, for actor: Actor?) throws -> AfterSaleView {
        let actor = try currentActor(actor)
        let state: AfterSaleState = try self.state(.afterSale(id))
        let order: OrderState = try state.requested.map { try self.state(.order($0.orderId)) } ?? OrderState()
        guard let placed = order.placed, var view = AfterSaleView(state, id: id, placed: placed),
            actor.isAdmin || actor.userId == placed.userId || placed.lines.contains(where: { $0.merchantId == actor.userId })
        else { throw EngineError(.domain(.afterSaleNotFound), "no after-sale request \(id)") }  // not 403: do not reveal it exists
        view.timeline = try timeline(of: [.afterSale(id)])
        return view
    }

    /// The events of `streams`, in log order.
    private func timeline(of streams: [StreamId]) throws -> [TimelineEntry] {
        try streams.flatMap { try log.readStream(try store.streamName($0)) }.sorted { $0.position < $1.position }.map {
            TimelineEntry(position: $0.position, type: $0.type, recordedAt: $0.recordedAt.description, actor: $0.metadata.actor)
        }
    }

    static func view(of order: OrderState) -> OrderView {
        let placed = order.placed
        return OrderView(
            orderId: placed?.orderId.description ?? "", number: placed?.number ?? "", userId: placed?.userId.description ?? "",
            status: order.status.rawValue,
            lines: placed?.lines.map {
                CartView.Line(
                    goodsId: $0.goodsId.description, variantId: $0.variantId?.description, variant: $0.variant, title: $0.title,
                    unitPrice: $0.unitPrice.minorUnits, quantity: $0.quantity, lineTotal: $0.lineTotal.minorUnits)
            } ?? [],
            subtotal: placed?.subtotal.minorUnits ?? 0, discount: placed?.discount.minorUnits ?? 0, pointsUsed: placed?.pointsUsed ?? 0,
            total: placed?.total.minorUnits ?? 0, placedAt: placed?.at.millisecondsSinceEpoch ?? 0,
            expiresAt: placed?.expiresAt.millisecondsSinceEpoch ?? 0, carrier: order.carrier, trackingNumber: order.trackingNumber,
            delivery: placed?.delivery, promotions: order.promotions.isEmpty ? nil : order.promotions.map(PromotionDiscountView.init),
            timeline: nil)
    }

    public func profile(of actor: Actor?) throws -> ProfileView {
        let actor = try currentActor(actor)
        guard let id = actor.userId else { throw EngineError(.forbidden, "profiles belong to users") }
        let user: UserState = try state(.user(id))
        return ProfileView(
            userId: id.description, email: user.email, name: user.name, role: user.role.rawValue,
            addresses: user.addresses.map {
                .init(
                    addressId: $0.id.description, isDefault: $0.id == user.defaultAddress,
                    recipient: $0.address.recipient, city: $0.address.city, line1: $0.address.line1)
            },
            favorites: user.favorites.map(\.description), footprints: user.footprints.reversed().map(\.description))
    }
}

extension Engine {
    /// What a payment is for (the sandbox checkout needs the amount to sign).
    public func paymentAmount(_ id: PaymentId) throws -> Int64? {
        let payment: PaymentState = try state(.payment(id))
        return payment.initiated?.amount.minorUnits
    }

    /// The amount of a payment the caller may pay: for their own order's payment (or any, for an admin); nil otherwise,
    /// so another customer's payment reads as absent.
    public func paymentAmount(_ id: PaymentId, payableBy actor: Actor?) throws -> Int64? {
        let caller = try currentActor(actor)
        let payment: PaymentState = try state(.payment(id))
        guard let initiated = payment.initiated else { return nil }
        let order: OrderState = try state(.order(initiated.orderId))
        guard caller.isAdmin || (caller.userId != nil && order.placed?.userId == caller.userId) else { return nil }
        return initiated.amount.minorUnits
    }
}
