extension Points: Decider {
    /// Commands on the caller's own points.
    public enum Command: Hashable, Sendable {
        case redeem(Int64, reason: String)
        case exchange(ExchangePoints)
    }

    public static func reads(_ command: Command, actor: Actor, loaded: Loaded) -> [StreamId] {
        guard let owner = actor.userId else { return [] }
        switch command {
        case .redeem: return [.points(owner)]
        case .exchange(let exchange): return [.points(owner), .coupon(exchange.couponId), .couponCode(exchange.code)]
        }
    }

    public static func decide(
        _ command: Command, actor: Actor, loaded: Loaded, at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        guard let owner = actor.userId else { throw Rejection(.notOwner, "points belong to users") }
        switch command {
        case let .redeem(points, reason):
            return try redeem(points, reason: reason, actor: actor, owner: owner, state: loaded[.points(owner)], at: at)
        case .exchange(let exchange):
            return try Points.exchange(
                exchange, actor: actor, owner: owner, state: loaded[.points(owner)], coupon: loaded[.coupon(exchange.couponId)],
                code: loaded[.couponCode(exchange.code)], policy: policy)
        }
    }
}
