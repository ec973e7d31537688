import Foundation

// Promotions (活动促销) beside coupons, after Saleor's catalogue and order promotions and Medusa's campaigns: they need
// no code, apply by themselves to the goods they target while their window is open, and may carry a campaign budget
// (a total discount, a number of orders, or both).
//
// How a cart is priced (`PromotionPricing.apply`, a pure function of the cart's lines, their goods and the promotions
// live at that moment), the one stacking rule:
//
// 1. Catalogue promotions (`percentOff`, `amountOff`): each line takes the one that takes most off it (a tie goes to the
//    promotion that started first). A line gets at most one catalogue promotion.
// 2. Order promotions (`spendAndSave` 满减, `buyXGetY` 买X送Y): of those the order qualifies for, the one that takes
//    most off applies, reckoned on the lines' prices after step 1. An order gets at most one order promotion.
// 3. Then one coupon, on what is left (its minimum spend is met by the promoted subtotal); then points.
//
// A promotion whose budget cannot cover what it would take off an order does not apply to it (the next best does): a
// budget is never exceeded and never split. What a budgeted promotion gives is spent in the same append as the order
// (`PromotionApplied` on `promotion-<id>`, under that stream's expected version), so concurrent orders are decided one
// after another against what is left; a cancelled or expired order gives it back (`PromotionReleased`).
//
// The live promotions' terms sit in one directory stream (`promotions-shop`), read by every checkout; a promotion's own
// stream holds only its budget's use, written only by orders that spend it.

public enum PromotionKind: String, Codable, Hashable, Sendable, CaseIterable {
    /// `percent` off each line it covers (catalogue).
    case percentOff
    /// `amountOff` off each unit it covers, at most the unit's price (catalogue).
    case amountOff
    /// 满减: the highest tier the covered lines reach (order).
    case spendAndSave
    /// 买X送Y: of every `buy + get` covered units, taken dearest first, the last `get` are free (order).
    case buyXGetY

    public var isCatalogue: Bool { self == .percentOff || self == .amountOff }
}

/// One step of a spend-and-save promotion: from `threshold` on, `amountOff` (for every `threshold` when `repeating`:
/// "¥50 off every ¥300") or `percent` off ("10% off above ¥500").
public struct PromotionTier: Codable, Hashable, Sendable {
    public var threshold: Money
    public var amountOff: Money
    public var percent: Int
    public var repeating: Bool

    public init(threshold: Money, amountOff: Money = .zero, percent: Int = 0, repeating: Bool = false) {
        self.threshold = threshold
        self.amountOff = amountOff
        self.percent = percent
        self.repeating = repeating
    }
}

/// What a promotion takes off: the fields its kind uses (the others are zero or empty).
public struct PromotionRule: Codable, Hashable, Sendable {
    public var kind: PromotionKind
    public var percent: Int
    public var amountOff: Money
    public var tiers: [PromotionTier]
    public var buy: Int
    public var get: Int

    public init(kind: PromotionKind, percent: Int = 0, amountOff: Money = .zero, tiers: [PromotionTier] = [], buy: Int = 0, get: Int = 0) {
        self.kind = kind
        self.percent = percent
        self.amountOff = amountOff
        self.tiers = tiers
        self.buy = buy
        self.get = get
    }

    public static func percentOff(_ percent: Int) -> PromotionRule { PromotionRule(kind: .percentOff, percent: percent) }
    public static func amountOff(_ amount: Money) -> PromotionRule { PromotionRule(kind: .amountOff, amountOff: amount) }
    public static func spendAndSave(_ tiers: [PromotionTier]) -> PromotionRule { PromotionRule(kind: .spendAndSave, tiers: tiers) }
    public static func buyXGetY(buy: Int, get: Int) -> PromotionRule { PromotionRule(kind: .buyXGetY, buy: buy, get: get) }
}

/// The goods a promotion covers: any of `goodsIds`, any goods in `categories` or of `brands`; all empty: every goods
/// (a merchant's promotion covers only that merchant's goods).
public struct PromotionTarget: Codable, Hashable, Sendable {
    public var goodsIds: [GoodsId]
    public var categories: [String]
    public var brands: [String]

    public init(goodsIds: [GoodsId] = [], categories: [String] = [], brands: [String] = []) {
        self.goodsIds = goodsIds
        self.categories = categories
        self.brands = brands
    }

