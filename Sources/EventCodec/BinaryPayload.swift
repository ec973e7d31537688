import Commerce
import Foundation

/// Schema version 2 of every event payload: the v1 fields, in declaration
/// order, without names. Replaying a log is mostly decoding payloads, and
/// Foundation's JSON decoder cost five times the rest of a replay; this form
/// is read positionally through the same `Codable` conformances.
///
/// - integers: zigzag varints (unsigned: plain varints); `Bool`: one byte;
/// - strings: varint byte count, then UTF-8;
/// - ids (`EntityId`): their 16 bytes;
/// - optionals (`encodeIfPresent`): a presence byte, then the value;
/// - arrays and other unkeyed containers: a 4-byte little-endian count, then the elements;
/// - keyed containers: their values in the order they are encoded (synthesized
///   conformances encode and decode in declaration order), without keys.
///
/// A shape change is a new schema version, as for JSON: there are no names to
/// fall back on. Decoding an older version's payload (`storedVersion`), the
/// hand-written decoders (`BinaryFastDecodable`) read only that version's
/// fields, and values whose nested fields depend on the version read it from
/// `userInfo[.eventSchemaVersion]`. Enums with associated values (which decode through
/// `allKeys`) cannot be read this way; the golden tests cover every event.
public enum BinaryPayload {
    public static func encode(_ value: some Encodable, userInfo: [CodingUserInfoKey: any Sendable] = [:]) throws -> [UInt8] {
        let encoder = BinaryPayloadEncoder(userInfo: userInfo)
        try value.encode(to: encoder)
        return encoder.buffer.bytes
    }

    public static func decode<T: Decodable>(
        _ type: T.Type, from bytes: [UInt8], userInfo: [CodingUserInfoKey: any Sendable] = [:]
    ) throws -> T {
        try bytes.withUnsafeBytes { try decode(T.self, from: $0, userInfo: userInfo) }
    }

    /// Decodes with a hand-written decoder (`BinaryFastDecodable`), with the same checks. Generic, so the
    /// value is not boxed in an existential (that box was an allocation per event decoded).
    static func decodeFast<T: BinaryFastDecodable>(
        _ type: T.Type, from bytes: UnsafeRawBufferPointer,
        userInfo: [CodingUserInfoKey: any Sendable], storedVersion: Int? = nil
    ) throws -> T {
        let decoder = BinaryPayloadDecoder(bytes: bytes, userInfo: userInfo, storedVersion: storedVersion)
        let value = try type.init(binary: decoder)
        guard decoder.reader.offset == bytes.count else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "\(bytes.count - decoder.reader.offset) bytes left over"))
        }
        return value
    }

    /// Decodes from memory it does not copy (a record in the log, read in place).
    public static func decode<T: Decodable>(
        _ type: T.Type, from bytes: UnsafeRawBufferPointer, userInfo: [CodingUserInfoKey: any Sendable] = [:], storedVersion: Int? = nil
    ) throws -> T {
        let decoder = BinaryPayloadDecoder(bytes: bytes, userInfo: userInfo, storedVersion: storedVersion)
        let value = try T(from: decoder)
        guard decoder.reader.offset == bytes.count else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "\(bytes.count - decoder.reader.offset) bytes left over"))
        }
        return value
    }
}

// MARK: Writing

final class ByteBuffer {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(256) }

    func varint(_ value: UInt64) { BinaryWriter.varint(value, into: &bytes) }
    func signed(_ value: Int64) { BinaryWriter.signed(value, into: &bytes) }
    func string(_ value: String) { BinaryWriter.string(value, into: &bytes) }
}

final class BinaryPayloadEncoder: Encoder {
    let buffer: ByteBuffer
    let userInfo: [CodingUserInfoKey: Any]
    var codingPath: [any CodingKey] { [] }

