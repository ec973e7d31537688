import Foundation

/// Every bound the domain enforces, by name.
public enum Limits {
    public static let moneyMax: Int64 = 1_000_000_000_000  // 10 billion in major units
    public static let priceMax: Int64 = 100_000_000_00  // one item: 100 million in major units
    public static let quantityPerLineMax = 999
    public static let cartLinesMax = 100
    public static let stockMax = 100_000_000
    /// How long a coupon bought with points may stay valid.
    public static let exchangedCouponDaysMax = 3_650
    public static let emailCharactersMax = 254
    public static let passwordCharactersMin = 8
    public static let passwordCharactersMax = 128
    public static let nameCharactersMax = 100
    public static let phoneCharactersMax = 32
    public static let addressLineCharactersMax = 200
    public static let postalCodeCharactersMax = 16
    public static let addressesPerUserMax = 20
    public static let favoritesPerUserMax = 500
    /// Customers waiting for one goods' variants to be back in stock.
    public static let waitlistPerGoodsMax = 10_000
    /// Dead letters a webhook keeps for an admin's replay (the oldest go first).
    public static let deadLettersKept = 1_000
    public static let footprintsKept = 100
    public static let titleCharactersMax = 200
    public static let descriptionCharactersMax = 5_000
    public static let tagsPerGoodsMax = 20
    public static let tagCharactersMax = 40
    public static let skuCharactersMax = 64
    public static let optionsPerGoodsMax = 3
    public static let variantsPerGoodsMax = 100
    public static let weightGramsMax = 1_000_000
    public static let attributesPerGoodsMax = 30
    public static let attributeValueCharactersMax = 100
    public static let attributeChoicesMax = 50
    public static let deliveryMethodsPerMerchantMax = 20
    public static let deliveryAreasMax = 50
    public static let reviewCharactersMax = 2_000
    public static let couponCodeCharactersMax = 32
    public static let carrierCharactersMax = 60
    public static let trackingNumberCharactersMax = 60
    public static let reasonCharactersMax = 500
    public static let pointsMax = 1_000_000_000
    public static let shopNameCharactersMax = 100
    public static let merchantApplicationCharactersMax = 2_000
    public static let apiKeyNameCharactersMax = 100
    /// An API key expires at most this long after it is issued (or never, when no expiry is given).
    public static let apiKeyLifetimeDaysMax = 3_650

    /// A text limit counts characters (what a person sees), and also bounds
    /// what a character may carry: "a" followed by ten thousand combining
    /// accents is one character. A text of up to `max` characters may hold at
    /// most `max × textScalarsPerCharacterMax` Unicode scalars and
    /// `max × textUTF8BytesPerCharacterMax` bytes of UTF-8 (Chinese is one
    /// scalar and three bytes a character; most emoji one or two scalars).
    public static let textScalarsPerCharacterMax = 3
    public static let textUTF8BytesPerCharacterMax = 8

    /// Whether `value` keeps a limit of `max` characters, counted all three ways (for callers with errors of their own).
    public static func fits(_ value: String, characters max: Int) -> Bool {
        value.utf8.count <= max * textUTF8BytesPerCharacterMax && value.unicodeScalars.count <= max * textScalarsPerCharacterMax
            && value.count <= max
    }

    /// Checks a named text limit: bytes and scalars first (cheap, and they
    /// bound the work of counting characters), then characters, then content.
    public static func text(_ value: String, _ field: String, max: Int, allowEmpty: Bool = false) throws(Rejection) {
        let bytes = value.utf8.count
        guard bytes <= max * textUTF8BytesPerCharacterMax else {
            throw Rejection(
                .invalidInput, "\(field) is \(bytes) bytes of UTF-8; the limit is \(max * textUTF8BytesPerCharacterMax)", field: field)
        }
        let scalars = value.unicodeScalars.count
        guard scalars <= max * textScalarsPerCharacterMax else {
            throw Rejection(
                .invalidInput, "\(field) is \(scalars) Unicode scalars; the limit is \(max * textScalarsPerCharacterMax)", field: field)
        }
        let count = value.count
        if !allowEmpty, value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw Rejection(.invalidInput, "\(field) must not be empty", field: field)
        }
        guard count <= max else { throw Rejection(.invalidInput, "\(field) is \(count) characters; the limit is \(max)", field: field) }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" }) else {
            throw Rejection(.invalidInput, "\(field) contains control characters", field: field)
        }
    }

    static func quantity(_ value: Int, _ field: String = "quantity") throws(Rejection) {
        guard (1...quantityPerLineMax).contains(value) else {
            throw Rejection(.quantityOutOfRange, "\(field) must be between 1 and \(quantityPerLineMax), got \(value)", field: field)
        }
    }

    static func price(_ value: Money, _ field: String = "price") throws(Rejection) {
        guard value.minorUnits >= 0, value.minorUnits <= priceMax else {
            throw Rejection(.invalidInput, "\(field) must be between 0 and \(priceMax) minor units", field: field)
        }
    }
}