    public var isEverything: Bool { goodsIds.isEmpty && categories.isEmpty && brands.isEmpty }

    func covers(_ goodsId: GoodsId, _ goods: GoodsState?) -> Bool {
        if isEverything || goodsIds.contains(goodsId) { return true }
        guard let goods else { return false }
        return (!goods.category.isEmpty && categories.contains(goods.category)) || (!goods.brand.isEmpty && brands.contains(goods.brand))
    }
}

/// A campaign's budget: the discount it may give in all, the orders that may use it; nil: no limit.
public struct PromotionBudget: Codable, Hashable, Sendable {
    public var discountMax: Money?
    public var usesMax: Int?

    public init(discountMax: Money? = nil, usesMax: Int? = nil) {
        self.discountMax = discountMax
        self.usesMax = usesMax
    }

    public var isLimited: Bool { discountMax != nil || usesMax != nil }
}

// MARK: Events

public struct PromotionCreated: EventPayload {
    public static let eventType = "PromotionCreated"
    public var promotionId: PromotionId
    public var name: String
    public var rule: PromotionRule
    public var target: PromotionTarget
    public var budget: PromotionBudget
    public var validFrom: Instant
    public var validUntil: Instant
    /// The merchant whose goods alone it covers; nil: a shop-wide promotion (an admin's).
    public var merchantId: UserId?
    public var createdBy: String
    public var at: Instant

    public init(
        promotionId: PromotionId, name: String, rule: PromotionRule, target: PromotionTarget, budget: PromotionBudget,
        validFrom: Instant, validUntil: Instant, merchantId: UserId?, createdBy: String, at: Instant
    ) {
        self.promotionId = promotionId
        self.name = name
        self.rule = rule
        self.target = target
        self.budget = budget
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.merchantId = merchantId
        self.createdBy = createdBy
        self.at = at
    }

    /// Whether it covers `goodsId` of `merchant` (a merchant's promotion covers only that merchant's goods).
    func covers(_ goodsId: GoodsId, of merchant: UserId?, _ goods: GoodsState?) -> Bool {
        (merchantId == nil || merchantId == merchant) && target.covers(goodsId, goods)
    }
}

public struct PromotionEnded: EventPayload {
    public static let eventType = "PromotionEnded"; public var promotionId: PromotionId; public var reason: String; public var at: Instant
    public init(promotionId: PromotionId, reason: String, at: Instant) {
        self.promotionId = promotionId; self.reason = reason; self.at = at
    }
}

/// An order spent `amount` of a budgeted promotion (in the same append as the order).
public struct PromotionApplied: EventPayload {
    public static let eventType = "PromotionApplied"; public var orderId: OrderId; public var amount: Money; public var at: Instant
    public init(orderId: OrderId, amount: Money, at: Instant) { self.orderId = orderId; self.amount = amount; self.at = at }
}

/// A cancelled or expired order gave back what it spent of a budgeted promotion.
public struct PromotionReleased: EventPayload {
    public static let eventType = "PromotionReleased"; public var orderId: OrderId; public var amount: Money; public var at: Instant
    public init(orderId: OrderId, amount: Money, at: Instant) { self.orderId = orderId; self.amount = amount; self.at = at }
}

/// What one promotion took off an order, per order line (`lines[i]` off `OrderPlaced.lines[i]`; `amount`: their sum).
public struct PromotionDiscount: Codable, Hashable, Sendable {
    public var promotionId: PromotionId
    public var name: String
    public var kind: PromotionKind
    public var lines: [Money]
    /// Whether it spent a budget (and a cancellation gives it back).
    public var budgeted: Bool

    public init(promotionId: PromotionId, name: String, kind: PromotionKind, lines: [Money], budgeted: Bool) {
        self.promotionId = promotionId
        self.name = name
        self.kind = kind
        self.lines = lines
        self.budgeted = budgeted
    }

    /// What it took off in all.
    public var amount: Money { Money(minorUnits: lines.reduce(0) { $0 + $1.minorUnits }) }
}

/// On the order's stream, right after `OrderPlaced` (whose `discount` counts these and the coupon's): the promotions
/// the order got.
public struct PromotionsApplied: EventPayload {
    public static let eventType = "PromotionsApplied"; public var discounts: [PromotionDiscount]
    public init(discounts: [PromotionDiscount]) { self.discounts = discounts }
}

