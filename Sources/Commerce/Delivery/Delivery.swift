/// Delivery methods (配送方式), after Medusa's shipping options: a merchant
/// defines how its goods travel (a name, a fee rule, the areas served), the
/// customer chooses one at checkout, and the fee is snapshotted in
/// `OrderPlaced`, counted in its total (so in payment, refunds and analytics).
///
/// A fee rule: a flat fee, plus a fee per started kilogram of the order's
/// weight (variants' weights × quantities), free when the subtotal after
/// discounts reaches `freeAbove`; an area may charge its own flat fee. A
/// method serves the areas it names (a province prefix of the address's
/// region, 浙江 for 浙江省, or a country code), or everywhere when it names none.
public struct DeliveryRule: Codable, Hashable, Sendable {
    public var flatFee: Money
    public var perKilogram: Money
    /// The subtotal (after discounts) from which delivery is free; nil: never.
    public var freeAbove: Money?
    /// The areas served; empty: everywhere.
    public var areas: [DeliveryArea]

    public init(flatFee: Money, perKilogram: Money = .zero, freeAbove: Money? = nil, areas: [DeliveryArea] = []) {
        self.flatFee = flatFee
        self.perKilogram = perKilogram
        self.freeAbove = freeAbove
        self.areas = areas
    }

    /// The area of `address` this rule serves; nil when it serves no such address. A rule naming no area serves all.
    public func area(serving address: Address) -> DeliveryArea? {
        if areas.isEmpty { return DeliveryArea(area: "", fee: nil) }
        return areas.first { $0.serves(address) }
    }

    /// The fee for an order of `grams` and `subtotal` delivered to `address`, or nil when this rule does not serve it.
    public func fee(grams: Int, subtotal: Money, to address: Address) throws(Rejection) -> Money? {
        guard let area = area(serving: address) else { return nil }
        if let freeAbove, subtotal >= freeAbove { return .zero }
        let kilograms = (grams + 999) / 1_000
        return try (area.fee ?? flatFee) + perKilogram.times(kilograms)
    }

    func validate() throws(Rejection) {
        try Limits.price(flatFee)
        try Limits.price(perKilogram)
        if let freeAbove { try Limits.price(freeAbove) }
        guard areas.count <= Limits.deliveryAreasMax else {
            throw Rejection(.invalidInput, "at most \(Limits.deliveryAreasMax) areas", field: "areas")
        }
        for area in areas {
            try Limits.text(area.area, "areas.area", max: Limits.nameCharactersMax)
            if let fee = area.fee { try Limits.price(fee) }
        }
        guard Set(areas.map(\.area)).count == areas.count else { throw Rejection(.invalidInput, "an area is named twice", field: "areas") }
    }
}

/// An area a delivery method serves, with its own flat fee when it has one.
public struct DeliveryArea: Codable, Hashable, Sendable {
    /// A province (the address's region starts with it: 浙江 serves 浙江省) or a country code (CN).
    public var area: String
    public var fee: Money?

    public init(area: String, fee: Money? = nil) {
        self.area = area
        self.fee = fee
    }

    func serves(_ address: Address) -> Bool {
        let wanted = area.lowercased()
        return address.country.lowercased() == wanted || (!address.region.isEmpty && address.region.lowercased().hasPrefix(wanted))
    }
}

/// The delivery an order was placed with, as it was then.
public struct DeliveryChoice: Codable, Hashable, Sendable {
    public var methodId: DeliveryMethodId
    public var name: String
    public var fee: Money

    public init(methodId: DeliveryMethodId, name: String, fee: Money) {
        self.methodId = methodId
        self.name = name
        self.fee = fee
    }
}

public struct DeliveryMethod: Codable, Hashable, Sendable {
    public var methodId: DeliveryMethodId
    public var name: String
    public var rule: DeliveryRule
    public var isRetired = false
}

/// One merchant's delivery methods (`delivery-<merchant>`).
public struct DeliveryState: Hashable, Codable, Sendable {
    public var methods: [DeliveryMethod] = []

    public init() {}

    public func method(_ id: DeliveryMethodId) -> DeliveryMethod? { methods.first { $0.methodId == id } }
    public var offered: [DeliveryMethod] { methods.filter { !$0.isRetired } }

    public func evolve(_ event: DeliveryEvent) -> DeliveryState {
        var next = self
        switch event {
        case .defined(let defined):
            let method = DeliveryMethod(methodId: defined.methodId, name: defined.name, rule: defined.rule)
            if let index = next.methods.firstIndex(where: { $0.methodId == defined.methodId }) {
                next.methods[index] = method
            } else {
                next.methods.append(method)
            }
        case .retired(let retired):
            if let index = next.methods.firstIndex(where: { $0.methodId == retired.methodId }) { next.methods[index].isRetired = true }
        }
        return next
    }
}

