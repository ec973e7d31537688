import Commerce
import Foundation

/// A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1), as much of it as the contract uses: written into
/// `/openapi.json`, and checked against answers by the tests (`violations(of:)`), so a handler that drifts from its
/// schema fails a test.
public struct Schema: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case object, array, string, integer, number, boolean
    }

    public var kind: Kind?
    public var format: String?
    public var summary: String?
    public var properties: [String: Schema] = [:]
    public var required: [String] = []
    /// False: a field the schema does not name is a violation.
    public var closed = false
    /// An object whose values all have this schema (a map).
    public var values: Box?
    public var items: Box?
    public var enumeration: [String]?
    public var constant: String?
    public var minimum: Int64?
    public var maximum: Int64?
    public var minLength: Int?
    public var maxLength: Int?
    public var maxItems: Int?
    public var oneOf: [Schema]?
    /// Which of `oneOf` applies: named by one field's value.
    public var discriminator: Discriminator?
    public var reference: String?
    public var examples: [JSONValue] = []

    /// A field whose value names the variant of a `oneOf` of references, as OpenAPI states it (generators build one
    /// case per mapped schema from it).
    public struct Discriminator: Sendable, Equatable {
        public var property: String
        /// The field's value → the component that describes the whole object.
        public var mapping: [String: String]

        public init(property: String, mapping: [String: String]) {
            self.property = property
            self.mapping = mapping
        }
    }

    /// A schema inside another (a struct cannot hold itself).
    public final class Box: Sendable, Equatable {
        public let schema: Schema
        public init(_ schema: Schema) { self.schema = schema }
        public static func == (lhs: Box, rhs: Box) -> Bool { lhs.schema == rhs.schema }
    }

    public init(_ kind: Kind? = nil, summary: String? = nil) {
        self.kind = kind
        self.summary = summary
    }

    public static func ref(_ name: String) -> Schema {
        var schema = Schema()
        schema.reference = name
        return schema
    }

    public static func string(format: String? = nil, maxLength: Int? = nil, summary: String? = nil) -> Schema {
        var schema = Schema(.string, summary: summary)
        schema.format = format
        schema.maxLength = maxLength
        return schema
    }

    public static func integer(_ minimum: Int64? = nil, _ maximum: Int64? = nil, summary: String? = nil) -> Schema {
        var schema = Schema(.integer, summary: summary)
        schema.minimum = minimum
        schema.maximum = maximum
        return schema
    }

    public static func oneOf(_ values: [String], summary: String? = nil) -> Schema {
        var schema = Schema(.string, summary: summary)
        schema.enumeration = values
        return schema
    }

    public static func array(_ items: Schema, maxItems: Int? = nil, summary: String? = nil) -> Schema {
        var schema = Schema(.array, summary: summary)
        schema.items = Box(items)
        schema.maxItems = maxItems
        return schema
    }

    /// A map from text keys to `values`.
    public static func map(_ values: Schema, summary: String? = nil) -> Schema {
        var schema = Schema(.object, summary: summary)
        schema.values = Box(values)
        return schema
    }

    /// An object with these fields, `required` of them always present; `closed`: no others.
    public static func object(
        _ properties: [String: Schema], required: [String] = [], closed: Bool = true, summary: String? = nil
    ) -> Schema {
        var schema = Schema(.object, summary: summary)
        schema.properties = properties
        schema.required = required.sorted()
        schema.closed = closed
        return schema
    }

    /// This schema, or JSON null.
    public var orNull: Schema { with { $0.allowsNull = true } }

    /// JSON null is also allowed.
    public var allowsNull = false

    public func with(_ change: (inout Schema) -> Void) -> Schema {
        var schema = self
        change(&schema)
        return schema
    }

    /// The schema as JSON (for `JSONSerialization`).
    public var json: [String: Any] {
        var out: [String: Any] = [:]
        if let reference { return ["$ref": "#/components/schemas/\(reference)"] }
        var types = kind.map { [$0.rawValue] } ?? []
        if allowsNull { types.append("null") }
        if types.count == 1 { out["type"] = types[0] } else if !types.isEmpty { out["type"] = types }
        if let format { out["format"] = format }
        if let summary { out["description"] = summary }
        if !properties.isEmpty || kind == .object && values == nil {
            out["properties"] = properties.mapValues(\.json)
            if closed { out["additionalProperties"] = false }
        }
        if !required.isEmpty { out["required"] = required }
        if let values { out["additionalProperties"] = values.schema.json }
        if let items { out["items"] = items.schema.json }
        if let enumeration { out["enum"] = enumeration }
        if let constant { out["const"] = constant }
        if let minimum { out["minimum"] = minimum }
        if let maximum { out["maximum"] = maximum }
        if let minLength { out["minLength"] = minLength }
        if let maxLength { out["maxLength"] = maxLength }
        if let maxItems { out["maxItems"] = maxItems }
        if let oneOf { out["oneOf"] = oneOf.map(\.json) }
        if let discriminator {
            out["discriminator"] = [
                "propertyName": discriminator.property,
                "mapping": discriminator.mapping.mapValues { "#/components/schemas/\($0)" },
            ]
        }
        if !examples.isEmpty { out["examples"] = examples.map(\.any) }
        return out
    }

    // MARK: Checking a value

    /// Where `value` breaks this schema (`$.result.total: expected integer`), empty when it conforms; `$ref`s are
    /// looked up in `components`.
    public func violations(of value: JSONValue, components: [String: Schema] = [:], at path: String = "$") -> [String] {
        if let reference {
            guard let schema = components[reference] else { return ["\(path): no schema \(reference)"] }
            return schema.violations(of: value, components: components, at: path)
        }
        if let oneOf {
            if let discriminator, case .object(let fields) = value, case .string(let chosen)? = fields[discriminator.property] {
                guard let match = discriminator.mapping[chosen] else {
                    return ["\(path).\(discriminator.property): \(chosen) is none of the variants"]
                }
                return Schema.ref(match).violations(of: value, components: components, at: path)
            }
            let matching = oneOf.filter { $0.violations(of: value, components: components, at: path).isEmpty }
            return matching.count == 1 ? [] : ["\(path): matches \(matching.count) of oneOf's \(oneOf.count) variants"]
        }
        if value == .null {
            return allowsNull || kind == nil ? [] : ["\(path): null where \(typeNames) is expected"]
        }
        guard kind.map({ value.is($0) }) ?? true else {
            return ["\(path): \(value.typeName) where \(typeNames) is expected"]
        }
        var found: [String] = []
        switch value {
        case .object(let fields):
            for name in required where fields[name] == nil { found.append("\(path): \(name) is missing") }
            for (name, field) in fields.sorted(by: { $0.key < $1.key }) {
                if let schema = properties[name] {
                    found += schema.violations(of: field, components: components, at: "\(path).\(name)")
                } else if let values {
                    found += values.schema.violations(of: field, components: components, at: "\(path).\(name)")
                } else if closed {
                    found.append("\(path): \(name) is not in the schema")
                }
            }
        case .array(let elements):
            if let maxItems, elements.count > maxItems { found.append("\(path): \(elements.count) items, at most \(maxItems)") }
            if let items {
                for (index, element) in elements.enumerated() {
                    found += items.schema.violations(of: element, components: components, at: "\(path)[\(index)]")
                }
            }
        case .string(let text):
            if let enumeration, !enumeration.contains(text) { found.append("\(path): \(text) is not one of \(enumeration)") }
            if let constant, text != constant { found.append("\(path): \(text) is not \(constant)") }
            if let maxLength, text.count > maxLength { found.append("\(path): longer than \(maxLength)") }
            if let minLength, text.count < minLength { found.append("\(path): shorter than \(minLength)") }
            if format == "uuid", UUIDText.parse(text).map(UUIDText.format) != text {
                found.append("\(path): \(text) is not a lowercase UUID")
            }
        case .integer(let number):
            if let minimum, number < minimum { found.append("\(path): \(number) is below \(minimum)") }
            if let maximum, number > maximum { found.append("\(path): \(number) is above \(maximum)") }
        case .number, .bool, .null:
            break
        }
        return found
    }

    private var typeNames: String {
        ((kind.map { [$0.rawValue] } ?? []) + (allowsNull ? ["null"] : [])).joined(separator: " or ")
    }
}

/// A JSON value as the tests read an answer (integers apart from other numbers: the contract says which is which).
public enum JSONValue: Sendable, Equatable, Decodable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case null

    /// Parses JSON text; nil when it is not JSON.
    public init?(parsing bytes: Data) {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: bytes) else { return nil }
        self = value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let integer = try? container.decode(Int64.self) {
            self = .integer(integer)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let elements = try? container.decode([JSONValue].self) {
            self = .array(elements)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    var any: Any {
        switch self {
        case .object(let fields): fields.mapValues(\.any)
        case .array(let elements): elements.map(\.any)
        case .string(let text): text
        case .integer(let number): number
        case .number(let number): number
        case .bool(let flag): flag
        case .null: NSNull()
        }
    }

    func `is`(_ kind: Schema.Kind) -> Bool {
        switch (self, kind) {
        case (.object, .object), (.array, .array), (.string, .string), (.integer, .integer), (.bool, .boolean): true
        case (.integer, .number), (.number, .number): true
        default: false
        }
    }

    var typeName: String {
        switch self {
        case .object: "object"
        case .array: "array"
        case .string: "string"
        case .integer: "integer"
        case .number: "number"
        case .bool: "boolean"
        case .null: "null"
        }
    }
}