/// The directory's events (`promotions-shop`).
public enum PromotionDirectoryEvent: Hashable, Sendable {
    case created(PromotionCreated)
    case ended(PromotionEnded)

    public var payload: any EventPayload {
        switch self {
        case .created(let payload): return payload
        case .ended(let payload): return payload
        }
    }
}

/// A promotion's budget events (`promotion-<id>`).
public enum PromotionEvent: Hashable, Sendable {
    case applied(PromotionApplied)
    case released(PromotionReleased)

    public var payload: any EventPayload {
        switch self {
        case .applied(let payload): return payload
        case .released(let payload): return payload
        }
    }
}

// MARK: States

/// Every promotion the shop made (`promotions-shop`).
public struct PromotionDirectoryState: Hashable, Codable, Sendable {
    public var promotions: [PromotionId: PromotionCreated] = [:]
    public var ended: [PromotionId: Instant] = [:]

    public init() {}

    public func evolve(_ event: PromotionDirectoryEvent) -> PromotionDirectoryState {
        var next = self
        switch event {
        case .created(let created): next.promotions[created.promotionId] = created
        case .ended(let ended): next.ended[ended.promotionId] = ended.at
        }
        return next
    }

    /// Until when `terms` runs: its window's end, or when it was ended.
    public func closes(_ terms: PromotionCreated) -> Instant { min(terms.validUntil, ended[terms.promotionId] ?? terms.validUntil) }

    /// The promotions running at `at`, oldest start first (ties by id): the order pricing breaks ties in.
    public func live(at: Instant) -> [PromotionCreated] {
        promotions.values.filter { $0.validFrom <= at && at < closes($0) }.sorted {
            ($0.validFrom, $0.promotionId) < ($1.validFrom, $1.promotionId)
        }
    }

    /// Promotions running or still to start at `at`.
    func pending(at: Instant) -> Int { promotions.values.filter { at < closes($0) }.count }
}

/// What a promotion's budget has given (`promotion-<id>`).
public struct PromotionState: Hashable, Codable, Sendable {
    public var spent = Money.zero
    public var uses = 0
    /// Orders holding part of the budget, which cancel or expiry gives back.
    public var open: [OrderId: Money] = [:]

    public init() {}

    public func evolve(_ event: PromotionEvent) -> PromotionState {
        var next = self
        switch event {
        case .applied(let applied):
            next.spent.minorUnits += applied.amount.minorUnits
            next.uses += 1
            next.open[applied.orderId] = applied.amount
        case .released(let released):
            next.spent.minorUnits -= released.amount.minorUnits
            next.uses -= 1
            next.open[released.orderId] = nil
        }
        return next
    }

    /// Whether one more order taking `amount` stays within `budget`.
    public func admits(_ amount: Int64, within budget: PromotionBudget) -> Bool {
        if let usesMax = budget.usesMax, uses + 1 > usesMax { return false }
        if let discountMax = budget.discountMax, spent.minorUnits + amount > discountMax.minorUnits { return false }
        return true
    }
}

// MARK: Pricing

/// A promotion running now, with what its budget has given so far.
public struct LivePromotion: Hashable, Sendable {
    public var terms: PromotionCreated
    public var usage: PromotionState

    public init(terms: PromotionCreated, usage: PromotionState = PromotionState()) {
        self.terms = terms
        self.usage = usage
    }
}

