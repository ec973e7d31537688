extension Catalog: Decider {
    public enum Command: Hashable, Sendable {
        /// A merchant (or admin) command on one goods; `.list` names the new goods' id.
        case goods(GoodsId, GoodsCommand)
        case review(PostReview)
    }

    public static func reads(_ command: Command, actor: Actor, loaded: Loaded) -> [StreamId] {
        switch command {
        case .goods(let goodsId, _): return [.goods(goodsId)]
        case .review(let review): return [.goods(review.goodsId), .order(review.orderId)]
        }
    }

    public static func decide(
        _ command: Command, actor: Actor, loaded: Loaded, at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        switch command {
        case let .goods(goodsId, goodsCommand): return try decide(goodsCommand, actor: actor, goods: loaded[.goods(goodsId)], at: at)
        case .review(let review):
            return try Catalog.review(review, actor: actor, goods: loaded[.goods(review.goodsId)], order: loaded[.order(review.orderId)])
        }
    }
}
