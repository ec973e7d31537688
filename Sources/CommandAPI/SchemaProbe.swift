import CommandEngine
import Commerce
import Foundation

/// The schema of a `Decodable` type, read from the type's own decoding: the probe hands it a decoder that answers every
/// request with a sample and writes down what was asked — each key, its type, and whether `decode` (required) or
/// `decodeIfPresent` (optional) asked for it. The command inputs' schemas come from the code that decodes them, so the
/// two cannot drift; what decoding does not show (bounds, formats) is added by `SchemaProbe.refine`.
public enum SchemaProbe {
    /// The schema of an answer type, read from its synthesized decoding (which mirrors its synthesized encoding: the
    /// same keys, `encodeIfPresent` where `decodeIfPresent`): every object closed, so a field the type gains and the
    /// contract does not name fails the tests that check answers against it.
    public static func answerSchema<T: Decodable>(of type: T.Type) -> Schema {
        closed(SchemaProbe.leaf(T.self).0)
    }

    private static func closed(_ schema: Schema) -> Schema {
        var schema = schema
        if schema.kind == .object, schema.values == nil { schema.closed = true }
        schema.properties = schema.properties.mapValues(closed)
        if let items = schema.items { schema.items = Schema.Box(closed(items.schema)) }
        if let values = schema.values { schema.values = Schema.Box(closed(values.schema)) }
        return schema
    }

    /// The schema of what `read` decodes (its value is dropped): `read` is handed the probing decoder.
    static func schema(decodedBy read: (any Decoder) throws -> Void) -> Schema {
        let recorder = Recorder()
        do {
            try read(ProbeDecoder(recorder: recorder))
        } catch {
            recorder.failure = "\(error)"
        }
        return recorder.schema
    }

    /// The schema of one value of type `T`, asked for under a key or as an element.
    fileprivate static func leaf<T: Decodable>(_ type: T.Type) -> (Schema, T?) {
        if let named = T.self as? any SchemaNamed.Type {
            return (named.schema, named.sample as? T)
        }
        if let map = T.self as? any TextKeyedMap.Type {
            return (.map(map.valueSchema), map.empty as? T)
        }
        let recorder = Recorder()
        do {
            let value = try T(from: ProbeDecoder(recorder: recorder))
            return (recorder.schema, value)
        } catch {
            recorder.failure = "\(error)"  // a type that refused the probe's samples: what it read before is its schema
            return (recorder.schema, nil)
        }
    }
}

/// A type whose schema is stated, not probed: ids (UUID text), enumerations (their cases), instants.
protocol SchemaNamed {
    static var schema: Schema { get }
    static var sample: Any { get }
}

extension EntityId: SchemaNamed {
    static var schema: Schema { .string(format: "uuid") }
    static var sample: Any { EntityId(UUID(uuid: (0, 0, 0, 0, 0, 0, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, 1))) }
}

/// A dictionary with text keys: a JSON object whose values share one schema.
protocol TextKeyedMap {
    static var valueSchema: Schema { get }
    static var empty: Any { get }
}

extension Dictionary: TextKeyedMap where Key == String, Value: Decodable {
    static var valueSchema: Schema { SchemaProbe.leaf(Value.self).0 }
    static var empty: Any { [String: Value]() }
}

/// An enumeration by its raw values.
protocol SchemaEnumeration: SchemaNamed, CaseIterable, RawRepresentable where RawValue == String {}

extension SchemaEnumeration {
    static var schema: Schema { .oneOf(allCases.map(\.rawValue)) }
    static var sample: Any { allCases.first as Any }
}

extension Role: SchemaEnumeration {}
extension Scope: SchemaEnumeration {}
extension CouponKind: SchemaEnumeration {}
extension GoodsAttribute.Kind: SchemaEnumeration {}
extension ReviewVerdict: SchemaEnumeration {}
extension ReviewStatus: SchemaEnumeration {}
extension AfterSaleKind: SchemaEnumeration {}
extension AfterSaleResolution: SchemaEnumeration {}
extension AfterSaleStatus: SchemaEnumeration {}
extension PromotionKind: SchemaEnumeration {}

private final class Recorder {
    enum Shape {
        case unknown
        case object([String: Schema], required: Set<String>)
        case array(Schema?)
        case leaf(Schema)
    }

    var shape = Shape.unknown
    var failure: String?

    /// What was read; a type that refused the probe's samples says so in its summary (a test looks for it).
    var schema: Schema {
        var schema = shape.schema
        if let failure { schema.summary = "\(Recorder.incomplete): \(failure)" }
        return schema
    }

    static let incomplete = "not fully described (the probe's sample was refused)"

    func field(_ name: String, _ schema: Schema, required: Bool) {
        var (properties, needed): ([String: Schema], Set<String>) =
            if case .object(let properties, let needed) = shape { (properties, needed) } else { ([:], []) }
        properties[name] = schema
        if required { needed.insert(name) }
        shape = .object(properties, required: needed)
    }

