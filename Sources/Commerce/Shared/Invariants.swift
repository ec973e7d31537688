#if EMPORIUM_INVARIANTS
/// What must hold of a state whatever was decided, checked by the simulation
/// after every step. Compiled only where `EMPORIUM_INVARIANTS` is defined
/// (debug builds: the tests), so the serving path never pays for it.
public protocol InvariantChecked {
    /// Each broken invariant, in a sentence; empty when all hold.
    var invariantViolations: [String] { get }
}

extension GoodsState: InvariantChecked {
    public var invariantViolations: [String] {
        var broken: [String] = []
        if exists, variants.first?.variantId != goodsId?.defaultVariant { broken.append("the first variant is not the default one") }
        for variant in variants {
            let name = variant.sku.isEmpty ? variant.variantId.description : variant.sku
            if variant.onHand < 0 { broken.append("\(name): on hand \(variant.onHand) is negative") }
            if variant.reserved < 0 { broken.append("\(name): reserved \(variant.reserved) is negative") }
            if variant.reserved > variant.onHand {
                broken.append("\(name): reserved \(variant.reserved) exceeds on hand \(variant.onHand)")
            }
            if variant.price.minorUnits < 0 { broken.append("\(name): price \(variant.price.minorUnits) is negative") }
            if let terms = variant.preOrder {
                if terms.taken > terms.cap || terms.taken < 0 {
                    broken.append("\(name): \(terms.taken) pre-ordered of a cap of \(terms.cap)")
                }
                if variant.awaitingUnits > terms.taken {
                    broken.append("\(name): \(variant.awaitingUnits) units queued, \(terms.taken) pre-ordered")
                }
            } else if !variant.preOrders.isEmpty {
                broken.append("\(name): orders queued without pre-orders")
            }
            if Set(variant.preOrders.map(\.orderId)).count != variant.preOrders.count { broken.append("\(name): an order queued twice") }
            if variant.preOrders.contains(where: { $0.quantity <= 0 }) { broken.append("\(name): a queued order wants no units") }
            if variant.values.count != options.count {
                broken.append("\(name): \(variant.values.count) values for \(options.count) options")
            }
        }
        if Set(variants.map(\.values)).count != variants.count { broken.append("two variants share their option values") }
        if variants.contains(where: { $0.sold < 0 }) { broken.append("a variant's sold is negative") }
        if reviews.count != reviewedOrders.count { broken.append("\(reviews.count) reviews of \(reviewedOrders.count) reviewed orders") }
        if Set(reviews.map(\.reviewId)).count != reviews.count { broken.append("two reviews share an id") }
        if Set(waitlist.map { "\($0.userId)/\($0.variantId)" }).count != waitlist.count { broken.append("a customer waits twice") }
        if waitlist.contains(where: { entry in !variants.contains { $0.variantId == entry.variantId } }) {
            broken.append("a customer waits for a variant the goods does not have")
        }
        // Only approved reviews count in the rating.
        let approved = reviews.filter { $0.status == .approved }
        if ratingCount != approved.count || ratingTotal != approved.reduce(0, { $0 + $1.rating }) {
            broken.append("rating \(ratingTotal)/\(ratingCount) is not that of the \(approved.count) approved reviews")
        }
        if ratingTotal < ratingCount || ratingTotal > 5 * ratingCount {
            broken.append("rating total \(ratingTotal) over \(ratingCount) ratings")
        }
        return broken
    }
}

extension CouponState: InvariantChecked {
    public var invariantViolations: [String] {
        var broken: [String] = []
        if redemptions < 0 { broken.append("redemptions \(redemptions) are negative") }
        if redemptionsByUser.values.reduce(0, +) != redemptions {
            broken.append("redemptions by user add up to \(redemptionsByUser.values.reduce(0, +)), not \(redemptions)")
        }
        if openRedemptions.count != redemptions { broken.append("\(openRedemptions.count) orders hold \(redemptions) redemptions") }
        if let terms {
            if redemptions > terms.totalLimit { broken.append("\(redemptions) redemptions over the limit of \(terms.totalLimit)") }
            if let user = redemptionsByUser.first(where: { $0.value < 0 || $0.value > terms.perUserLimit }) {
                broken.append("user \(user.key) redeemed \(user.value), the limit is \(terms.perUserLimit)")
            }
        } else if redemptions != 0 {
            broken.append("\(redemptions) redemptions of a coupon never created")
        }
        return broken
    }
}

extension PointsState: InvariantChecked {
    public var invariantViolations: [String] {
        var broken: [String] = []
        if balance < 0 { broken.append("balance \(balance) is negative") }
        for (name, amount) in [
            ("earned", earned), ("redeemed", redeemed), ("refunded", refunded), ("revoked", revoked), ("exchanged", exchanged),
        ]
        where amount < 0 {
            broken.append("\(name) \(amount) is negative")
        }
        if usedByOrder.values.contains(where: { $0 < 0 }) || earnedByOrder.values.contains(where: { $0 < 0 }) {
            broken.append("an order's points are negative")
        }
        return broken
    }
}
#endif
