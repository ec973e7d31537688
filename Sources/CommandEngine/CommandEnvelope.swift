import Crypto
import EventStore
import Foundation

/// A command read from a request body `{"type", "data", "expectedVersion"}`
/// in one JSON pass: `data` is decoded straight into the command's input
/// type, found by `type` while the envelope is read.
///
/// The envelope's own faults (not JSON, not an object, no `type`, a bad
/// `expectedVersion`) throw when it is decoded; an unknown type or invalid
/// `data` is kept and thrown by `Engine.execute`, so a caller is
/// authenticated before their command's fields are judged.
public struct DecodedCommand: Sendable {
    public let type: String
    /// The version the caller saw of the stream the command changes first.
    public let expectedVersion: UInt64?
    /// The command's handler and its decoded input, or why there is none (an unknown type, invalid data).
    let decoded: Result<(handler: Engine.Handler, input: any Sendable), EngineError>
    /// The request as sent, kept to tell a retry from another request under the same `Idempotency-Key`.
    private let source: Source

    private enum Source {
        case envelope(Data)
        case apart(type: String, data: Data)
    }

    /// SHA-256 of the request with its keys sorted and its whitespace
    /// dropped: a retry matches however its JSON is laid out, another
    /// request under the same `Idempotency-Key` does not. Computed only for
    /// commands that carry a key.
    var fingerprint: String {
        let raw: Data
        let object: Any?
        switch source {
        case .envelope(let body):
            raw = body
            object = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
        case .apart(let type, let data):
            raw = Data(type.utf8) + [0] + data
            let parsed: Any? = data.isEmpty ? [String: Any]() : try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            object = parsed.map { ["type": type, "data": $0] }
        }
        let canonical = object.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]) } ?? raw
        return SHA256.hash(data: canonical).prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    /// Decodes a whole request body.
    public init(envelope body: Data) throws(EngineError) {
        do {
            let command = try JSONDecoder().decode(Envelope.self, from: body).command
            var decoded = command.decoded
            if case .failure(let error) = decoded, error.code == Self.malformedData.code, let fault = NumberFault.first(in: body, under: "data") {
                decoded = .failure(fault)
            }
            if let path = DuplicateKey.first(in: body) {
                guard path.count > 1, path[0] == "data" else { throw DuplicateKey.fault(path) }
                decoded = .failure(DuplicateKey.fault(Array(path.dropFirst()), under: "data"))
            }
            self.init(type: command.type, expectedVersion: command.expectedVersion, decoded: decoded, source: .envelope(body))
        } catch let error as EngineError {
            throw error
        } catch {
            throw EngineError(.invalidInput, code: "malformed_json", "the body must be a JSON object {\"type\", \"data\"}")
        }
    }

    /// `data` given apart (the CLI, the demo shop, tests). Empty bytes are `{}`.
    public init(type: String, data: Data, expectedVersion: UInt64? = nil) {
        self.type = type
        self.expectedVersion = expectedVersion
        source = .apart(type: type, data: data)
        guard let handler = Engine.handlers[type] else {
            decoded = .failure(Self.unknown(type))
            return
        }
        do {
            let input = try JSONDecoder().decode(Input.self, from: data.isEmpty ? Data("{}".utf8) : data, configuration: handler).value
            if let path = DuplicateKey.first(in: data) { throw DuplicateKey.fault(path, under: "data") }
            decoded = .success((handler, input))
        } catch {
            let fault = Self.invalid(error, under: [])
            decoded = .failure(fault.code == Self.malformedData.code ? NumberFault.first(in: data, under: nil) ?? fault : fault)
        }
    }

    private init(type: String, expectedVersion: UInt64?, decoded: Result<(handler: Engine.Handler, input: any Sendable), EngineError>,
                 source: Source) {
        self.type = type
        self.expectedVersion = expectedVersion
        self.decoded = decoded
        self.source = source
    }

    private static func unknown(_ type: String) -> EngineError {
        EngineError(.invalidInput, code: "unknown_command", "unknown command type \(LogLimits.shown(type))", details: ["type": LogLimits.shown(type)])
    }

    /// A decoding fault in `data` as the caller should read it: the field's path below `data`.
    static func invalid(_ error: any Error, under prefix: [any CodingKey]) -> EngineError {
        if let error = error as? EngineError { return error }
        guard let error = error as? DecodingError else { return malformedData }
        func field(_ keys: [any CodingKey]) -> String {  // `address.city`, `items[0].goodsId`
            fieldName(keys.dropFirst(prefix.count).map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue })
        }
        func named(_ keys: [any CodingKey]) -> String { (["data"] + [field(keys)].filter { !$0.isEmpty }).joined(separator: ".") }
        switch error {
        case let .keyNotFound(key, context):
            let path = context.codingPath + [key]
            return EngineError(.invalidInput, code: "missing_field", "\(named(path)) is required", details: ["field": field(path)])
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            if context.codingPath.count == prefix.count {
                return EngineError(.invalidInput, code: "wrong_type", "data must be an object", details: ["field": "data"])
            }
            return EngineError(.invalidInput, code: "wrong_type", "\(named(context.codingPath)) has the wrong type", details: ["field": field(context.codingPath)])
        case let .dataCorrupted(context):
            if context.codingPath.count <= prefix.count { return malformedData }  // no field: the bytes themselves
            return EngineError(.invalidInput, code: "invalid_value", "\(named(context.codingPath)): \(context.debugDescription)",
                               details: ["field": field(context.codingPath)])
        @unknown default:
            return malformedData
        }
    }

    /// Decodes `D` from JSON bytes, faults as `invalid` reads them.
    static func decode<D: Decodable>(_ type: D.Type, _ data: Data) throws(EngineError) -> D {
        do {
            return try JSONDecoder().decode(D.self, from: data)
        } catch {
            throw invalid(error, under: [])
        }
    }

    private static var malformedData: EngineError { EngineError(.invalidInput, code: "malformed_json", "the command data is not valid JSON") }

    /// `data` alone, decoded by its handler.
    private struct Input: DecodableWithConfiguration {
        let value: any Sendable
        init(from decoder: any Decoder, configuration handler: Engine.Handler) throws { value = try handler.decode(decoder) }
    }

    private struct Envelope: Decodable {
        let command: DecodedCommand

        private enum Key: String, CodingKey { case type, data, expectedVersion }

        init(from decoder: any Decoder) throws {
            let container: KeyedDecodingContainer<Key>
            do {
                container = try decoder.container(keyedBy: Key.self)
            } catch {
                throw EngineError(.invalidInput, code: "malformed_json", "the body must be a JSON object {\"type\", \"data\"}")
            }
            guard container.contains(.type) else {
                throw EngineError(.invalidInput, code: "missing_field", "type is required", details: ["field": "type"])
            }
            let type: String
            let expectedVersion: UInt64?
            do {
                type = try container.decode(String.self, forKey: .type)
            } catch {
                throw EngineError(.invalidInput, code: "wrong_type", "type must be a string", details: ["field": "type"])
            }
            do {
                expectedVersion = try container.decodeIfPresent(UInt64.self, forKey: .expectedVersion)
            } catch {
                throw EngineError(.invalidInput, code: "wrong_type", "expectedVersion must be a non-negative integer", details: ["field": "expectedVersion"])
            }
            guard let handler = Engine.handlers[type], container.contains(.data) else {
                command = DecodedCommand(type: type, data: Data(), expectedVersion: expectedVersion)  // unknown, or no data: `{}`
                return
            }
            do {
                command = DecodedCommand(type: type, expectedVersion: expectedVersion,
                                         decoded: .success((handler, try handler.decode(try container.superDecoder(forKey: .data)))),
                                         source: .envelope(Data()))  // the whole body is the source; set by `init(envelope:)`
            } catch {
                command = DecodedCommand(type: type, expectedVersion: expectedVersion,
                                         decoded: .failure(DecodedCommand.invalid(error, under: container.codingPath + [Key.data])),
                                         source: .envelope(Data()))
            }
        }
    }
}
