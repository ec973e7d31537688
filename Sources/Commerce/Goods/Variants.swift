/// Variants (SKUs), after Saleor's product variants and Taobao's SKUs: a goods
/// has option names (颜色, 尺码) and one or more variants, each with its values
/// of those options, its own price, stock, low-stock threshold and weight.
///
/// Every goods has a default variant, whose id is the goods id's own bytes:
/// a goods listed before variants existed (or listed plainly now) is a goods
/// with just that one, so its old events read unchanged and its stock events
/// name no variant. Defining options gives the default variant its values;
/// further variants are added beside it.
public struct VariantState: Hashable, Codable, Sendable {
    public var variantId: VariantId
    /// "" when the merchant gave none (a plain goods' default variant).
    public var sku: String
    /// One value per option of the goods, in order.
    public var values: [String]
    public var price: Money
    public var onHand = 0
    public var reserved = 0
    public var lowStockThreshold: Int
    public var weightGrams: Int?
    public var isListed = true
    public var sold = 0
    /// The variant's pre-order campaign, the latest one (`PreOrders.swift`).
    public var preOrder: PreOrderTerms?
    /// Orders waiting for incoming stock, first come first.
    public var preOrders: [PreOrderHold] = []

    public init(
        variantId: VariantId, sku: String, values: [String], price: Money, onHand: Int, lowStockThreshold: Int, weightGrams: Int? = nil
    ) {
        self.variantId = variantId
        self.sku = sku
        self.values = values
        self.price = price
        self.onHand = onHand
        self.lowStockThreshold = lowStockThreshold
        self.weightGrams = weightGrams
    }

    /// What a new order can take now: units on hand, less those reserved and those queued pre-orders wait for.
    public var available: Int { preOrders.isEmpty ? onHand - reserved : max(onHand - reserved - awaitingUnits, 0) }
}

extension GoodsState {
    /// The variant a command names (nil: the default one, which only a goods with one variant may leave unnamed).
    public func chosenVariant(_ id: VariantId?) throws(Rejection) -> VariantState {
        if id == nil, variants.count > 1 {
            throw Rejection(.variantRequired, "\(title) has \(variants.count) variants: name one", field: "variantId")
        }
        guard let variant = variant(id) else { throw Rejection(.variantNotFound, "no such variant of \(title)", field: "variantId") }
        return variant
    }
}

extension GoodsId {
    /// The id of the goods' default variant: the goods id's bytes.
    public var defaultVariant: VariantId { VariantId(uuid) }
}

extension VariantId {
    /// How an event names this variant of `goods`: nil for the default variant, so those events keep their version 2 form.
    public func named(in goods: GoodsId) -> VariantId? { self == goods.defaultVariant ? nil : self }
}

/// A typed specification attribute of a goods (材质 material, 产地 origin, 容量 capacity), shown on its page and
/// filterable in search.
public struct GoodsAttribute: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case text, number, choice
    }

    public var name: String
    public var kind: Kind
    /// text: the text; number: a decimal number ("1.5"); choice: the chosen value, one of `choices`.
    public var value: String
    /// number: its unit ("ml", "g", "cm"); otherwise "".
    public var unit: String
    /// choice: the values it may take; otherwise empty.
    public var choices: [String]

    public init(name: String, kind: Kind, value: String, unit: String = "", choices: [String] = []) {
        self.name = name
        self.kind = kind
        self.value = value
        self.unit = unit
        self.choices = choices
    }

    public static func text(_ name: String, _ value: String) -> GoodsAttribute { GoodsAttribute(name: name, kind: .text, value: value) }
    public static func number(_ name: String, _ value: String, unit: String) -> GoodsAttribute {
        GoodsAttribute(name: name, kind: .number, value: value, unit: unit)
    }
    public static func choice(_ name: String, _ value: String, of choices: [String]) -> GoodsAttribute {
        GoodsAttribute(name: name, kind: .choice, value: value, choices: choices)
    }

    /// The number of a number attribute (search filters compare it).
    public var number: Double? { kind == .number ? Double(value) : nil }

    func validate() throws(Rejection) {
        try Limits.text(name, "attributes.name", max: Limits.nameCharactersMax)
        try Limits.text(value, "attributes.value", max: Limits.attributeValueCharactersMax)
        try Limits.text(unit, "attributes.unit", max: Limits.tagCharactersMax, allowEmpty: true)
        switch kind {
        case .text:
            guard unit.isEmpty, choices.isEmpty else {
                throw Rejection(.invalidInput, "a text attribute has no unit or choices", field: "attributes")
            }
        case .number:
            guard let number = Double(value), number.isFinite, choices.isEmpty else {
                throw Rejection(.invalidInput, "\(name): a number attribute's value is a decimal number", field: "attributes.value")
            }
        case .choice:
            guard unit.isEmpty, (1...Limits.attributeChoicesMax).contains(choices.count), choices.contains(value) else {
                throw Rejection(
                    .invalidInput, "\(name): a choice attribute's value is one of its 1 to \(Limits.attributeChoicesMax) choices",
                    field: "attributes.value")
            }
            for choice in choices { try Limits.text(choice, "attributes.choices", max: Limits.attributeValueCharactersMax) }
        }
    }

    static func validate(_ attributes: [GoodsAttribute]) throws(Rejection) {
        guard attributes.count <= Limits.attributesPerGoodsMax else {
            throw Rejection(.invalidInput, "at most \(Limits.attributesPerGoodsMax) attributes", field: "attributes")
        }
        var names = Set<String>()
        for attribute in attributes {
            try attribute.validate()
            guard names.insert(attribute.name).inserted else {
                throw Rejection(.invalidInput, "attribute \(attribute.name) is given twice", field: "attributes")
            }
        }
    }
}