    func object() { if case .object = shape {} else { shape = .object([:], required: []) } }
}

extension Recorder.Shape {
    var schema: Schema {
        switch self {
        case .unknown: return Schema.object([:], closed: false)
        case .object(let properties, let required): return Schema.object(properties, required: Array(required), closed: false)
        case .array(let items): return Schema.array(items ?? Schema())
        case .leaf(let schema): return schema
        }
    }
}

private struct ProbeDecoder: Decoder {
    let recorder: Recorder
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        recorder.object()
        return KeyedDecodingContainer(KeyedProbe<Key>(recorder: recorder))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { UnkeyedProbe(recorder: recorder) }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleProbe(recorder: recorder) }
}

/// The sample every text field reads: a valid UUID too, for ids decoded through a string.
private let sampleText = "00000000-0000-7000-8000-000000000001"

private func leafSchema<T>(_ type: T.Type) -> Schema? {
    switch type {
    case is String.Type: .string()
    case is Bool.Type: Schema(.boolean)
    case is Int.Type, is Int64.Type, is Int32.Type: Schema(.integer)
    case is UInt64.Type, is UInt.Type, is UInt32.Type: .integer(0)
    case is Double.Type, is Float.Type: Schema(.number)
    default: nil
    }
}

private func sample<T>(_ type: T.Type) -> T? {
    switch type {
    case is String.Type: sampleText as? T
    case is Bool.Type: false as? T
    case is Int.Type: 1 as? T
    case is Int64.Type: Int64(1) as? T
    case is Int32.Type: Int32(1) as? T
    case is UInt64.Type: UInt64(1) as? T
    case is UInt.Type: UInt(1) as? T
    case is UInt32.Type: UInt32(1) as? T
    case is Double.Type: 1.0 as? T
    case is Float.Type: Float(1) as? T
    default: nil
    }
}

/// Reads one value of `T`: a leaf answered at once, anything else probed in turn.
private func probe<T: Decodable>(_ type: T.Type) throws -> (Schema, T) {
    if let schema = leafSchema(T.self), let value = sample(T.self) { return (schema, value) }
    let (schema, value) = SchemaProbe.leaf(T.self)
    guard let value else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "the probe's sample was refused")) }
    return (schema, value)
}

private struct KeyedProbe<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let recorder: Recorder
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { [] }

    func contains(_ key: Key) -> Bool { true }
    func decodeNil(forKey key: Key) throws -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let (schema, value) = try probe(T.self)
        recorder.field(key.stringValue, schema, required: true)
        return value
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try optional(type, key) }

    // The protocol's own defaults for these call `decode`, which would mark optional fields required.
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try optional(type, key) }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try optional(type, key) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try optional(type, key) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try optional(type, key) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try optional(type, key) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try optional(type, key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try optional(type, key) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try optional(type, key) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try optional(type, key) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try optional(type, key) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try optional(type, key) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try optional(type, key) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try optional(type, key) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try optional(type, key) }

    private func optional<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T? {
        let (schema, value) = try probe(T.self)
        recorder.field(key.stringValue, schema.orNull, required: false)  // `decodeIfPresent` takes null as absent
        return value
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        let nested = Recorder()
        nested.object()
        defer { recorder.field(key.stringValue, nested.schema, required: true) }
        return KeyedDecodingContainer(KeyedProbe<NestedKey>(recorder: nested))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "nested unkeyed containers are not probed"))
    }

    func superDecoder() throws -> any Decoder { ProbeDecoder(recorder: recorder) }
    func superDecoder(forKey key: Key) throws -> any Decoder { ProbeDecoder(recorder: recorder) }
}

/// An array of one element (enough to learn the element's schema).
private final class UnkeyedProbe: UnkeyedDecodingContainer {
    let recorder: Recorder
    var codingPath: [any CodingKey] { [] }
    var count: Int? { 1 }
    var currentIndex = 0
    var isAtEnd: Bool { currentIndex > 0 }

    init(recorder: Recorder) {
        self.recorder = recorder
        recorder.shape = .array(nil)
    }

    func decodeNil() throws -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (schema, value) = try probe(T.self)
        recorder.shape = .array(schema)
        currentIndex += 1
        return value
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let nested = Recorder()
        nested.object()
        recorder.shape = .array(nested.schema)
        currentIndex += 1
        return KeyedDecodingContainer(KeyedProbe<NestedKey>(recorder: nested))
    }

    func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "nested unkeyed containers are not probed"))
    }

    func superDecoder() throws -> any Decoder { ProbeDecoder(recorder: recorder) }
}

private struct SingleProbe: SingleValueDecodingContainer {
    let recorder: Recorder
    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { false }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (schema, value) = try probe(T.self)
        recorder.shape = .leaf(schema)
        return value
    }
}
