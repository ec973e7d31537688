public struct CartLine: Hashable, Codable, Sendable {
    public var goodsId: GoodsId
    public var quantity: Int
    /// nil: the goods' default variant (as the line events name it).
    public var variantId: VariantId?

    public init(goodsId: GoodsId, quantity: Int, variantId: VariantId? = nil) {
        self.goodsId = goodsId
        self.quantity = quantity
        self.variantId = variantId
    }

    /// The variant as events name it: nil for the default one.
    public var namedVariant: VariantId? { variantId?.named(in: goodsId) }

    func isLine(_ goodsId: GoodsId, _ variantId: VariantId?) -> Bool {
        self.goodsId == goodsId && namedVariant == variantId?.named(in: goodsId)
    }
}

public struct CartState: Hashable, Codable, Sendable {
    public var lines: [CartLine] = []
    public var couponId: CouponId?
    public var couponCode: String?

    public init() {}

    /// The quantity of one variant of a goods (nil: the default variant).
    public func quantity(of goodsId: GoodsId, variant: VariantId? = nil) -> Int {
        lines.first { $0.isLine(goodsId, variant) }?.quantity ?? 0
    }

    public func evolve(_ event: CartEvent) -> CartState {
        var next = self
        switch event {
        case .itemAdded(let added):
            if let index = next.lines.firstIndex(where: { $0.isLine(added.goodsId, added.variantId) }) {
                next.lines[index].quantity += added.quantity
            } else {
                next.lines.append(CartLine(goodsId: added.goodsId, quantity: added.quantity, variantId: added.variantId))
            }
        case .quantityChanged(let changed):
            if let index = next.lines.firstIndex(where: { $0.isLine(changed.goodsId, changed.variantId) }) {
                next.lines[index].quantity = changed.quantity
            }
        case .itemRemoved(let removed): next.lines.removeAll { $0.isLine(removed.goodsId, removed.variantId) }
        case .couponApplied(let applied):
            next.couponId = applied.couponId
            next.couponCode = applied.code
        case .couponRemoved:
            next.couponId = nil
            next.couponCode = nil
        case .cleared, .checkedOut:
            next = CartState()
        }
        return next
    }
}

public enum CartCommand: Hashable, Sendable {
    /// nil variant: the goods' default one (a goods with several variants must be told which).
    case add(GoodsId, quantity: Int, variant: VariantId? = nil)
    case changeQuantity(GoodsId, quantity: Int, variant: VariantId? = nil)
    case remove(GoodsId, variant: VariantId? = nil)
    case applyCoupon(CouponId, code: String)
    case removeCoupon
    case clear
}

public enum Carts {
    /// A customer's own cart (`cart-<userId>`). `goods` is the state of the goods
    /// an add or change names; `coupon` the state of a coupon being applied.
    public static func decide(
        _ command: CartCommand, actor: Actor, owner: UserId, cart: CartState,
        goods: GoodsState? = nil, coupon: CouponState? = nil, at: Instant
    ) throws(Rejection) -> Decision {
        guard actor.userId == owner else { throw Rejection(.notOwner, "only the owner changes a cart") }
        var decision = Decision()
        decision.append(.cart(try event(command, owner: owner, cart: cart, goods: goods, coupon: coupon, at: at)), to: .cart(owner))
        return decision
    }

    private static func event(
        _ command: CartCommand, owner: UserId, cart: CartState, goods: GoodsState?,
        coupon: CouponState?, at: Instant
    ) throws(Rejection) -> CartEvent {
        switch command {
        case let .add(goodsId, quantity, variantId):
            try Limits.quantity(quantity)
            let variant = try requireBuyable(goods, goodsId, variant: variantId)
            let named = variant.variantId.named(in: goodsId)
            let current = cart.quantity(of: goodsId, variant: named)
            guard current > 0 || cart.lines.count < Limits.cartLinesMax else {
                throw Rejection(.cartFull, "at most \(Limits.cartLinesMax) lines")
            }
            try Limits.quantity(current + quantity)
            return .itemAdded(CartItemAdded(goodsId: goodsId, quantity: quantity, at: at, variantId: named))
        case let .changeQuantity(goodsId, quantity, variantId):
            try Limits.quantity(quantity)
            let current = cart.quantity(of: goodsId, variant: variantId)
            guard current > 0 else { throw Rejection(.notInCart, "not in the cart") }
            guard quantity != current else { throw Rejection(.nothingChanged, "the quantity is already \(quantity)") }
            return .quantityChanged(
                CartItemQuantityChanged(goodsId: goodsId, quantity: quantity, at: at, variantId: variantId?.named(in: goodsId)))
        case let .remove(goodsId, variantId):
            guard cart.quantity(of: goodsId, variant: variantId) > 0 else { throw Rejection(.notInCart, "not in the cart") }
            return .itemRemoved(CartItemRemoved(goodsId: goodsId, at: at, variantId: variantId?.named(in: goodsId)))
        case let .applyCoupon(couponId, code):
            guard let coupon, coupon.exists else { throw Rejection(.couponNotFound, "no coupon \(code)") }
            try coupon.checkUsable(by: owner, at: at)
            return .couponApplied(CartCouponApplied(couponId: couponId, code: code, at: at))
        case .removeCoupon:
            guard cart.couponId != nil else { throw Rejection(.noCouponApplied, "no coupon is applied") }
            return .couponRemoved(CartCouponRemoved(at: at))
        case .clear:
            guard !cart.lines.isEmpty || cart.couponId != nil else { throw Rejection(.cartEmpty, "the cart is empty") }
            return .cleared(CartCleared(at: at))
        }
    }