public enum DeliveryCommand: Hashable, Sendable {
    /// Defines a new method, or redefines one (a changed fee applies to orders placed from then on).
    case define(DeliveryMethodId, name: String, rule: DeliveryRule)
    case retire(DeliveryMethodId)
}

public enum DeliveryMethods {
    /// A merchant's commands on its own methods; an admin's on any merchant's.
    public static func decide(
        _ command: DeliveryCommand, actor: Actor, merchant: UserId, state: DeliveryState, at: Instant
    ) throws(Rejection) -> Decision {
        if !actor.isAdmin {
            guard (actor.role ?? .customer) >= .merchant else { throw Rejection(.forbidden, "merchants manage delivery methods") }
            guard actor.userId == merchant else { throw Rejection(.notOwner, "these delivery methods are another merchant's") }
        }
        let event: DeliveryEvent
        switch command {
        case let .define(id, name, rule):
            try Limits.text(name, "name", max: Limits.nameCharactersMax)
            try rule.validate()
            if let existing = state.method(id) {
                guard !existing.isRetired else { throw Rejection(.deliveryMethodNotFound, "the method is retired") }
                guard existing.name != name || existing.rule != rule else { throw Rejection(.nothingChanged, "the method is already so") }
            } else {
                guard state.offered.count < Limits.deliveryMethodsPerMerchantMax else {
                    throw Rejection(.invalidInput, "at most \(Limits.deliveryMethodsPerMerchantMax) delivery methods")
                }
            }
            event = .defined(DeliveryMethodDefined(methodId: id, name: name, rule: rule, at: at))
        case .retire(let id):
            guard let method = state.method(id), !method.isRetired else {
                throw Rejection(.deliveryMethodNotFound, "no delivery method \(id)", field: "methodId")
            }
            event = .retired(DeliveryMethodRetired(methodId: id, at: at))
        }
        var decision = Decision()
        decision.append(.delivery(event), to: .delivery(merchant))
        return decision
    }

    /// The delivery of an order: the method chosen, its fee for these lines to this address.
    static func choice(
        _ methodId: DeliveryMethodId, lines: [OrderLine], goods: [GoodsId: GoodsState], subtotal: Money, address: Address,
        state: DeliveryState
    ) throws(Rejection) -> DeliveryChoice {
        guard let method = state.method(methodId), !method.isRetired else {
            throw Rejection(.deliveryMethodNotFound, "no delivery method \(methodId) for these goods", field: "deliveryMethodId")
        }
        var grams = 0
        for line in lines {
            let weight = goods[line.goodsId]?.variant(line.variantId)?.weightGrams ?? 0
            grams += weight * line.quantity
        }
        guard let fee = try method.rule.fee(grams: grams, subtotal: subtotal, to: address) else {
            throw Rejection(
                .deliveryMethodDoesNotServeAddress, "\(method.name) does not deliver to \(address.region) \(address.country)",
                field: "deliveryMethodId")
        }
        return DeliveryChoice(methodId: methodId, name: method.name, fee: fee)
    }
}

extension DeliveryMethods: Decider {
    public enum Command: Hashable, Sendable {
        /// `merchant` nil: the caller's own methods.
        case onMethods(merchant: UserId?, DeliveryCommand)
    }

    public static func reads(_ command: Command, actor: Actor, loaded: Loaded) -> [StreamId] {
        switch command {
        case let .onMethods(merchant, _): return (merchant ?? actor.userId).map { [.delivery($0)] } ?? []
        }
    }

    public static func decide(
        _ command: Command, actor: Actor, loaded: Loaded, at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        switch command {
        case let .onMethods(merchant, delivery):
            guard let merchant = merchant ?? actor.userId else { throw Rejection(.forbidden, "delivery methods belong to merchants") }
            return try decide(delivery, actor: actor, merchant: merchant, state: loaded[.delivery(merchant)], at: at)
        }
    }
}

// MARK: Events

public struct DeliveryMethodDefined: EventPayload {
    public static let eventType = "DeliveryMethodDefined"
    public var methodId: DeliveryMethodId
    public var name: String
    public var rule: DeliveryRule
    public var at: Instant

    public init(methodId: DeliveryMethodId, name: String, rule: DeliveryRule, at: Instant) {
        self.methodId = methodId
        self.name = name
        self.rule = rule
        self.at = at
    }
}

public struct DeliveryMethodRetired: EventPayload {
    public static let eventType = "DeliveryMethodRetired"; public var methodId: DeliveryMethodId; public var at: Instant
    public init(methodId: DeliveryMethodId, at: Instant) { self.methodId = methodId; self.at = at }
}

public enum DeliveryEvent: Hashable, Sendable {
    case defined(DeliveryMethodDefined)
    case retired(DeliveryMethodRetired)
}
