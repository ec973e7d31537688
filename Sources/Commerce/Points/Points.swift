/// A user's points (`points-<userId>`).
public struct PointsState: Hashable, Codable, Sendable {
    public var earned: Int64 = 0
    public var redeemed: Int64 = 0
    public var refunded: Int64 = 0
    public var revoked: Int64 = 0
    public var exchanged: Int64 = 0
    public var usedByOrder: [OrderId: Int64] = [:]
    public var earnedByOrder: [OrderId: Int64] = [:]

    public init() {}

    public var balance: Int64 { earned - redeemed + refunded - revoked - exchanged }

    /// What is left of an order's points once `points` are taken off (nil: none); a partial refund takes a part.
    private static func less(_ points: Int64?, _ taken: Int64) -> Int64? {
        guard let points, points > taken else { return nil }
        return points - taken
    }

    public func evolve(_ event: PointsEvent) -> PointsState {
        var next = self
        switch event {
        case .earned(let earned):
            next.earned += earned.points
            next.earnedByOrder[earned.orderId, default: 0] += earned.points
        case .redeemed(let redeemed):
            next.redeemed += redeemed.points
            if let order = redeemed.orderId { next.usedByOrder[order, default: 0] += redeemed.points }
        case .refunded(let refunded):
            next.refunded += refunded.points
            next.usedByOrder[refunded.orderId] = Self.less(next.usedByOrder[refunded.orderId], refunded.points)
        case .revoked(let revoked):
            next.revoked += revoked.points
            next.earnedByOrder[revoked.orderId] = Self.less(next.earnedByOrder[revoked.orderId], revoked.points)
        case .exchanged(let exchanged): next.exchanged += exchanged.points
        }
        return next
    }
}

public struct ExchangePoints: Hashable, Sendable {
    public var points: Int64
    /// The personal coupon the points buy.
    public var couponId: CouponId
    public var code: String
    public var validUntil: Instant
    public var at: Instant

    public init(points: Int64, couponId: CouponId, code: String, validUntil: Instant, at: Instant) {
        self.points = points
        self.couponId = couponId
        self.code = code
        self.validUntil = validUntil
        self.at = at
    }
}

public enum Points {
    static func requirePositive(_ points: Int64, balance: Int64) throws(Rejection) {
        guard points > 0, points <= Int64(Limits.pointsMax) else {
            throw Rejection(.invalidInput, "points must be between 1 and \(Limits.pointsMax)", field: "points")
        }
        guard points <= balance else { throw Rejection(.insufficientPoints, "the balance is \(balance) points") }
    }

    /// Spends points outside an order (a gift, a donation).
    public static func redeem(
        _ points: Int64, reason: String, actor: Actor, owner: UserId, state: PointsState, at: Instant
    ) throws(Rejection) -> Decision {
        guard actor.userId == owner else { throw Rejection(.notOwner, "only the owner spends points") }
        try Limits.text(reason, "reason", max: Limits.reasonCharactersMax)
        try requirePositive(points, balance: state.balance)
        var decision = Decision()
        decision.append(.points(.redeemed(PointsRedeemed(orderId: nil, points: points, reason: reason, at: at))), to: .points(owner))
        return decision
    }

    /// Turns points into a personal, single-use, fixed-amount coupon.
    public static func exchange(
        _ command: ExchangePoints, actor: Actor, owner: UserId, state: PointsState,
        coupon: CouponState, code: CouponCodeState, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        guard actor.userId == owner else { throw Rejection(.notOwner, "only the owner exchanges points") }
        try requirePositive(command.points, balance: state.balance)
        let normalized = Coupons.normalizedCode(command.code)
        try Limits.text(normalized, "code", max: Limits.couponCodeCharactersMax)
        guard command.validUntil > command.at else {
            throw Rejection(.invalidInput, "validUntil must be in the future", field: "validUntil")
        }
        guard !coupon.exists else { throw Rejection(.couponAlreadyExists, "coupon \(command.couponId) exists") }
        guard code.couponId == nil else { throw Rejection(.couponCodeTaken, "code \(normalized) is taken", field: "code") }
        var decision = Coupons.created(
            CouponCreated(
                couponId: command.couponId, code: normalized, kind: .fixed, value: command.points * policy.pointValueMinorUnits,
                minimumSpend: .zero, validFrom: command.at, validUntil: command.validUntil, totalLimit: 1, perUserLimit: 1,
                restrictedTo: owner, createdBy: actor.description, at: command.at))
        decision.append(
            .points(.exchanged(PointsExchanged(points: command.points, couponId: command.couponId, at: command.at))),
            to: .points(owner))
        return decision
    }
}
