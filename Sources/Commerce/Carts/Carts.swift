public struct CartLine: Hashable, Codable, Sendable {
    public var goodsId: GoodsId
    public var quantity: Int

    public init(goodsId: GoodsId, quantity: Int) {
        self.goodsId = goodsId
        self.quantity = quantity
    }
}

public struct CartState: Hashable, Codable, Sendable {
    public var lines: [CartLine] = []
    public var couponId: CouponId?
    public var couponCode: String?

    public init() {}

    public func quantity(of goodsId: GoodsId) -> Int { lines.first { $0.goodsId == goodsId }?.quantity ?? 0 }

    public func evolve(_ event: CartEvent) -> CartState {
        var next = self
        switch event {
        case .itemAdded(let added):
            if let index = next.lines.firstIndex(where: { $0.goodsId == added.goodsId }) {
                next.lines[index].quantity += added.quantity
            } else {
                next.lines.append(CartLine(goodsId: added.goodsId, quantity: added.quantity))
            }
        case .quantityChanged(let changed):
            if let index = next.lines.firstIndex(where: { $0.goodsId == changed.goodsId }) { next.lines[index].quantity = changed.quantity }
        case .itemRemoved(let removed): next.lines.removeAll { $0.goodsId == removed.goodsId }
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
    case add(GoodsId, quantity: Int)
    case changeQuantity(GoodsId, quantity: Int)
    case remove(GoodsId)
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
        case let .add(goodsId, quantity):
            try Limits.quantity(quantity)
            try requireBuyable(goods, goodsId)
            let current = cart.quantity(of: goodsId)
            guard current > 0 || cart.lines.count < Limits.cartLinesMax else {
                throw Rejection(.cartFull, "at most \(Limits.cartLinesMax) lines")
            }
            try Limits.quantity(current + quantity)
            return .itemAdded(CartItemAdded(goodsId: goodsId, quantity: quantity, at: at))
        case let .changeQuantity(goodsId, quantity):
            try Limits.quantity(quantity)
            guard cart.quantity(of: goodsId) > 0 else { throw Rejection(.notInCart, "not in the cart") }
            guard quantity != cart.quantity(of: goodsId) else { throw Rejection(.nothingChanged, "the quantity is already \(quantity)") }
            return .quantityChanged(CartItemQuantityChanged(goodsId: goodsId, quantity: quantity, at: at))
        case .remove(let goodsId):
            guard cart.quantity(of: goodsId) > 0 else { throw Rejection(.notInCart, "not in the cart") }
            return .itemRemoved(CartItemRemoved(goodsId: goodsId, at: at))
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

    static func requireBuyable(_ goods: GoodsState?, _ goodsId: GoodsId) throws(Rejection) {
        guard let goods, goods.exists else { throw Rejection(.goodsNotFound, "no goods \(goodsId)") }
        guard goods.isListed else { throw Rejection(.goodsDelisted, "\(goods.title) is not for sale") }
    }
}

/// A priced cart: what the customer would pay now, at current prices.
public struct Quote: Hashable, Sendable {
    public var lines: [OrderLine]
    public var subtotal: Money
    public var discount: Money
    public var pointsUsed: Int64
    public var pointsValue: Money
    public var total: Money
}

public enum Pricing {
    /// Prices `cart` at current prices, applies its coupon, then up to `points`
    /// points (bounded by the balance and by `policy.pointsPayPercentMax`).
    public static func quote(
        cart: CartState, goods: [GoodsId: GoodsState], coupon: CouponState?, buyer: UserId,
        pointsToUse: Int64, pointsBalance: Int64, policy: ShopPolicy, at: Instant
    ) throws(Rejection) -> Quote {
        guard !cart.lines.isEmpty else { throw Rejection(.cartEmpty, "the cart is empty") }
        var lines: [OrderLine] = []
        var subtotal = Money.zero
        for line in cart.lines {
            try Carts.requireBuyable(goods[line.goodsId], line.goodsId)
            guard let state = goods[line.goodsId], let merchant = state.merchantId else {
                throw Rejection(.goodsNotFound, "no goods \(line.goodsId)")
            }
            let lineTotal = try state.price.times(line.quantity)
            lines.append(
                OrderLine(
                    goodsId: line.goodsId, merchantId: merchant, title: state.title, unitPrice: state.price,
                    quantity: line.quantity, lineTotal: lineTotal))
            subtotal = try subtotal + lineTotal
        }
        var discount = Money.zero
        if cart.couponId != nil {
            guard let coupon, coupon.exists else { throw Rejection(.couponNotFound, "the applied coupon is gone") }
            discount = try coupon.discount(on: subtotal, for: buyer, at: at)
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
            lines: lines, subtotal: subtotal, discount: discount, pointsUsed: pointsToUse,
            pointsValue: Money(minorUnits: pointsValue), total: Money(minorUnits: afterDiscount - pointsValue))
    }
}
