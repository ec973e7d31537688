import Commerce
import Foundation

extension Replayer {
    /// What `owner`'s cart would have cost as of `position` at `time`: its lines, the goods' prices, the promotions
    /// running then with what their budgets had left, and its coupon, each as it stood there; priced by the same pure
    /// function checkout uses (`Pricing.quote`). A cart that could not have been checked out then throws its rejection.
    public func quote(cartOf owner: UserId, through position: UInt64, at time: Instant, policy: ShopPolicy) throws -> Quote {
        func state<S: AggregateState>(_ stream: StreamId, as _: S.Type = S.self) throws -> S {
            try self.stream(stream.description, through: position).state.state as? S ?? S()
        }
        let cart: CartState = try state(.cart(owner))
        var goods: [GoodsId: GoodsState] = [:]
        for line in cart.lines { goods[line.goodsId] = try state(.goods(line.goodsId)) }
        let directory: PromotionDirectoryState = try state(.promotions)
        var usage: [PromotionId: PromotionState] = [:]
        for terms in directory.live(at: time) where terms.budget.isLimited {
            usage[terms.promotionId] = try state(.promotion(terms.promotionId))
        }
        let promotions = Promotions.live(directory, lines: cart.lines, goods: goods, at: time) { usage[$0] ?? PromotionState() }
        let coupon: CouponState? = try cart.couponId.map { try state(.coupon($0)) }
        return try Pricing.quote(
            cart: cart, goods: goods, promotions: promotions, coupon: coupon, buyer: owner, pointsToUse: 0, pointsBalance: 0,
            policy: policy, at: time)
    }
}
