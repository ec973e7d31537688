public struct CouponState: Hashable, Codable, Sendable {
    public var terms: CouponCreated?
    public var redemptions = 0
    public var redemptionsByUser: [UserId: Int] = [:]
    /// Orders holding a redemption, which cancel or expiry gives back.
    public var openRedemptions: [OrderId: UserId] = [:]
    public var isDisabled = false

    public init() {}

    public var exists: Bool { terms != nil }

    public func evolve(_ event: CouponEvent) -> CouponState {
        var next = self
        switch event {
        case .created(let created): next.terms = created
        case .redeemed(let redeemed):
            next.redemptions += 1
            next.redemptionsByUser[redeemed.userId, default: 0] += 1
            next.openRedemptions[redeemed.orderId] = redeemed.userId
        case .released(let released):
            next.redemptions -= 1
            next.redemptionsByUser[released.userId, default: 0] -= 1
            next.openRedemptions[released.orderId] = nil
        case .disabled: next.isDisabled = true
        }
        return next
    }

    /// Whether `user` may use the coupon at `at`, before looking at the amount.
    public func checkUsable(by user: UserId, at: Instant) throws(Rejection) {
        guard let terms else { throw Rejection(.couponNotFound, "no such coupon") }
        guard !isDisabled else { throw Rejection(.couponDisabled, "coupon \(terms.code) is disabled") }
        guard terms.restrictedTo == nil || terms.restrictedTo == user else { throw Rejection(.couponNotFound, "no such coupon") }
        guard at >= terms.validFrom else { throw Rejection(.couponNotYetValid, "coupon \(terms.code) is not valid yet") }
        guard at < terms.validUntil else { throw Rejection(.couponExpired, "coupon \(terms.code) has expired") }
        guard redemptions < terms.totalLimit else { throw Rejection(.couponExhausted, "coupon \(terms.code) is used up") }
        guard redemptionsByUser[user, default: 0] < terms.perUserLimit else {
            throw Rejection(.couponPerUserLimitReached, "you have used coupon \(terms.code) \(terms.perUserLimit) time(s)")
        }
    }

    /// The discount on `subtotal`, after every check (minimum spend included).
    public func discount(on subtotal: Money, for user: UserId, at: Instant) throws(Rejection) -> Money {
        try checkUsable(by: user, at: at)
        guard let terms else { throw Rejection(.couponNotFound, "no such coupon") }
        guard subtotal >= terms.minimumSpend else {
            throw Rejection(.couponMinimumSpendNotMet, "coupon \(terms.code) needs a subtotal of \(terms.minimumSpend)")
        }
        switch terms.kind {
        case .percent: return Money(minorUnits: subtotal.minorUnits * terms.value / 100)
        case .fixed: return Money(minorUnits: min(terms.value, subtotal.minorUnits))
        }
    }
}

/// Who holds a coupon code (`couponcode-<CODE>`).
public struct CouponCodeState: Hashable, Codable, Sendable {
    public var couponId: CouponId?

    public init() {}

    public func evolve(_ event: CouponCodeEvent) -> CouponCodeState {
        var next = self
        switch event {
        case .claimed(let claimed): next.couponId = claimed.couponId
        }
        return next
    }
}

public struct CreateCoupon: Hashable, Sendable {
    public var couponId: CouponId
    public var code: String
    public var kind: CouponKind
    public var value: Int64
    public var minimumSpend: Money
    public var validFrom: Instant
    public var validUntil: Instant
    public var totalLimit: Int
    public var perUserLimit: Int
    public var at: Instant

    public init(
        couponId: CouponId, code: String, kind: CouponKind, value: Int64, minimumSpend: Money = .zero,
        validFrom: Instant, validUntil: Instant, totalLimit: Int, perUserLimit: Int = 1, at: Instant
    ) {
        self.couponId = couponId
        self.code = code
        self.kind = kind
        self.value = value
        self.minimumSpend = minimumSpend
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.totalLimit = totalLimit
        self.perUserLimit = perUserLimit
        self.at = at
    }
}

public enum Coupons {
    static let limitMax = 10_000_000

    /// Codes are compared upper-cased.
    public static func normalizedCode(_ code: String) -> String { code.uppercased() }

    public static func create(
        _ command: CreateCoupon, actor: Actor, coupon: CouponState, code: CouponCodeState
    ) throws(Rejection) -> Decision {
        guard actor.isAdmin else { throw Rejection(.forbidden, "only an admin creates coupons") }
        let normalized = normalizedCode(command.code)
        try validate(command, code: normalized)
        guard !coupon.exists else { throw Rejection(.couponAlreadyExists, "coupon \(command.couponId) exists") }
        guard code.couponId == nil else { throw Rejection(.couponCodeTaken, "code \(normalized) is taken", field: "code") }
        return created(
            CouponCreated(
                couponId: command.couponId, code: normalized, kind: command.kind, value: command.value,
                minimumSpend: command.minimumSpend, validFrom: command.validFrom, validUntil: command.validUntil,
                totalLimit: command.totalLimit, perUserLimit: command.perUserLimit, restrictedTo: nil,
                createdBy: actor.description, at: command.at))
    }

    static func created(_ event: CouponCreated) -> Decision {
        var decision = Decision()
        decision.append(.coupon(.created(event)), to: .coupon(event.couponId))
        decision.append(.couponCode(.claimed(CouponCodeClaimed(code: event.code, couponId: event.couponId))), to: .couponCode(event.code))
        return decision
    }

    private static func validate(_ command: CreateCoupon, code: String) throws(Rejection) {
        try Limits.text(code, "code", max: Limits.couponCodeCharactersMax)
        guard code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw Rejection(.invalidInput, "a code has letters, digits, - and _ only", field: "code")
        }
        switch command.kind {
        case .percent:
            guard (1...100).contains(command.value) else {
                throw Rejection(.invalidInput, "a percent coupon takes 1 to 100", field: "value")
            }
        case .fixed:
            guard command.value > 0, command.value <= Limits.priceMax else {
                throw Rejection(.invalidInput, "a fixed coupon takes a positive amount", field: "value")
            }
        }
        try Limits.price(command.minimumSpend, "minimumSpend")
        guard command.validFrom < command.validUntil else {
            throw Rejection(.invalidInput, "validFrom must be before validUntil", field: "validUntil")
        }
        guard (1...limitMax).contains(command.totalLimit), (1...limitMax).contains(command.perUserLimit) else {
            throw Rejection(.invalidInput, "limits must be between 1 and \(limitMax)", field: "totalLimit")
        }
    }

    public static func disable(actor: Actor, coupon: CouponState, at: Instant) throws(Rejection) -> Decision {
        guard actor.isAdmin else { throw Rejection(.forbidden, "only an admin disables coupons") }
        guard let terms = coupon.terms else { throw Rejection(.couponNotFound, "no such coupon") }
        guard !coupon.isDisabled else { throw Rejection(.couponDisabled, "already disabled") }
        var decision = Decision()
        decision.append(.coupon(.disabled(CouponDisabled(at: at))), to: .coupon(terms.couponId))
        return decision
    }
}