public enum PromotionPricing {
    /// What `promotions` take off `lines` by the stacking rule at the top of this file; empty when none applies.
    public static func apply(to lines: [OrderLine], goods: [GoodsId: GoodsState], promotions: [LivePromotion]) -> [PromotionDiscount] {
        guard !promotions.isEmpty else { return [] }
        let totals = lines.map(\.lineTotal.minorUnits)
        let catalogue = promotions.filter(\.terms.rule.kind.isCatalogue)
        // Step 1: the best catalogue promotion per line; one that its budget cannot cover is dropped and the rest chosen again.
        var excluded = Set<PromotionId>()
        var chosen: [(promotion: LivePromotion, amount: Int64)?] = []
        while true {
            chosen = lines.indices.map { index in
                var best: (promotion: LivePromotion, amount: Int64)?
                for promotion in catalogue where !excluded.contains(promotion.terms.promotionId) {
                    let line = lines[index]
                    guard promotion.terms.covers(line.goodsId, of: line.merchantId, goods[line.goodsId]) else { continue }
                    let amount = lineDiscount(promotion.terms.rule, lines[index])
                    if amount > 0, amount > best?.amount ?? 0 { best = (promotion, amount) }
                }
                return best
            }
            let over = catalogue.first { promotion in
                let spent = chosen.reduce(Int64(0)) {
                    $0 + ($1?.promotion.terms.promotionId == promotion.terms.promotionId ? $1?.amount ?? 0 : 0)
                }
                return spent > 0 && !promotion.usage.admits(spent, within: promotion.terms.budget)
            }
            guard let over else { break }
            excluded.insert(over.terms.promotionId)
        }
        var discounts: [PromotionDiscount] = []
        for promotion in catalogue {
            let perLine = chosen.map { $0?.promotion.terms.promotionId == promotion.terms.promotionId ? $0?.amount ?? 0 : 0 }
            guard perLine.contains(where: { $0 > 0 }) else { continue }
            discounts.append(discount(promotion.terms, perLine))
        }
        // Step 2: the best order promotion over the promoted prices.
        let net = zip(totals, chosen).map { total, choice in total - (choice?.amount ?? 0) }
        var best: (terms: PromotionCreated, lines: [Int64], amount: Int64)?
        for promotion in promotions where !promotion.terms.rule.kind.isCatalogue {
            let covered = lines.map { promotion.terms.covers($0.goodsId, of: $0.merchantId, goods[$0.goodsId]) }
            let perLine = orderDiscount(promotion.terms.rule, lines: lines, net: net, covered: covered)
            let amount = perLine.reduce(0, +)
            guard amount > 0, amount > best?.amount ?? 0, promotion.usage.admits(amount, within: promotion.terms.budget) else { continue }
            best = (promotion.terms, perLine, amount)
        }
        if let best { discounts.append(discount(best.terms, best.lines)) }
        return discounts
    }

    private static func discount(_ terms: PromotionCreated, _ perLine: [Int64]) -> PromotionDiscount {
        PromotionDiscount(
            promotionId: terms.promotionId, name: terms.name, kind: terms.rule.kind,
            lines: perLine.map { Money(minorUnits: $0) }, budgeted: terms.budget.isLimited)
    }

    /// A catalogue promotion's discount on one line.
    static func lineDiscount(_ rule: PromotionRule, _ line: OrderLine) -> Int64 {
        switch rule.kind {
        case .percentOff: return line.lineTotal.minorUnits * Int64(rule.percent) / 100
        case .amountOff: return min(rule.amountOff.minorUnits, line.unitPrice.minorUnits) * Int64(line.quantity)
        case .spendAndSave, .buyXGetY: return 0
        }
    }

    /// An order promotion's discount on each line (zero on lines it does not cover), reckoned on `net` line prices.
    static func orderDiscount(_ rule: PromotionRule, lines: [OrderLine], net: [Int64], covered: [Bool]) -> [Int64] {
        let zero = lines.map { _ in Int64(0) }
        switch rule.kind {
        case .percentOff, .amountOff: return zero
        case .spendAndSave:
            let weights = net.indices.map { covered[$0] ? net[$0] : 0 }
            let base = weights.reduce(0, +)
            guard let tier = rule.tiers.last(where: { $0.threshold.minorUnits <= base }), tier.threshold.minorUnits > 0 else { return zero }
            let off: Int64
            if tier.percent > 0 {
                off = base * Int64(tier.percent) / 100
            } else {
                off = tier.repeating ? base / tier.threshold.minorUnits * tier.amountOff.minorUnits : tier.amountOff.minorUnits
            }
            return AfterSales.apportion(min(off, base), by: weights)
        case .buyXGetY:
            let group = rule.buy + rule.get
            guard rule.buy > 0, rule.get > 0 else { return zero }
            // Every covered unit at its line's net unit price, dearest first (ties by line).
            var units: [(line: Int, price: Int64)] = []
            for index in lines.indices where covered[index] && lines[index].quantity > 0 {
                let price = net[index] / Int64(lines[index].quantity)
                units += Array(repeating: (index, price), count: lines[index].quantity)
            }
            units.sort { ($0.price, -$0.line) > ($1.price, -$1.line) }
            var perLine = zero
            for (position, unit) in units.enumerated() where position < units.count / group * group && position % group >= rule.buy {
                perLine[unit.line] += unit.price
            }
            return perLine
        }
    }
}

