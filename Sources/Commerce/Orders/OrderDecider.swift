extension Orders: Decider {
    public enum Command: Hashable, Sendable {
        /// The caller places an order from their cart, or buys `items` now.
        case place(PlaceOrder)
        case onOrder(OrderId, OrderCommand)
    }

    public static func reads(_ command: Command, actor: Actor, loaded: Loaded) -> [StreamId] {
        switch command {
        case .place(let place):
            guard let buyer = actor.userId else { return [] }
            var streams: [StreamId] = [.user(buyer), .points(buyer), .order(place.orderId)]
            if let items = place.items {
                streams += items.prefix(Limits.cartLinesMax).map { .goods($0.goodsId) }
            } else {
                let cart: CartState = loaded[.cart(buyer)]
                streams.append(.cart(buyer))
                streams += cart.lines.map { .goods($0.goodsId) }
                if let coupon = cart.couponId { streams.append(.coupon(coupon)) }
            }
            if place.deliveryMethodId != nil, let merchant = deliveryMerchant(place, buyer: buyer, loaded: loaded) {
                streams.append(.delivery(merchant))
            }
            // The promotions running, then the budgets of those the goods may get (once the goods are loaded).
            streams.append(.promotions)
            if loaded.contains(.promotions) {
                streams += livePromotions(place, buyer: buyer, loaded: loaded, loadedBudgetsOnly: false).filter(\.terms.budget.isLimited)
                    .map {
                        .promotion($0.terms.promotionId)
                    }
            }
            return streams
        case .onOrder(let orderId, _):
            let order: OrderState = loaded[.order(orderId)]
            guard let placed = order.placed else { return [.order(orderId)] }
            var streams: [StreamId] = [.order(orderId), .points(placed.userId)]
            streams += placed.lines.map { .goods($0.goodsId) }
            if let coupon = placed.couponId { streams.append(.coupon(coupon)) }
            if let payment = order.paymentId { streams.append(.payment(payment)) }
            streams += order.afterSales.differencePayments.map { .payment($0) }
            streams += order.promotions.filter(\.budgeted).map { .promotion($0.promotionId) }
            return streams
        }
    }

    /// The merchant whose delivery methods an order's method is one of: the merchant of its first line's goods.
    static func deliveryMerchant(_ place: PlaceOrder, buyer: UserId, loaded: Loaded) -> UserId? {
        let cart: CartState = loaded[.cart(buyer)]
        guard let first = place.items?.first?.goodsId ?? cart.lines.first?.goodsId else { return nil }
        let goods: GoodsState = loaded[.goods(first)]
        return goods.merchantId
    }

    /// The promotions running at checkout that the order's goods may get (their budgets' use as loaded so far).
    /// With `loadedBudgetsOnly` (deciding), a promotion whose budget is not loaded is left out: never spent unread.
    static func livePromotions(_ place: PlaceOrder, buyer: UserId, loaded: Loaded, loadedBudgetsOnly: Bool = true) -> [LivePromotion] {
        let lines = place.items.map { Array($0.prefix(Limits.cartLinesMax)) } ?? loaded[.cart(buyer), as: CartState.self].lines
        var goods: [GoodsId: GoodsState] = [:]
        for line in lines { goods[line.goodsId] = loaded[.goods(line.goodsId)] }
        return Promotions.live(loaded[.promotions], lines: lines, goods: goods, at: place.at) { loaded[.promotion($0)] }.filter {
            !loadedBudgetsOnly || !$0.terms.budget.isLimited || loaded.contains(.promotion($0.terms.promotionId))
        }
    }

    public static func decide(
        _ command: Command, actor: Actor, loaded: Loaded, at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        switch command {
        case .place(let place):
            guard let buyer = actor.userId else { throw Rejection(.notOwner, "orders are placed by the buyer") }
            let cart: CartState = place.items == nil ? loaded[.cart(buyer)] : CartState()
            var goods: [GoodsId: GoodsState] = [:]
            for line in place.items?.prefix(Limits.cartLinesMax) ?? cart.lines[...] { goods[line.goodsId] = loaded[.goods(line.goodsId)] }
            let merchant = place.deliveryMethodId == nil ? nil : deliveryMerchant(place, buyer: buyer, loaded: loaded)
            let states = CheckoutStates(
                user: loaded[.user(buyer)], cart: cart, goods: goods, coupon: cart.couponId.map { loaded[.coupon($0)] },
                points: loaded[.points(buyer)], order: loaded[.order(place.orderId)], delivery: merchant.map { loaded[.delivery($0)] },
                promotions: livePromotions(place, buyer: buyer, loaded: loaded))
            return try Orders.place(place, actor: actor, states: states, policy: policy)
        case let .onOrder(orderId, orderCommand):
            let order: OrderState = loaded[.order(orderId)]
            var context = OrderContext()
            if let placed = order.placed {
                for line in placed.lines { context.goods[line.goodsId] = loaded[.goods(line.goodsId)] }
                context.coupon = placed.couponId.map { loaded[.coupon($0)] }
                context.points = loaded[.points(placed.userId)]
                context.payment = order.paymentId.map { loaded[.payment($0)] }
                for paymentId in order.afterSales.differencePayments {
                    context.differencePayments[paymentId] = loaded[.payment(paymentId)]
                }
                for discount in order.promotions where discount.budgeted {
                    context.promotions[discount.promotionId] = loaded[.promotion(discount.promotionId)]
                }
            }
            return try Orders.decide(orderCommand, actor: actor, order: order, context: context, at: at, policy: policy)
        }
    }
}
