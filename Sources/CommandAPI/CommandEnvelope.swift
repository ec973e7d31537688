import CommandEngine
import Crypto
import EventStore
import Foundation

/// A command read from a request body `{"type", "data", "expectedVersion"}`
/// in one JSON pass: `data` is decoded straight into the typed `Command`
/// that `type` names, while the envelope is read. The wire format lives here,
/// at the HTTP edge; the engine takes typed commands only.
///
/// The envelope's own faults (not JSON, not an object, no `type`, a bad
/// `expectedVersion`) throw when it is decoded; an unknown type or invalid
/// `data` is kept in `command` and thrown when it is asked for, so a caller
/// is authenticated (and their access to the command's kind checked) before
/// their command's fields are judged.
public struct CommandEnvelope: Sendable {
    public let type: String
    /// The command's kind, when `type` names one.
    public var kind: CommandKind? { CommandKind(rawValue: type) }
    /// The version the caller saw of the stream the command changes first.
    public let expectedVersion: UInt64?
    /// The typed command, or why there is none (an unknown type, invalid data).
    public let command: Result<Command, EngineError>
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
    public var fingerprint: String {
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
        let canonical =
            object.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]) } ?? raw
        return SHA256.hash(data: canonical).prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    /// Decodes a whole request body.
    public init(envelope body: Data) throws(EngineError) {
        do {
            let command = try JSONDecoder().decode(Envelope.self, from: body).command
            var decoded = command.command
            if case .failure(let error) = decoded, error.code == Self.malformedData.code,
                let fault = NumberFault.first(in: body, under: "data")
            {
                decoded = .failure(fault)
            }
            if let path = DuplicateKey.first(in: body) {
                guard path.count > 1, path[0] == "data" else { throw DuplicateKey.fault(path) }
                decoded = .failure(DuplicateKey.fault(Array(path.dropFirst()), under: "data"))
            }
            self.init(type: command.type, expectedVersion: command.expectedVersion, command: decoded, source: .envelope(body))
        } catch let error as EngineError {
            throw error
        } catch {
            throw EngineError(.malformedJSON, "the body must be a JSON object {\"type\", \"data\"}")
        }
    }

    /// `data` given apart (tests of the wire format). Empty bytes are `{}`.
    public init(type: String, data: Data, expectedVersion: UInt64? = nil) {
        self.type = type
        self.expectedVersion = expectedVersion
        source = .apart(type: type, data: data)
        guard let kind = CommandKind(rawValue: type) else {
            command = .failure(Self.unknown(type))
            return
        }
        do {
            let command = try JSONDecoder().decode(Input.self, from: data.isEmpty ? Data("{}".utf8) : data, configuration: kind).command
            if let path = DuplicateKey.first(in: data) { throw DuplicateKey.fault(path, under: "data") }
            self.command = .success(command)
        } catch {
            let fault = Self.invalid(error, under: [])
            command = .failure(fault.code == Self.malformedData.code ? NumberFault.first(in: data, under: nil) ?? fault : fault)
        }
    }

    private init(type: String, expectedVersion: UInt64?, command: Result<Command, EngineError>, source: Source) {
        self.type = type
        self.expectedVersion = expectedVersion
        self.command = command
        self.source = source
    }

    private static func unknown(_ type: String) -> EngineError {
        EngineError(.unknownCommand, "unknown command type \(LogLimits.shown(type))", details: ["type": LogLimits.shown(type)])
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
            return EngineError(.missingField, "\(named(path)) is required", details: ["field": field(path)])
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            if context.codingPath.count == prefix.count {
                return EngineError(.wrongType, "data must be an object", details: ["field": "data"])
            }
            return EngineError(.wrongType, "\(named(context.codingPath)) has the wrong type", details: ["field": field(context.codingPath)])
        case let .dataCorrupted(context):
            if context.codingPath.count <= prefix.count { return malformedData }  // no field: the bytes themselves
            return EngineError(
                .invalidValue, "\(named(context.codingPath)): \(context.debugDescription)",
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

    private static var malformedData: EngineError { EngineError(.malformedJSON, "the command data is not valid JSON") }

    /// `data` alone, decoded as the input of a kind.
    private struct Input: DecodableWithConfiguration {
        let command: Command
        init(from decoder: any Decoder, configuration kind: CommandKind) throws {
            command = try CommandEnvelope.command(kind, from: decoder)
        }
    }

    private struct Envelope: Decodable {
        let command: CommandEnvelope

        private enum Key: String, CodingKey { case type, data, expectedVersion }

        init(from decoder: any Decoder) throws {
            let container: KeyedDecodingContainer<Key>
            do {
                container = try decoder.container(keyedBy: Key.self)
            } catch {
                throw EngineError(.malformedJSON, "the body must be a JSON object {\"type\", \"data\"}")
            }
            guard container.contains(.type) else {
                throw EngineError(.missingField, "type is required", details: ["field": "type"])
            }
            let type: String
            let expectedVersion: UInt64?
            do {
                type = try container.decode(String.self, forKey: .type)
            } catch {
                throw EngineError(.wrongType, "type must be a string", details: ["field": "type"])
            }
            do {
                expectedVersion = try container.decodeIfPresent(UInt64.self, forKey: .expectedVersion)
            } catch {
                throw EngineError(.wrongType, "expectedVersion must be a non-negative integer", details: ["field": "expectedVersion"])
            }
            guard let kind = CommandKind(rawValue: type), container.contains(.data) else {
                command = CommandEnvelope(type: type, data: Data(), expectedVersion: expectedVersion)  // unknown, or no data: `{}`
                return
            }
            do {
                command = CommandEnvelope(
                    type: type, expectedVersion: expectedVersion,
                    command: .success(try CommandEnvelope.command(kind, from: try container.superDecoder(forKey: .data))),
                    source: .envelope(Data()))  // the whole body is the source; set by `init(envelope:)`
            } catch {
                command = CommandEnvelope(
                    type: type, expectedVersion: expectedVersion,
                    command: .failure(CommandEnvelope.invalid(error, under: container.codingPath + [Key.data])),
                    source: .envelope(Data()))
            }
        }
    }
}