    /// The variant to buy, when the goods and it are for sale. An unnamed variant is the default one in a line already in
    /// a cart (`unnamedIsDefault`); in a command, only a goods with one variant may leave it unnamed.
    static func requireBuyable(
        _ goods: GoodsState?, _ goodsId: GoodsId, variant: VariantId?, unnamedIsDefault: Bool = false
    ) throws(Rejection) -> VariantState {
        guard let goods, goods.exists else { throw Rejection(.goodsNotFound, "no goods \(goodsId)") }
        guard goods.isListed else { throw Rejection(.goodsDelisted, "\(goods.title) is not for sale") }
        let chosen = try goods.chosenVariant(unnamedIsDefault ? variant ?? goodsId.defaultVariant : variant)
        guard chosen.isListed else { throw Rejection(.variantDelisted, "\(goods.title) \(goods.label(of: chosen)) is not for sale") }
        return chosen
    }
}

/// A priced cart: what the customer would pay now, at current prices.
public struct Quote: Hashable, Sendable {
    public var lines: [OrderLine]
    public var subtotal: Money
    /// What promotions and the coupon take off.
    public var discount: Money
    /// The promotions' part of `discount`, each with what it takes off each line.
    public var promotions: [PromotionDiscount]
    public var pointsUsed: Int64
    public var pointsValue: Money
    public var total: Money
}

public enum Pricing {
    /// Prices `cart` at current prices, applies the promotions running (`PromotionPricing`), then its coupon, then up to
    /// `points` points (bounded by the balance and by `policy.pointsPayPercentMax`).
    public static func quote(
        cart: CartState, goods: [GoodsId: GoodsState], promotions: [LivePromotion] = [], coupon: CouponState?, buyer: UserId,
        pointsToUse: Int64, pointsBalance: Int64, policy: ShopPolicy, at: Instant
    ) throws(Rejection) -> Quote {
        guard !cart.lines.isEmpty else { throw Rejection(.cartEmpty, "the cart is empty") }
        var lines: [OrderLine] = []
        var subtotal = Money.zero
        for line in cart.lines {
            let variant = try Carts.requireBuyable(goods[line.goodsId], line.goodsId, variant: line.variantId, unnamedIsDefault: true)
            guard let state = goods[line.goodsId], let merchant = state.merchantId else {
                throw Rejection(.goodsNotFound, "no goods \(line.goodsId)")
            }
            let lineTotal = try variant.price.times(line.quantity)
            let named = variant.variantId.named(in: line.goodsId)
            lines.append(
                OrderLine(
                    goodsId: line.goodsId, merchantId: merchant, title: state.title, unitPrice: variant.price,
                    quantity: line.quantity, lineTotal: lineTotal, variantId: named, variant: named == nil ? nil : state.label(of: variant))
            )
            subtotal = try subtotal + lineTotal
        }
        let promoted = PromotionPricing.apply(to: lines, goods: goods, promotions: promotions)
        var discount = Money(minorUnits: promoted.reduce(0) { $0 + $1.amount.minorUnits })
        if cart.couponId != nil {
            guard let coupon, coupon.exists else { throw Rejection(.couponNotFound, "the applied coupon is gone") }
            discount = try discount + coupon.discount(on: Money(minorUnits: subtotal.minorUnits - discount.minorUnits), for: buyer, at: at)
        }
        let afterDiscount = subtotal.minorUnits - discount.minorUnits
        guard pointsToUse >= 0, pointsToUse <= Int64(Limits.pointsMax) else {
            throw Rejection(.invalidInput, "pointsToUse must be between 0 and \(Limits.pointsMax)", field: "pointsToUse")
        }
        guard pointsToUse <= pointsBalance else { throw Rejection(.insufficientPoints, "the balance is \(pointsBalance) points") }
        let pointsValue = pointsToUse * policy.pointValueMinorUnits
        guard pointsValue <= afterDiscount * policy.pointsPayPercentMax / 100 else {
            throw Rejection(.pointsNotAllowed, "points may pay at most \(policy.pointsPayPercentMax)% of the order")
        }
        return Quote(
            lines: lines, subtotal: subtotal, discount: discount, promotions: promoted, pointsUsed: pointsToUse,
            pointsValue: Money(minorUnits: pointsValue), total: Money(minorUnits: afterDiscount - pointsValue))
    }
}
