extension Coupons: Decider {
    public enum Command: Hashable, Sendable {
        case create(CreateCoupon)
        case disable(CouponId)
    }

    public static func reads(_ command: Command, actor: Actor, loaded: Loaded) -> [StreamId] {
        switch command {
        case .create(let create): return [.coupon(create.couponId), .couponCode(normalizedCode(create.code))]
        case .disable(let couponId): return [.coupon(couponId)]
        }
    }

    public static func decide(
        _ command: Command, actor: Actor, loaded: Loaded, at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        switch command {
        case .create(let create):
            return try Coupons.create(
                create, actor: actor, coupon: loaded[.coupon(create.couponId)], code: loaded[.couponCode(normalizedCode(create.code))])
        case .disable(let couponId): return try Coupons.disable(actor: actor, coupon: loaded[.coupon(couponId)], at: at)
        }
    }
}
