// Back in stock (到货通知): a customer joins the waitlist of a variant that is out of stock; when a merchant's restock
// (or a stock count, or a relisting), or the release of a cancelled or expired order's units, makes units available
// again, the waitlist is notified first come, first served —
// as many customers, in the order they joined, as there are units available, one `BackInStockNotified` event each —
// and the notified leave the list (the rest wait for the next restock). The events are the notifications: the event
// feed (`/v1/events?type=BackInStockNotified`) carries them to whatever sends the message.

/// One customer waiting for one variant.
public struct WaitlistEntry: Hashable, Codable, Sendable {
    public var userId: UserId
    public var variantId: VariantId
    public var since: Instant

    public init(userId: UserId, variantId: VariantId, since: Instant) {
        self.userId = userId
        self.variantId = variantId
        self.since = since
    }
}

/// A customer's command on a goods' waitlist; nil variant: the goods' only one.
public enum WaitlistCommand: Hashable, Sendable {
    case join(variant: VariantId?)
    case leave(variant: VariantId?)
}

public struct WaitlistJoined: EventPayload {
    public static let eventType = "WaitlistJoined"
    public var userId: UserId
    /// nil: the default variant.
    public var variantId: VariantId?
    public var at: Instant

    public init(userId: UserId, variantId: VariantId?, at: Instant) {
        self.userId = userId
        self.variantId = variantId
        self.at = at
    }
}

public struct WaitlistLeft: EventPayload {
    public static let eventType = "WaitlistLeft"
    public var userId: UserId
    public var variantId: VariantId?
    public var at: Instant

    public init(userId: UserId, variantId: VariantId?, at: Instant) {
        self.userId = userId
        self.variantId = variantId
        self.at = at
    }
}

/// One waiting customer told the variant is back (`available` units at the time); they leave the waitlist.
public struct BackInStockNotified: EventPayload {
    public static let eventType = "BackInStockNotified"
    public var userId: UserId
    public var variantId: VariantId?
    public var available: Int
    public var at: Instant

    public init(userId: UserId, variantId: VariantId?, available: Int, at: Instant) {
        self.userId = userId
        self.variantId = variantId
        self.available = available
        self.at = at
    }
}

extension GoodsState {
    /// The customers waiting for `variant`, first come first.
    public func waiting(for variant: VariantId) -> [WaitlistEntry] { waitlist.filter { $0.variantId == variant } }

    mutating func applyWaitlist(_ event: GoodsEvent) {
        guard let goodsId else { return }
        switch event {
        case .waitlistJoined(let joined):
            waitlist.append(WaitlistEntry(userId: joined.userId, variantId: joined.variantId ?? goodsId.defaultVariant, since: joined.at))
        case .waitlistLeft(let left):
            let variant = left.variantId ?? goodsId.defaultVariant
            waitlist.removeAll { $0.userId == left.userId && $0.variantId == variant }
        case .backInStockNotified(let notified):
            let variant = notified.variantId ?? goodsId.defaultVariant
            waitlist.removeAll { $0.userId == notified.userId && $0.variantId == variant }
        default: break
        }
    }
}

extension Catalog {
    /// A customer joins (only while the variant is out of stock) or leaves a waitlist.
    public static func decide(
        _ command: WaitlistCommand, actor: Actor, goods: GoodsState, at: Instant
    ) throws(Rejection) -> Decision {
        guard let goodsId = goods.goodsId else { throw Rejection(.goodsNotFound, "no such goods") }
        guard let user = actor.userId else { throw Rejection(.forbidden, "a waitlist is for signed-in customers") }
        let event: GoodsEvent
        switch command {
        case .join(let id):
            let variant = try goods.chosenVariant(id)
            guard goods.isListed, variant.isListed else { throw Rejection(.goodsDelisted, "these goods are not for sale") }
            guard variant.available <= 0 else {
                throw Rejection(.inStock, "\(goods.title) is in stock (\(variant.available)): order it", field: "variantId")
            }
            guard !goods.waitlist.contains(where: { $0.userId == user && $0.variantId == variant.variantId }) else {
                throw Rejection(.alreadyWaiting, "you are on this waitlist")
            }
            guard goods.waitlist.count < Limits.waitlistPerGoodsMax else {
                throw Rejection(.waitlistFull, "the waitlist of \(goods.title) is full (\(Limits.waitlistPerGoodsMax))")
            }
            event = .waitlistJoined(WaitlistJoined(userId: user, variantId: variant.variantId.named(in: goodsId), at: at))
        case .leave(let id):
            let variant = try goods.chosenVariant(id)
            guard goods.waitlist.contains(where: { $0.userId == user && $0.variantId == variant.variantId }) else {
                throw Rejection(.notWaiting, "you are not on this waitlist")
            }
            event = .waitlistLeft(WaitlistLeft(userId: user, variantId: variant.variantId.named(in: goodsId), at: at))
        }
        var decision = Decision()
        decision.append(.goods(event), to: .goods(goodsId))
        return decision
    }

    /// The waitlist notifications a change owes (a merchant's, or an order's release): for each variant for sale whose
    /// available units rose,
    /// its waiting customers in the order they joined, as many as there are units.
    static func backInStock(before: GoodsState, after: GoodsState, at: Instant) -> [GoodsEvent] {
        guard let goodsId = after.goodsId, after.isListed, !after.waitlist.isEmpty else { return [] }
        var events: [GoodsEvent] = []
        for variant in after.variants where variant.isListed && variant.available > 0 {
            let was = before.variant(variant.variantId).map { before.isListed && $0.isListed ? max($0.available, 0) : 0 } ?? 0
            guard variant.available > was else { continue }
            for entry in after.waiting(for: variant.variantId).prefix(variant.available) {
                events.append(
                    .backInStockNotified(
                        BackInStockNotified(
                            userId: entry.userId, variantId: variant.variantId.named(in: goodsId), available: variant.available, at: at)))
            }
        }
        return events
    }
}
