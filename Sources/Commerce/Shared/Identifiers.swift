import Foundation

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
public enum VariantTag: Sendable {}
public enum DeliveryMethodTag: Sendable {}
public enum WebhookTag: Sendable {}
public enum AfterSaleTag: Sendable {}
public enum PromotionTag: Sendable {}

public typealias UserId = EntityId<UserTag>
public typealias GoodsId = EntityId<GoodsTag>
public typealias OrderId = EntityId<OrderTag>
public typealias CouponId = EntityId<CouponTag>
public typealias PaymentId = EntityId<PaymentTag>
public typealias AddressId = EntityId<AddressTag>
public typealias ReviewId = EntityId<ReviewTag>
public typealias ApiKeyId = EntityId<ApiKeyTag>
public typealias VariantId = EntityId<VariantTag>
public typealias DeliveryMethodId = EntityId<DeliveryMethodTag>
public typealias WebhookId = EntityId<WebhookTag>
public typealias AfterSaleId = EntityId<AfterSaleTag>
public typealias PromotionId = EntityId<PromotionTag>
