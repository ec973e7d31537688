import CommandEngine
import Commerce

/// Each command's `data` as the contract states it: the fields, their types and which are required, read from the
/// decoding code itself (`SchemaProbe` runs `CommandEnvelope.command(_:from:)`), then the bounds the domain enforces
/// (`Commerce.Limits`), so a client generated from the document sends what the engine takes.
public enum CommandContract {
    public static func dataSchema(_ kind: CommandKind) -> Schema {
        let probed = SchemaProbe.schema { decoder in _ = try CommandEnvelope.command(kind, from: decoder) }
        return refined(probed, kind: kind)
    }

    /// A request body: `{"type", "data", "expectedVersion"}`, one variant per command (`<kind>Command` in `variants`),
    /// `type` the discriminator.
    public static var commandSchema: Schema {
        var schema = Schema()
        schema.oneOf = CommandKind.allCases.map { .ref(variantName($0)) }
        schema.discriminator = .init(
            property: "type", mapping: Dictionary(uniqueKeysWithValues: CommandKind.allCases.map { ($0.rawValue, variantName($0)) }))
        return schema
    }

    /// Each command's request body, by its component name.
    public static var variants: [String: Schema] {
        Dictionary(
            uniqueKeysWithValues: CommandKind.allCases.map { kind in
                var type = Schema.string()
                type.constant = kind.rawValue
                let body = Schema.object(
                    [
                        "type": type, "data": dataSchema(kind),
                        "expectedVersion": .integer(
                            0, summary: "the version the caller saw of the stream the command changes first; a stale one is 409"
                        ).orNull,
                    ], required: ["type"], closed: true, summary: kind.rawValue + " (a missing `data` reads as an empty object)")
                return (variantName(kind), body)
            })
    }

    public static func variantName(_ kind: CommandKind) -> String { kind.rawValue + "Command" }

    /// Text bounds by field name (characters; the domain also bounds bytes and scalars, see README), where one name has
    /// one bound across commands; `textBounds(kind:)` names the exceptions.
    static let textBounds: [String: Int] = [
        "email": Limits.emailCharactersMax, "password": Limits.passwordCharactersMax,
        "oldPassword": Limits.passwordCharactersMax, "newPassword": Limits.passwordCharactersMax, "name": Limits.nameCharactersMax,
        "phone": Limits.phoneCharactersMax, "recipient": Limits.nameCharactersMax, "line1": Limits.addressLineCharactersMax,
        "line2": Limits.addressLineCharactersMax, "city": Limits.nameCharactersMax, "region": Limits.nameCharactersMax,
        "postalCode": Limits.postalCodeCharactersMax, "country": Limits.nameCharactersMax, "title": Limits.titleCharactersMax,
        "description": Limits.descriptionCharactersMax, "category": Limits.nameCharactersMax, "brand": Limits.nameCharactersMax,
        "text": Limits.reviewCharactersMax, "code": Limits.couponCodeCharactersMax, "carrier": Limits.carrierCharactersMax,
        "trackingNumber": Limits.trackingNumberCharactersMax, "reason": Limits.reasonCharactersMax,
        "shopName": Limits.shopNameCharactersMax, "tag": Limits.tagCharactersMax, "sku": Limits.skuCharactersMax,
        "unit": Limits.tagCharactersMax, "value": Limits.attributeValueCharactersMax, "option": Limits.tagCharactersMax,
        "choice": Limits.attributeValueCharactersMax, "area": Limits.nameCharactersMax,
    ]

    static func textBound(_ field: String, kind: CommandKind) -> Int? {
        switch (kind, field) {
        case (.applyForMerchant, "description"): Limits.merchantApplicationCharactersMax
        case (.issueApiKey, "name"): Limits.apiKeyNameCharactersMax
        default: textBounds[field]
        }
    }

    /// Integer bounds by field name.
    static func integerBounds(_ field: String, kind: CommandKind) -> (Int64, Int64)? {
        switch field {
        case "quantity": (1, Int64(Limits.quantityPerLineMax))
        case "price", "flatFee", "perKilogram", "freeAbove", "fee": (0, Limits.priceMax)
        case "stock": (0, Int64(Limits.stockMax))
        case "lowStockThreshold": (0, Int64(Limits.stockMax))
        case "rating": (1, 5)
        case "points", "pointsToUse": (kind == .placeOrder ? 0 : 1, Int64(Limits.pointsMax))
        case "amount", "value", "minimumSpend": (0, Limits.moneyMax)
        case "delta": (-Int64(Limits.stockMax), Int64(Limits.stockMax))
        case "weightGrams": (0, Int64(Limits.weightGramsMax))
        case "validDays": (1, Int64(Limits.exchangedCouponDaysMax))
        case "percent": (1, 100)
        case "amountOff", "threshold", "discountMax": (1, Limits.moneyMax)
        case "buy", "get": (1, 99)
        case "usesMax": (1, 10_000_000)
        case "expiresAt", "validFrom", "validUntil": (0, Int64.max)
        default: nil
        }
    }

    static let summaries: [String: String] = [
        "price": "minor units (fen, cents) of the shop's currency", "flatFee": "minor units of the shop's currency",
        "perKilogram": "minor units per started kilogram of the order's weight",
        "freeAbove": "minor units: delivery is free when the subtotal after discounts reaches it",
        "area": "a province the address's region starts with (浙江), or a country code (CN)", "amount": "minor units of the shop's currency",
        "minimumSpend": "minor units of the shop's currency",
        "value": "a fixed discount in minor units, or a percentage (1–100) for a percent coupon",
        "expiresAt": "milliseconds since the Unix epoch (UTC)", "validFrom": "milliseconds since the Unix epoch (UTC)",
        "validUntil": "milliseconds since the Unix epoch (UTC)", "amountOff": "minor units of the shop's currency",
        "threshold": "minor units: the covered lines' subtotal from which the tier applies",
        "discountMax": "minor units: the most the campaign may take off in all",
    ]

    static func refined(_ schema: Schema, kind: CommandKind, field: String? = nil) -> Schema {
        var schema = schema
        if let field {
            if schema.kind == .string, schema.format == nil, schema.enumeration == nil, let bound = textBound(field, kind: kind) {
                schema.maxLength = bound
            }
            if schema.kind == .integer, let (low, high) = integerBounds(field, kind: kind) {
                schema.minimum = low
                schema.maximum = high
            }
            if schema.summary == nil { schema.summary = summaries[field] }
        }
        switch field {
        case "tags": schema.maxItems = Limits.tagsPerGoodsMax
        case "items": schema.maxItems = Limits.cartLinesMax
        case "options", "values": schema.maxItems = Limits.optionsPerGoodsMax
        case "variants": schema.maxItems = Limits.variantsPerGoodsMax
        case "attributes": schema.maxItems = Limits.attributesPerGoodsMax
        case "choices": schema.maxItems = Limits.attributeChoicesMax
        case "areas": schema.maxItems = Limits.deliveryAreasMax
        default: break
        }
        // A list's elements: a tag, an option (or its value), a choice is bounded as one; an object's fields by their own names.
        let element: [String: String] = ["tags": "tag", "options": "option", "values": "option", "choices": "choice"]
        if let items = schema.items { schema.items = Schema.Box(refined(items.schema, kind: kind, field: field.flatMap { element[$0] })) }
        for (name, property) in schema.properties { schema.properties[name] = refined(property, kind: kind, field: name) }
        return schema
    }
}
