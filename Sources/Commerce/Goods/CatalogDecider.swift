extension Catalog: Decider {
    public enum Command: Hashable, Sendable {
        /// A merchant (or admin) command on one goods; `.list` names the new goods' id.
        case goods(GoodsId, GoodsCommand)
        case review(PostReview)
        case reviewAction(GoodsId, ReviewId, ReviewCommand)
        case waitlist(GoodsId, WaitlistCommand)
    }

    public static func reads(_ command: Command, actor: Actor, loaded: Loaded) -> [StreamId] {
        switch command {
        case let .goods(goodsId, goodsCommand):
            let goods: GoodsState = loaded[.goods(goodsId)]
            guard let merchant = goods.merchantId ?? actor.userId else { return [.goods(goodsId)] }
            return [.goods(goodsId)] + skuClaims(goodsCommand, merchant: merchant).map { .skuClaim($0) }
        case .review(let review): return [.goods(review.goodsId), .order(review.orderId)]
        case .reviewAction(let goodsId, _, _), .waitlist(let goodsId, _): return [.goods(goodsId)]
        }
    }

    /// The claim keys of the SKUs a command names (at most a goods' variants' worth).
    static func skuClaims(_ command: GoodsCommand, merchant: UserId) -> [String] {
        command.claimedSkus.prefix(Limits.variantsPerGoodsMax).map { Variants.claimKey(merchant: merchant, sku: $0) }
    }

    public static func decide(
        _ command: Command, actor: Actor, loaded: Loaded, at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        switch command {
        case let .goods(goodsId, goodsCommand):
            let goods: GoodsState = loaded[.goods(goodsId)]
            var claims: [String: SkuClaimState] = [:]
            if let merchant = goods.merchantId ?? actor.userId {
                for key in skuClaims(goodsCommand, merchant: merchant) { claims[key] = loaded[.skuClaim(key)] }
            }
            return try decide(goodsCommand, actor: actor, goods: goods, skuClaims: claims, at: at)
        case .review(let review):
            return try Catalog.review(
                review, actor: actor, goods: loaded[.goods(review.goodsId)], order: loaded[.order(review.orderId)], policy: policy)
        case let .reviewAction(goodsId, reviewId, action):
            return try Catalog.decide(action, on: reviewId, actor: actor, goods: loaded[.goods(goodsId)], at: at)
        case let .waitlist(goodsId, command):
            return try Catalog.decide(command, actor: actor, goods: loaded[.goods(goodsId)], at: at)
        }
    }
}