    init(userInfo: [CodingUserInfoKey: any Sendable], buffer: ByteBuffer = ByteBuffer()) {
        self.userInfo = userInfo
        self.buffer = buffer
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedWriter<Key>(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer { UnkeyedWriter(encoder: self) }
    func singleValueContainer() -> any SingleValueEncodingContainer { SingleWriter(encoder: self) }

    func encodeUUID(_ uuid: UUID) {
        withUnsafeBytes(of: uuid.uuid) { buffer.bytes.append(contentsOf: $0) }
    }

    /// Primitives arrive here too (inside arrays and optionals); they encode through
    /// `SingleWriter`'s concrete overloads, so no dynamic casts are needed.
    func write(_ value: some Encodable) throws { try value.encode(to: self) }
}

struct KeyedWriter<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: BinaryPayloadEncoder
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws { encoder.buffer.bytes.append(0) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { encoder.buffer.bytes.append(value ? 1 : 0) }
    mutating func encode(_ value: String, forKey key: Key) throws { encoder.buffer.string(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { encoder.buffer.varint(value.bitPattern) }
    mutating func encode(_ value: Float, forKey key: Key) throws { encoder.buffer.varint(UInt64(value.bitPattern)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { encoder.buffer.signed(Int64(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { encoder.buffer.signed(Int64(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { encoder.buffer.signed(Int64(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { encoder.buffer.signed(Int64(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { encoder.buffer.signed(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { encoder.buffer.varint(UInt64(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { encoder.buffer.varint(UInt64(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { encoder.buffer.varint(UInt64(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { encoder.buffer.varint(UInt64(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { encoder.buffer.varint(value) }
    mutating func encode(_ value: some Encodable, forKey key: Key) throws { try encoder.write(value) }

    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try present(value) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try present(value) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try present(value) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try present(value) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try present(value) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try present(value) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try present(value) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try present(value) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try present(value) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try present(value) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try present(value) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try present(value) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try present(value) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try present(value) }
    mutating func encodeIfPresent(_ value: (some Encodable)?, forKey key: Key) throws { try present(value) }

    private func present(_ value: (some Encodable)?) throws {
        guard let value else {
            encoder.buffer.bytes.append(0)
            return
        }
        encoder.buffer.bytes.append(1)
        try encoder.write(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        encoder.container(keyedBy: NestedKey.self)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { encoder.unkeyedContainer() }
    mutating func superEncoder() -> any Encoder { encoder }
    mutating func superEncoder(forKey key: Key) -> any Encoder { encoder }
}

/// Reserves its 4-byte count where it starts and counts up as elements are written.
struct UnkeyedWriter: UnkeyedEncodingContainer {
    let encoder: BinaryPayloadEncoder
    let countOffset: Int
    private(set) var count = 0
    var codingPath: [any CodingKey] { [] }

    init(encoder: BinaryPayloadEncoder) {
        self.encoder = encoder
        countOffset = encoder.buffer.bytes.count
        encoder.buffer.bytes.append(contentsOf: [0, 0, 0, 0])
    }

    private mutating func counted() {
        count += 1
        let value = UInt32(count)
        for index in 0..<4 { encoder.buffer.bytes[countOffset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    mutating func encodeNil() throws {
        throw EncodingError.invalidValue(0, .init(codingPath: [], debugDescription: "nil elements have no binary form"))
    }

    mutating func encode(_ value: some Encodable) throws {
        counted()
        try encoder.write(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        counted()
        return encoder.container(keyedBy: NestedKey.self)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        counted()
        return encoder.unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { encoder }
}

struct SingleWriter: SingleValueEncodingContainer {
    let encoder: BinaryPayloadEncoder
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws {
        throw EncodingError.invalidValue(0, .init(codingPath: [], debugDescription: "a bare nil has no binary form"))
    }

    mutating func encode(_ value: Bool) throws { encoder.buffer.bytes.append(value ? 1 : 0) }
    mutating func encode(_ value: String) throws { encoder.buffer.string(value) }
    mutating func encode(_ value: Double) throws { encoder.buffer.varint(value.bitPattern) }
    mutating func encode(_ value: Float) throws { encoder.buffer.varint(UInt64(value.bitPattern)) }
    mutating func encode(_ value: Int) throws { encoder.buffer.signed(Int64(value)) }
    mutating func encode(_ value: Int8) throws { encoder.buffer.signed(Int64(value)) }
    mutating func encode(_ value: Int16) throws { encoder.buffer.signed(Int64(value)) }
    mutating func encode(_ value: Int32) throws { encoder.buffer.signed(Int64(value)) }
    mutating func encode(_ value: Int64) throws { encoder.buffer.signed(value) }
    mutating func encode(_ value: UInt) throws { encoder.buffer.varint(UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { encoder.buffer.varint(UInt64(value)) }
    mutating func encode(_ value: UInt16) throws { encoder.buffer.varint(UInt64(value)) }
    mutating func encode(_ value: UInt32) throws { encoder.buffer.varint(UInt64(value)) }
    mutating func encode(_ value: UInt64) throws { encoder.buffer.varint(value) }
    mutating func encode(_ value: some Encodable) throws { try encoder.write(value) }
}

// MARK: Reading

/// Reads memory it does not own: valid only while the decode that made it runs.
final class ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    static func corrupt(_ what: String) -> DecodingError {
        .dataCorrupted(.init(codingPath: [], debugDescription: what))
    }

    func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw Self.corrupt("the payload ends early") }
        defer { offset += 1 }
        return bytes[offset]
    }

    func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            value |= UInt64(next & 0x7F) << shift
            if next < 0x80 { return value }
            shift += 7
            guard shift < 64 else { throw Self.corrupt("a varint is too long") }
        }
    }

    func signed() throws -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let value = T.isSigned ? try signed() : Int64(bitPattern: try varint())
        guard let exact = T(exactly: T.isSigned ? value : Int64(bitPattern: UInt64(bitPattern: value))) else {
            throw Self.corrupt("\(value) does not fit \(T.self)")
        }
        return exact
    }

    func unsigned<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let value = try varint()
        guard let exact = T(exactly: value) else { throw Self.corrupt("\(value) does not fit \(T.self)") }
        return exact
    }

    func string() throws -> String {
        let count = Int(try varint())
        guard count <= bytes.count - offset else { throw Self.corrupt("a string runs past the payload") }
        defer { offset += count }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]), as: UTF8.self)
    }

    func bool() throws -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        default: throw Self.corrupt("a Bool is 0 or 1")
        }
    }

    func count() throws -> Int {
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(try byte()) << (8 * index) }
        guard Int(value) <= bytes.count - offset else { throw Self.corrupt("a count runs past the payload") }
        return Int(value)
    }

    func uuid() throws -> UUID {
        guard bytes.count - offset >= 16 else { throw Self.corrupt("an id runs past the payload") }
        defer { offset += 16 }
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &uuid) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + 16)])) }
        return UUID(uuid: uuid)
    }
}

final class BinaryPayloadDecoder: Decoder {
    let reader: ByteReader
    let userInfo: [CodingUserInfoKey: Any]
    var codingPath: [any CodingKey] { [] }

    /// The payload's schema version when older than its type's current one, else nil.
    let storedVersion: Int?

    init(bytes: UnsafeRawBufferPointer, userInfo: [CodingUserInfoKey: any Sendable], storedVersion: Int? = nil) {
        reader = ByteReader(bytes)
        var userInfo = userInfo
        if let storedVersion { userInfo[.eventSchemaVersion] = storedVersion }
        self.userInfo = userInfo
        self.storedVersion = storedVersion
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(KeyedReader<Key>(decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { try UnkeyedReader(decoder: self) }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleReader(decoder: self) }

    func read<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == String.self, let value = try reader.string() as? T { return value }
        if T.self == Int.self, let value = try reader.integer(Int.self) as? T { return value }
        if T.self == Int64.self, let value = try reader.signed() as? T { return value }
        if T.self == Bool.self, let value = try reader.bool() as? T { return value }
        return try T(from: self)
    }
}

struct KeyedReader<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: BinaryPayloadDecoder
    var reader: ByteReader { decoder.reader }
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { [] }

    func contains(_ key: Key) -> Bool { true }
    func decodeNil(forKey key: Key) throws -> Bool { try reader.byte() == 0 }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try reader.bool() }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try reader.string() }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { Double(bitPattern: try reader.varint()) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(bitPattern: try reader.unsigned(UInt32.self)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try reader.integer(Int.self) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try reader.integer(Int8.self) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try reader.integer(Int16.self) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try reader.integer(Int32.self) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try reader.signed() }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try reader.unsigned(UInt.self) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try reader.unsigned(UInt8.self) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try reader.unsigned(UInt16.self) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try reader.unsigned(UInt32.self) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try reader.varint() }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decoder.read(T.self) }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try present { try reader.bool() } }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try present { try reader.string() } }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try present { try reader.integer(Int.self) } }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try present { try reader.signed() } }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try present { try reader.varint() } }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try present { Double(bitPattern: try reader.varint()) } }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? {
        try present { Float(bitPattern: try reader.unsigned(UInt32.self)) }
    }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try present { try reader.integer(Int8.self) } }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try present { try reader.integer(Int16.self) } }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try present { try reader.integer(Int32.self) } }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try present { try reader.unsigned(UInt.self) } }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try present { try reader.unsigned(UInt8.self) } }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try present { try reader.unsigned(UInt16.self) } }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try present { try reader.unsigned(UInt32.self) } }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try present { try decoder.read(T.self) } }

    private func present<T>(_ read: () throws -> T) throws -> T? {
        switch try reader.byte() {
        case 0: return nil
        case 1: return try read()
        default: throw ByteReader.corrupt("a presence byte is 0 or 1")
        }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder.container(keyedBy: NestedKey.self)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try decoder.unkeyedContainer() }
    func superDecoder() throws -> any Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> any Decoder { decoder }
}

struct UnkeyedReader: UnkeyedDecodingContainer {
    let decoder: BinaryPayloadDecoder
    let total: Int
    private(set) var currentIndex = 0
    var codingPath: [any CodingKey] { [] }

    init(decoder: BinaryPayloadDecoder) throws {
        self.decoder = decoder
        total = try decoder.reader.count()
    }

    var count: Int? { total }
    var isAtEnd: Bool { currentIndex >= total }

    mutating func decodeNil() throws -> Bool { false }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        guard !isAtEnd else { throw ByteReader.corrupt("an array has no more elements") }
        currentIndex += 1
        return try decoder.read(T.self)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        currentIndex += 1
        return try decoder.container(keyedBy: NestedKey.self)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        currentIndex += 1
        return try decoder.unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { decoder }
}

struct SingleReader: SingleValueDecodingContainer {
    let decoder: BinaryPayloadDecoder
    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { false }
    func decode(_ type: Bool.Type) throws -> Bool { try decoder.reader.bool() }
    func decode(_ type: String.Type) throws -> String { try decoder.reader.string() }
    func decode(_ type: Double.Type) throws -> Double { Double(bitPattern: try decoder.reader.varint()) }
    func decode(_ type: Float.Type) throws -> Float { Float(bitPattern: try decoder.reader.unsigned(UInt32.self)) }
    func decode(_ type: Int.Type) throws -> Int { try decoder.reader.integer(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decoder.reader.integer(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decoder.reader.integer(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decoder.reader.integer(Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decoder.reader.signed() }
    func decode(_ type: UInt.Type) throws -> UInt { try decoder.reader.unsigned(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.reader.unsigned(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.reader.unsigned(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.reader.unsigned(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.reader.varint() }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.read(T.self) }
}

/// Ids as their 16 bytes; an address as one value, sealed whole for its owner when the encoder carries a cipher.
extension BinaryPayloadEncoder: CompactEncoding {
    func encode(uuid: UUID) { encodeUUID(uuid) }

    func encode(address: Address) throws {
        var writer = BinaryWriter()
        try address.encode(
            binary: &writer, sealingFor: userInfo[.personalDataOwner] as? UserId,
            with: userInfo[.personalDataCipher] as? any PersonalDataCipher)
        buffer.bytes.append(contentsOf: writer.bytes)
    }
}

extension BinaryPayloadDecoder: CompactDecoding {
    func decodeUUID() throws -> UUID { try reader.uuid() }

    /// 0 and the eight fields, or 1 and them sealed as one value: opened with the decoder's cipher, or
    /// read as the cipher's unopened text (erased, or hidden) when it cannot open them.
    func decodeAddress() throws -> Address {
        switch try reader.byte() {
        case 0: return Address(fields: try (0..<8).map { _ in try reader.string() })
        case 1:
            let sealed = try reader.string()
            let cipher = userInfo[.personalDataCipher] as? any PersonalDataCipher
            guard let opened = cipher?.open(sealed), let plain = Data(base64Encoded: opened) else {
                return Address(fields: Array(repeating: cipher?.unopenedText ?? PersonalData.erased, count: 8))
            }
            return try BinaryPayload.decode(Address.self, from: Array(plain))
        default: throw ByteReader.corrupt("an address is plain (0) or sealed (1)")
        }
    }
}