/// A variant as a merchant describes it, before it has an id.
public struct VariantTerms: Hashable, Sendable {
    public var sku: String
    public var values: [String]
    public var price: Money
    public var stock: Int
    public var lowStockThreshold: Int
    public var weightGrams: Int?

    public init(sku: String, values: [String], price: Money, stock: Int, lowStockThreshold: Int = 5, weightGrams: Int? = nil) {
        self.sku = sku
        self.values = values
        self.price = price
        self.stock = stock
        self.lowStockThreshold = lowStockThreshold
        self.weightGrams = weightGrams
    }

    func validate(options: [String]) throws(Rejection) {
        try Variants.validateSku(sku, required: false)  // optional, as in Saleor; unique per merchant when given
        guard values.count == options.count else {
            throw Rejection(.invalidInput, "a variant has one value for each of the \(options.count) options", field: "values")
        }
        for value in values { try Limits.text(value, "values", max: Limits.tagCharactersMax) }
        try Limits.price(price)
        guard (0...Limits.stockMax).contains(stock) else {
            throw Rejection(.stockOutOfRange, "stock must be between 0 and \(Limits.stockMax)", field: "stock")
        }
        try Variants.validate(threshold: lowStockThreshold, weightGrams: weightGrams)
    }
}

/// A SKU's claim among one merchant's goods (`sku-<merchant>:<CODE>`).
public struct SkuClaimState: Hashable, Codable, Sendable {
    public var goodsId: GoodsId?
    public var variantId: VariantId?

    public init() {}

    public func evolve(_ event: SkuClaimEvent) -> SkuClaimState {
        var next = self
        switch event {
        case .claimed(let claimed):
            next.goodsId = claimed.goodsId
            next.variantId = claimed.variantId
        }
        return next
    }
}

public enum Variants {
    /// SKU codes: letters, digits, `-`, `_` and `.`, compared without case (stored upper-case).
    public static func normalizedSku(_ sku: String) -> String { sku.uppercased() }

    /// The claim stream's key for `sku` among `merchant`'s goods.
    public static func claimKey(merchant: UserId, sku: String) -> String { "\(merchant):\(normalizedSku(sku))" }

    static func validateSku(_ sku: String, required: Bool = true) throws(Rejection) {
        if sku.isEmpty && !required { return }
        guard (1...Limits.skuCharactersMax).contains(sku.utf8.count),
            sku.utf8.allSatisfy({ byte in
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: ".")
            })
        else {
            throw Rejection(
                .invalidInput, "a SKU is 1 to \(Limits.skuCharactersMax) letters, digits, '-', '_' or '.'", field: "sku")
        }
    }

    static func validate(threshold: Int, weightGrams: Int?) throws(Rejection) {
        guard (0...Limits.stockMax).contains(threshold) else {
            throw Rejection(.invalidInput, "lowStockThreshold must be between 0 and \(Limits.stockMax)", field: "lowStockThreshold")
        }
        if let weightGrams, !(0...Limits.weightGramsMax).contains(weightGrams) {
            throw Rejection(.invalidInput, "weightGrams must be between 0 and \(Limits.weightGramsMax)", field: "weightGrams")
        }
    }

    static func validate(options: [String]) throws(Rejection) {
        guard (1...Limits.optionsPerGoodsMax).contains(options.count) else {
            throw Rejection(.invalidInput, "a goods has 1 to \(Limits.optionsPerGoodsMax) options", field: "options")
        }
        for option in options { try Limits.text(option, "options", max: Limits.tagCharactersMax) }
        guard Set(options).count == options.count else { throw Rejection(.invalidInput, "an option is named twice", field: "options") }
    }
}
