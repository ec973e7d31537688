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
        if onHand < 0 { broken.append("on hand \(onHand) is negative") }
        if reserved < 0 { broken.append("reserved \(reserved) is negative") }
        if reserved > onHand { broken.append("reserved \(reserved) exceeds on hand \(onHand)") }
        if price.minorUnits < 0 { broken.append("price \(price.minorUnits) is negative") }
        if sold < 0 { broken.append("sold \(sold) is negative") }
        if ratingCount != reviewedOrders.count { broken.append("\(ratingCount) ratings from \(reviewedOrders.count) reviewed orders") }
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
