import Foundation

/// A moment, in milliseconds since the Unix epoch (UTC). Commands carry it in;
/// the domain never reads a clock.
public struct Instant: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = millisecondsSinceEpoch }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch }

    public func adding(seconds: Int64) -> Instant { Instant(millisecondsSinceEpoch: millisecondsSinceEpoch + seconds * 1_000) }

    /// `YYYYMMDD` in UTC, used in order numbers.
    public var dayStamp: String { day(separator: nil) }

    /// `YYYY-MM-DD` in UTC.
    public var isoDay: String { day(separator: UInt8(ascii: "-")) }

    /// The UTC calendar date (proleptic Gregorian), by Howard Hinnant's `civil_from_days`:
    /// integer arithmetic only, because projections ask for it on every event.
    public var utcDate: (year: Int, month: Int, day: Int) {
        let days = Int(millisecondsSinceEpoch.dividedRoundingDown(by: 86_400_000)) + 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private func day(separator: UInt8?) -> String {
        let (year, month, day) = utcDate
        var bytes: [UInt8] = []
        bytes.reserveCapacity(10)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = max(0, value)
            for _ in 0..<count {
                bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(year, 4)
        if let separator { bytes.append(separator) }
        digits(month, 2)
        if let separator { bytes.append(separator) }
        digits(day, 2)
        return String(decoding: bytes, as: UTF8.self)
    }

    public var description: String { "\(millisecondsSinceEpoch)ms" }

    public init(from decoder: any Decoder) throws {
        millisecondsSinceEpoch = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(millisecondsSinceEpoch)
    }
}

/// UUIDs as text without Foundation's `sscanf` and `printf` (its parser and
/// `uuidString` on Linux): ids are parsed for every event replayed and
/// request ids formatted for every request.
public enum UUIDText {
    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in either case.
    public static func parse(_ text: String) -> UUID? {
        var text = text
        return text.withUTF8 { parse(utf8: $0) }
    }

    public static func parse(utf8: UnsafeBufferPointer<UInt8>) -> UUID? {
        guard utf8.count == 36 else { return nil }
        do {
            var bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            let ok = withUnsafeMutableBytes(of: &bytes) { out -> Bool in
                var index = 0
                var byte = 0
                while index < 36 {
                    if index == 8 || index == 13 || index == 18 || index == 23 {
                        guard utf8[index] == UInt8(ascii: "-") else { return false }
                        index += 1
                        continue
                    }
                    guard let high = hexValue(utf8[index]), let low = hexValue(utf8[index + 1]) else { return false }
                    out[byte] = high << 4 | low
                    byte += 1
                    index += 2
                }
                return true
            }
            return ok ? UUID(uuid: bytes) : nil
        }
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Lowercase, hyphenated: the form in stream names and payloads (written here, not through `uuidString`, which formats with printf).
    public static func format(_ uuid: UUID) -> String {
        let digits: StaticString = "0123456789abcdef"
        return withUnsafeBytes(of: uuid.uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                var index = 0
                for (offset, byte) in bytes.enumerated() {
                    if offset == 4 || offset == 6 || offset == 8 || offset == 10 {
                        out[index] = UInt8(ascii: "-")
                        index += 1
                    }
                    out[index] = digits.utf8Start[Int(byte >> 4)]
                    out[index + 1] = digits.utf8Start[Int(byte & 0x0F)]
                    index += 2
                }
                return index
            }
        }
    }
}

/// A typed identifier: `UserId`, `GoodsId`, … cannot be mixed up.
/// Ids are made outside the domain (time-ordered UUIDv7 in the engine).
public struct EntityId<Tag>: Hashable, Comparable, Codable, CodingKeyRepresentable, Sendable, CustomStringConvertible {
    public let uuid: UUID

    public init(_ uuid: UUID) { self.uuid = uuid }

    public init?(_ text: String) {
        guard let uuid = UUIDText.parse(text) else { return nil }
        self.uuid = uuid
    }

    /// An id from its 36 UTF-8 bytes, read in place.
    public init?(utf8: UnsafeBufferPointer<UInt8>) {
        guard let uuid = UUIDText.parse(utf8: utf8) else { return nil }
        self.uuid = uuid
    }

    /// Lowercase, hyphenated: the form in stream names and payloads.
    public var description: String { UUIDText.format(uuid) }

    public static func < (lhs: EntityId, rhs: EntityId) -> Bool {
        withUnsafeBytes(of: lhs.uuid.uuid) { left in
            withUnsafeBytes(of: rhs.uuid.uuid) { right in left.lexicographicallyPrecedes(right) }
        }
    }

    public init(from decoder: any Decoder) throws {
        if let compact = decoder as? any CompactDecoding {
            uuid = try compact.decodeUUID()
            return
        }
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let uuid = UUIDText.parse(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a UUID: \(text)"))
        }
        self.uuid = uuid
    }

    public func encode(to encoder: any Encoder) throws {
        if let compact = encoder as? any CompactEncoding {
            compact.encode(uuid: uuid)
            return
        }
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// As a dictionary key, an id is its text, so states encode as JSON objects keyed by id.
    public var codingKey: any CodingKey { IdCodingKey(stringValue: description) }

    public init?<T: CodingKey>(codingKey: T) { self.init(codingKey.stringValue) }
}

struct IdCodingKey: CodingKey {
    let stringValue: String
    init(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
}

/// A set that encodes its elements sorted, so a state's encoding is one
/// byte string however the process seeds its hashing (snapshots and golden
/// replays compare bytes).
public struct SortedSet<Element: Hashable & Comparable & Codable & Sendable>: Hashable, Codable, Sendable, ExpressibleByArrayLiteral {
    public private(set) var elements: Set<Element>

    public init(arrayLiteral elements: Element...) { self.elements = Set(elements) }

    public func contains(_ element: Element) -> Bool { elements.contains(element) }
    public mutating func insert(_ element: Element) { elements.insert(element) }
    public var count: Int { elements.count }

    public init(from decoder: any Decoder) throws {
        elements = Set(try decoder.singleValueContainer().decode([Element].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(elements.sorted())
    }
}

public enum UserTag: Sendable {}
public enum GoodsTag: Sendable {}
public enum OrderTag: Sendable {}
public enum CouponTag: Sendable {}
public enum PaymentTag: Sendable {}
public enum AddressTag: Sendable {}
public enum ReviewTag: Sendable {}
public enum ApiKeyTag: Sendable {}

public typealias UserId = EntityId<UserTag>
public typealias GoodsId = EntityId<GoodsTag>
public typealias OrderId = EntityId<OrderTag>
public typealias CouponId = EntityId<CouponTag>
public typealias PaymentId = EntityId<PaymentTag>
public typealias AddressId = EntityId<AddressTag>
public typealias ReviewId = EntityId<ReviewTag>
public typealias ApiKeyId = EntityId<ApiKeyTag>

/// An amount in integer minor units (fen, cents). One currency per shop, so
/// the currency lives in the shop's policy, not in every amount.
public struct Money: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var minorUnits: Int64

    public init(minorUnits: Int64) { self.minorUnits = minorUnits }

    public static let zero = Money(minorUnits: 0)

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.minorUnits < rhs.minorUnits }

    /// Sum or product beyond `Limits.moneyMax` is a rejection, never a wrap.
    public static func + (lhs: Money, rhs: Money) throws(Rejection) -> Money {
        let (sum, overflow) = lhs.minorUnits.addingReportingOverflow(rhs.minorUnits)
        guard !overflow, sum <= Limits.moneyMax else { throw Rejection(.amountOutOfRange, "amount exceeds \(Limits.moneyMax)") }
        return Money(minorUnits: sum)
    }

    public func times(_ quantity: Int) throws(Rejection) -> Money {
        let (product, overflow) = minorUnits.multipliedReportingOverflow(by: Int64(quantity))
        guard !overflow, product <= Limits.moneyMax else { throw Rejection(.amountOutOfRange, "amount exceeds \(Limits.moneyMax)") }
        return Money(minorUnits: product)
    }

    public var description: String { "\(minorUnits)" }

    public init(from decoder: any Decoder) throws {
        minorUnits = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(minorUnits)
    }
}

public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    case customer, merchant, admin

    private var rank: Int {
        switch self {
        case .customer: return 0
        case .merchant: return 1
        case .admin: return 2
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}

/// Who issues a command.
public enum Actor: Hashable, Codable, Sendable, CustomStringConvertible {
    case user(UserId, Role)
    /// An integration's API key: it acts for its owner with the owner's role,
    /// narrowed to the key's scopes (the engine checks those before deciding).
    case apiKey(ApiKeyCredential)
    /// The engine's own processes (order expiry, seeding, migrations, the
    /// first admin made on the command line); never reachable from a request.
    case system
    case paymentProvider(String)

    /// The user the actor acts for: the user, or the API key's owner.
    public var userId: UserId? {
        switch self {
        case .user(let id, _): return id
        case .apiKey(let key): return key.owner
        case .system, .paymentProvider: return nil
        }
    }

    /// The role the actor acts with; nil for the system and providers.
    public var role: Role? {
        switch self {
        case .user(_, let role): return role
        case .apiKey(let key): return key.role
        case .system, .paymentProvider: return nil
        }
    }

    public var isAdmin: Bool {
        switch self {
        case .user, .apiKey: return role == .admin
        case .system: return true
        case .paymentProvider: return false
        }
    }

    /// The form stored in the log's `actor` field.
    public var description: String {
        switch self {
        case let .user(id, role): return "user:\(id):\(role.rawValue)"
        case .apiKey(let key): return "apikey:\(key.keyId)"
        case .system: return "system"
        case .paymentProvider(let name): return "provider:\(name)"
        }
    }
}

/// A delivery address. Personal data: every field is sealed in stored
/// payloads. In the binary form (v2) the whole address is one sealed value
/// (one AES-GCM open per address when replaying, not eight); in JSON each
/// field is sealed on its own, as `Personal` fields are.
public struct Address: Hashable, Codable, Sendable {
    public var recipient: String
    public var phone: String
    public var line1: String
    public var line2: String
    public var city: String
    public var region: String
    public var postalCode: String
    public var country: String

    public init(recipient: String, phone: String, line1: String, line2: String = "", city: String,
                region: String = "", postalCode: String, country: String) {
        self.recipient = recipient
        self.phone = phone
        self.line1 = line1
        self.line2 = line2
        self.city = city
        self.region = region
        self.postalCode = postalCode
        self.country = country
    }

    private enum CodingKeys: String, CodingKey { case recipient, phone, line1, line2, city, region, postalCode, country }

    /// The eight fields in declaration order (the order every encoding keeps).
    public var fields: [String] { [recipient, phone, line1, line2, city, region, postalCode, country] }

    /// An address from its eight fields in declaration order.
    public init(fields: [String]) {
        precondition(fields.count == 8, "an address has eight fields")
        self.init(recipient: fields[0], phone: fields[1], line1: fields[2], line2: fields[3], city: fields[4], region: fields[5],
                  postalCode: fields[6], country: fields[7])
    }

    public func encode(to encoder: any Encoder) throws {
        if let compact = encoder as? any CompactEncoding {
            try compact.encode(address: self)
            return
        }
        var container = encoder.container(keyedBy: CodingKeys.self)
        for (key, value) in zip([CodingKeys.recipient, .phone, .line1, .line2, .city, .region, .postalCode, .country], fields) {
            try container.encode(Personal(wrappedValue: value), forKey: key)
        }
    }

    public init(from decoder: any Decoder) throws {
        if let compact = decoder as? any CompactDecoding {
            self = try compact.decodeAddress()
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(fields: try [CodingKeys.recipient, .phone, .line1, .line2, .city, .region, .postalCode, .country].map {
            try container.decode(Personal.self, forKey: $0).wrappedValue
        })
    }

    func validate() throws(Rejection) {
        try Limits.text(recipient, "address.recipient", max: Limits.nameCharactersMax)
        try Limits.text(phone, "address.phone", max: Limits.phoneCharactersMax)
        try Limits.text(line1, "address.line1", max: Limits.addressLineCharactersMax)
        try Limits.text(line2, "address.line2", max: Limits.addressLineCharactersMax, allowEmpty: true)
        try Limits.text(city, "address.city", max: Limits.nameCharactersMax)
        try Limits.text(region, "address.region", max: Limits.nameCharactersMax, allowEmpty: true)
        try Limits.text(postalCode, "address.postalCode", max: Limits.postalCodeCharactersMax)
        try Limits.text(country, "address.country", max: Limits.nameCharactersMax)
    }
}

/// Every bound the domain enforces, by name.
public enum Limits {
    public static let moneyMax: Int64 = 1_000_000_000_000  // 10 billion in major units
    public static let priceMax: Int64 = 100_000_000_00     // one item: 100 million in major units
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
    public static let footprintsKept = 100
    public static let titleCharactersMax = 200
    public static let descriptionCharactersMax = 5_000
    public static let tagsPerGoodsMax = 20
    public static let tagCharactersMax = 40
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
        value.utf8.count <= max * textUTF8BytesPerCharacterMax && value.unicodeScalars.count <= max * textScalarsPerCharacterMax && value.count <= max
    }

    /// Checks a named text limit: bytes and scalars first (cheap, and they
    /// bound the work of counting characters), then characters, then content.
    public static func text(_ value: String, _ field: String, max: Int, allowEmpty: Bool = false) throws(Rejection) {
        let bytes = value.utf8.count
        guard bytes <= max * textUTF8BytesPerCharacterMax else {
            throw Rejection(.invalidInput, "\(field) is \(bytes) bytes of UTF-8; the limit is \(max * textUTF8BytesPerCharacterMax)", field: field)
        }
        let scalars = value.unicodeScalars.count
        guard scalars <= max * textScalarsPerCharacterMax else {
            throw Rejection(.invalidInput, "\(field) is \(scalars) Unicode scalars; the limit is \(max * textScalarsPerCharacterMax)", field: field)
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

/// The shop's rules that are configuration, not code.
public struct ShopPolicy: Sendable, Hashable {
    /// ISO 4217 code of the shop's one currency.
    public var currency = "CNY"
    /// Unpaid orders expire after this long.
    public var orderExpirySeconds: Int64 = 30 * 60
    /// Points earned per whole major unit of an order's total, on receipt.
    public var pointsPerMajorUnit: Int64 = 1
    /// What one point is worth at checkout, in minor units.
    public var pointValueMinorUnits: Int64 = 1
    /// Share of the amount after discount that points may pay, in percent.
    public var pointsPayPercentMax: Int64 = 50
    /// Failed logins in a row that lock an account.
    public var lockoutFailures = 5
    public var lockoutSeconds: Int64 = 15 * 60
    /// Refunds may be requested this long after receipt.
    public var refundWindowSeconds: Int64 = 14 * 24 * 3600
    public var passwordHashing = PasswordParameters.production

    public init() {}
}

extension Int64 {
    /// Division rounding toward negative infinity (days before 1970 are still whole days).
    func dividedRoundingDown(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
