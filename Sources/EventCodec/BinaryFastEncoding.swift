import Commerce
import Foundation

/// A value with a hand-written binary encoder that writes exactly the bytes
/// `BinaryPayload.encode` writes through its `Encodable` conformance (fields
/// in declaration order, optionals with a presence byte, arrays with a
/// 4-byte count), without `Codable`'s containers, which allocate a box per
/// nested value. Read models re-encode their changed rows on every batch,
/// so their rows use this; a test checks every row of every model against
/// the `Codable` encoding.
public protocol BinaryFastEncodable: Encodable {
    func encode(binary writer: inout BinaryWriter)
}

/// Appends values in the binary payload encoding.
public struct BinaryWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 128) { bytes.reserveCapacity(capacity) }

    // The three primitives, on any byte array: `BinaryPayloadEncoder`'s buffer writes through these too.
    static func varint(_ value: UInt64, into bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    static func signed(_ value: Int64, into bytes: inout [UInt8]) { varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)), into: &bytes) }

    static func string(_ value: String, into bytes: inout [UInt8]) {
        var value = value
        value.withUTF8 { utf8 in
            varint(UInt64(utf8.count), into: &bytes)
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func int64(_ value: Int64) { Self.signed(value, into: &bytes) }
    public mutating func int(_ value: Int) { int64(Int64(value)) }
    public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }
    public mutating func double(_ value: Double) { Self.varint(value.bitPattern, into: &bytes) }
    public mutating func string(_ value: String) { Self.string(value, into: &bytes) }

    public mutating func id<Tag>(_ id: EntityId<Tag>) { withUnsafeBytes(of: id.uuid.uuid) { bytes.append(contentsOf: $0) } }
    public mutating func money(_ money: Money) { int64(money.minorUnits) }
    public mutating func instant(_ instant: Instant) { int64(instant.millisecondsSinceEpoch) }

    public mutating func optional<T>(_ value: T?, _ write: (inout BinaryWriter, T) -> Void) {
        guard let value else {
            bytes.append(0)
            return
        }
        bytes.append(1)
        write(&self, value)
    }

    public mutating func array<T>(_ values: some Collection<T>, _ write: (inout BinaryWriter, T) -> Void) {
        let count = UInt32(values.count)
        for index in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: count >> (8 * index))) }
        for value in values { write(&self, value) }
    }

    public mutating func strings(_ values: [String]) { array(values) { $0.string($1) } }
    mutating func append(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }
}

extension BinaryPayload {
    public static func encodeFast(_ value: some BinaryFastEncodable) -> [UInt8] {
        var writer = BinaryWriter()
        value.encode(binary: &writer)
        return writer.bytes
    }
}

extension Int: BinaryFastEncodable {
    public func encode(binary writer: inout BinaryWriter) { writer.int(self) }
}

extension Int64: BinaryFastEncodable {
    public func encode(binary writer: inout BinaryWriter) { writer.int64(self) }
}

extension Array: BinaryFastEncodable where Element: BinaryFastEncodable {
    public func encode(binary writer: inout BinaryWriter) { writer.array(self) { $1.encode(binary: &$0) } }
}