// MARK: Commands

public struct CreatePromotion: Hashable, Sendable {
    public var promotionId: PromotionId
    public var name: String
    public var rule: PromotionRule
    public var target: PromotionTarget
    public var budget: PromotionBudget
    public var validFrom: Instant
    public var validUntil: Instant
    public var at: Instant

    public init(
        promotionId: PromotionId, name: String, rule: PromotionRule, target: PromotionTarget = PromotionTarget(),
        budget: PromotionBudget = PromotionBudget(), validFrom: Instant, validUntil: Instant, at: Instant
    ) {
        self.promotionId = promotionId
        self.name = name
        self.rule = rule
        self.target = target
        self.budget = budget
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.at = at
    }
}

public enum Promotions {
    public enum Command: Hashable, Sendable {
        /// An admin (shop-wide) or a merchant (their goods only).
        case create(CreatePromotion)
        /// An admin or the merchant who made it; nothing more is given from then on.
        case end(PromotionId, reason: String)
    }

    static let tiersMax = 10
    static let targetsMax = 100
    static let buyGetMax = 99
    static let usesMax = 10_000_000
    /// Promotions running or still to start at once: every checkout reads them all.
    public static let pendingMax = 100

    public static func create(_ command: CreatePromotion, actor: Actor, directory: PromotionDirectoryState) throws(Rejection) -> Decision {
        let merchant: UserId?
        if actor.isAdmin {
            merchant = nil
        } else if actor.role == .merchant, let userId = actor.userId {
            merchant = userId
        } else {
            throw Rejection(.forbidden, "only an admin or a merchant runs promotions")
        }
        return try created(command, actor: actor, merchant: merchant, directory: directory)
    }

    private static func created(
        _ command: CreatePromotion, actor: Actor, merchant: UserId?, directory: PromotionDirectoryState
    ) throws(Rejection) -> Decision {
        try validate(command)
        guard directory.promotions[command.promotionId] == nil else {
            throw Rejection(.promotionExists, "promotion \(command.promotionId) exists")
        }
        guard directory.pending(at: command.at) < pendingMax else {
            throw Rejection(.promotionLimitReached, "at most \(pendingMax) promotions run or wait to start at once: end one first")
        }
        var decision = Decision()
        decision.append(
            .promotions(
                .created(
                    PromotionCreated(
                        promotionId: command.promotionId, name: command.name, rule: command.rule, target: command.target,
                        budget: command.budget, validFrom: command.validFrom, validUntil: command.validUntil, merchantId: merchant,
                        createdBy: actor.description, at: command.at))),
            to: .promotions)
        return decision
    }

    public static func end(
        _ promotionId: PromotionId, reason: String, actor: Actor, directory: PromotionDirectoryState, at: Instant
    ) throws(Rejection) -> Decision {
        try Limits.text(reason, "reason", max: Limits.reasonCharactersMax, allowEmpty: true)
        guard let terms = directory.promotions[promotionId] else { throw Rejection(.promotionNotFound, "no promotion \(promotionId)") }
        guard actor.isAdmin || (terms.merchantId != nil && actor.userId == terms.merchantId) else {
            throw Rejection(.forbidden, "only an admin or the merchant who made it ends a promotion")
        }
        guard at < directory.closes(terms) else { throw Rejection(.promotionEnded, "promotion \(terms.name) has ended") }
        var decision = Decision()
        decision.append(.promotions(.ended(PromotionEnded(promotionId: promotionId, reason: reason, at: at))), to: .promotions)
        return decision
    }

