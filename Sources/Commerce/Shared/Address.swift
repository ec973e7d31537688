import Foundation

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

    public init(
        recipient: String, phone: String, line1: String, line2: String = "", city: String,
        region: String = "", postalCode: String, country: String
    ) {
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
        self.init(
            recipient: fields[0], phone: fields[1], line1: fields[2], line2: fields[3], city: fields[4], region: fields[5],
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
        self.init(
            fields: try [CodingKeys.recipient, .phone, .line1, .line2, .city, .region, .postalCode, .country].map {
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
