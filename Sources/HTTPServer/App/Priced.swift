/// An answer that holds money, with the shop's currency beside it (the JSON rule: money is integer minor units, its
/// ISO 4217 code in the same object as `currency`): `value`'s own fields and `currency`, one JSON object. Lines and hits
/// inside it share its currency. The contract's schema is read from this type's decoding, so it names `currency` too.
struct Priced<Value: Codable & Sendable>: Codable, Sendable {
    var value: Value
    var currency: String

    init(_ value: Value, currency: String) {
        self.value = value
        self.currency = currency
    }

    /// Each of `values` with the currency beside its money.
    static func each(_ values: [Value], currency: String) -> [Priced] { values.map { Priced($0, currency: currency) } }

    private enum Keys: String, CodingKey { case currency }

    init(from decoder: any Decoder) throws {
        value = try Value(from: decoder)
        currency = try decoder.container(keyedBy: Keys.self).decode(String.self, forKey: .currency)
    }

    func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(currency, forKey: .currency)
    }
}
