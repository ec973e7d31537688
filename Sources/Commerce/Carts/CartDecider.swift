extension Carts: Decider {
    /// A command on the caller's own cart (`cart-<caller>`). Coupons are applied by code.
    public enum Command: Hashable, Sendable {
        /// nil variant: the goods' default one (a goods with several variants must be told which).
        case add(GoodsId, quantity: Int, variant: VariantId? = nil)
        case changeQuantity(GoodsId, quantity: Int, variant: VariantId? = nil)
        case remove(GoodsId, variant: VariantId? = nil)
        case applyCoupon(code: String)
        case removeCoupon
        case clear
    }

    public static func reads(_ command: Command, actor: Actor, loaded: Loaded) -> [StreamId] {
        guard let owner = actor.userId else { return [] }
        switch command {
        case .add(let goodsId, _, _), .changeQuantity(let goodsId, _, _): return [.cart(owner), .goods(goodsId)]
        case .applyCoupon(let code):
            let holder: CouponCodeState = loaded[.couponCode(Coupons.normalizedCode(code))]
            return [.cart(owner), .couponCode(Coupons.normalizedCode(code))] + (holder.couponId.map { [StreamId.coupon($0)] } ?? [])
        case .remove, .removeCoupon, .clear: return [.cart(owner)]
        }
    }

    public static func decide(
        _ command: Command, actor: Actor, loaded: Loaded, at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        guard let owner = actor.userId else { throw Rejection(.forbidden, "carts belong to users") }
        let cart: CartState = loaded[.cart(owner)]
        switch command {
        case let .add(goodsId, quantity, variant):
            return try decide(
                .add(goodsId, quantity: quantity, variant: variant), actor: actor, owner: owner, cart: cart, goods: loaded[.goods(goodsId)],
                at: at)
        case let .changeQuantity(goodsId, quantity, variant):
            return try decide(
                .changeQuantity(goodsId, quantity: quantity, variant: variant), actor: actor, owner: owner, cart: cart,
                goods: loaded[.goods(goodsId)], at: at)
        case let .remove(goodsId, variant):
            return try decide(.remove(goodsId, variant: variant), actor: actor, owner: owner, cart: cart, at: at)
        case .applyCoupon(let code):
            let holder: CouponCodeState = loaded[.couponCode(Coupons.normalizedCode(code))]
            guard let couponId = holder.couponId else { throw Rejection(.couponNotFound, "no coupon \(code)") }
            return try decide(
                .applyCoupon(couponId, code: code), actor: actor, owner: owner, cart: cart, coupon: loaded[.coupon(couponId)], at: at)
        case .removeCoupon: return try decide(.removeCoupon, actor: actor, owner: owner, cart: cart, at: at)
        case .clear: return try decide(.clear, actor: actor, owner: owner, cart: cart, at: at)
        }
    }
}