    static func validate(_ command: CreatePromotion) throws(Rejection) {
        try Limits.text(command.name, "name", max: Limits.nameCharactersMax)
        let rule = command.rule
        switch rule.kind {
        case .percentOff:
            guard (1...100).contains(rule.percent) else { throw Rejection(.invalidInput, "percentOff takes 1 to 100", field: "percent") }
        case .amountOff:
            guard rule.amountOff.minorUnits > 0, rule.amountOff.minorUnits <= Limits.priceMax else {
                throw Rejection(.invalidInput, "amountOff takes a positive amount", field: "amountOff")
            }
        case .spendAndSave:
            guard (1...tiersMax).contains(rule.tiers.count) else {
                throw Rejection(.invalidInput, "spendAndSave takes 1 to \(tiersMax) tiers", field: "tiers")
            }
            var previous: Int64 = 0
            for tier in rule.tiers {
                guard tier.threshold.minorUnits > previous, tier.threshold.minorUnits <= Limits.moneyMax else {
                    throw Rejection(.invalidInput, "tier thresholds are positive and rise", field: "tiers")
                }
                previous = tier.threshold.minorUnits
                let fixed = tier.amountOff.minorUnits > 0 && tier.amountOff.minorUnits <= Limits.priceMax && tier.percent == 0
                let percent = tier.amountOff == .zero && (1...100).contains(tier.percent) && !tier.repeating
                guard fixed || percent else {
                    throw Rejection(
                        .invalidInput, "a tier takes an amountOff (repeating or not) or a percent (1 to 100), not both", field: "tiers")
                }
            }
        case .buyXGetY:
            guard (1...buyGetMax).contains(rule.buy), (1...buyGetMax).contains(rule.get) else {
                throw Rejection(.invalidInput, "buy and get take 1 to \(buyGetMax)", field: "buy")
            }
        }
        let target = command.target
        guard target.goodsIds.count + target.categories.count + target.brands.count <= targetsMax else {
            throw Rejection(.invalidInput, "a promotion names at most \(targetsMax) goods, categories and brands", field: "target")
        }
        for word in target.categories + target.brands {
            try Limits.text(word, "target", max: Limits.nameCharactersMax)
        }
        if let discountMax = command.budget.discountMax {
            guard discountMax.minorUnits > 0, discountMax.minorUnits <= Limits.moneyMax else {
                throw Rejection(.invalidInput, "a budget's discountMax is positive", field: "discountMax")
            }
        }
        if let uses = command.budget.usesMax {
            guard (1...usesMax).contains(uses) else { throw Rejection(.invalidInput, "usesMax takes 1 to \(usesMax)", field: "usesMax") }
        }
        guard command.validFrom < command.validUntil else {
            throw Rejection(.invalidInput, "validFrom must be before validUntil", field: "validUntil")
        }
        guard command.at < command.validUntil else { throw Rejection(.invalidInput, "validUntil has passed", field: "validUntil") }
    }

    /// Of the promotions live at `at`, those the lines' goods may get, each with its budget's use (`usage` is asked only
    /// for those with a budget: checkout, the cart view and replay each load it their own way).
    public static func live(
        _ directory: PromotionDirectoryState, lines: [CartLine], goods: [GoodsId: GoodsState], at: Instant,
        usage: (PromotionId) throws -> PromotionState
    ) rethrows -> [LivePromotion] {
        try directory.live(at: at).filter { terms in
            lines.contains { terms.covers($0.goodsId, of: goods[$0.goodsId]?.merchantId, goods[$0.goodsId]) }
        }.map { terms in
            LivePromotion(terms: terms, usage: terms.budget.isLimited ? try usage(terms.promotionId) : PromotionState())
        }
    }

    /// The budgets an order's promotions spent: one `PromotionApplied` per budgeted promotion.
    static func spend(_ discounts: [PromotionDiscount], orderId: OrderId, at: Instant, into decision: inout Decision) {
        for discount in discounts where discount.budgeted {
            decision.append(
                .promotion(.applied(PromotionApplied(orderId: orderId, amount: discount.amount, at: at))),
                to: .promotion(discount.promotionId))
        }
    }

    /// Gives back what a cancelled or expired order spent of budgets it still holds.
    static func release(
        _ discounts: [PromotionDiscount], orderId: OrderId, usage: [PromotionId: PromotionState], at: Instant,
        into decision: inout Decision
    ) {
        for discount in discounts where discount.budgeted {
            guard let amount = usage[discount.promotionId]?.open[orderId] else { continue }
            decision.append(
                .promotion(.released(PromotionReleased(orderId: orderId, amount: amount, at: at))), to: .promotion(discount.promotionId))
        }
    }
}

extension Promotions: Decider {
    public static func reads(_ command: Command, actor: Actor, loaded: Loaded) -> [StreamId] { [.promotions] }

    public static func decide(
        _ command: Command, actor: Actor, loaded: Loaded, at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        let directory: PromotionDirectoryState = loaded[.promotions]
        switch command {
        case .create(let create): return try Promotions.create(create, actor: actor, directory: directory)
        case let .end(promotionId, reason): return try end(promotionId, reason: reason, actor: actor, directory: directory, at: at)
        }
    }
}
