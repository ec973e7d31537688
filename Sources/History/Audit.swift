import Commerce
import EventCodec
import EventStore
import Foundation
import Synchronization

/// One event as audit queries and exports show it: every header field, the
/// stored payload byte for byte, and (in `data`) the decoded event with
/// personal fields opened, or erased when their owner's key is destroyed.
public struct EventRecord: Codable, Hashable, Sendable {
    public var position: UInt64
    public var stream: String
    public var version: UInt64
    public var type: String
    public var schemaVersion: UInt32
    public var eventId: UUID
    public var recordedAt: String
    public var recordedAtNanos: Int64
    public var actor: String
    public var correlationId: UUID
    public var causationId: UUID?
    public var idempotencyKey: String?
    public var prevHash: String
    public var hash: String
    /// The stored payload, exactly: JSON payloads (schema version 1, engine records) as text, binary ones (v2) in `payloadBase64`.
    public var payload: String?
    public var payloadBase64: String?
    /// True where the stored bytes were left out because they hold a secret (audit answers, the event feed).
    public var payloadWithheld: Bool?

    public init(_ event: RecordedEvent) {
        position = event.position
        stream = event.stream.rawValue
        version = event.version
        type = event.type
        schemaVersion = event.schemaVersion
        eventId = event.eventId
        recordedAt = event.recordedAt.description
        recordedAtNanos = event.recordedAt.nanosecondsSinceEpoch
        actor = event.metadata.actor
        correlationId = event.metadata.correlationId
        causationId = event.metadata.causationId
        idempotencyKey = event.metadata.idempotencyKey
        prevHash = event.previousHash.hex
        hash = event.hash.hex
        if event.payload.first == UInt8(ascii: "{"), let text = String(validating: event.payload, as: UTF8.self) {
            payload = text
        } else {
            payloadBase64 = Data(event.payload).base64EncodedString()
        }
    }

    mutating func withholdPayload() {
        payload = nil
        payloadBase64 = nil
        payloadWithheld = true
    }

    public var payloadBytes: [UInt8]? {
        if let payload { return Array(payload.utf8) }
        return payloadBase64.flatMap { Data(base64Encoded: $0) }.map { Array($0) }
    }

    private enum CodingKeys: String, CodingKey {
        case position, stream, version, type, schemaVersion, eventId, recordedAt, recordedAtNanos, actor
        case correlationId, causationId, idempotencyKey, prevHash, hash, payload, payloadBase64, payloadWithheld
    }

    /// Ids are written lowercase, as they are in stream names and payloads (Foundation's default is uppercase).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(position, forKey: .position)
        try container.encode(stream, forKey: .stream)
        try container.encode(version, forKey: .version)
        try container.encode(type, forKey: .type)
        try container.encode(schemaVersion, forKey: .schemaVersion)
        try container.encode(eventId.uuidString.lowercased(), forKey: .eventId)
        try container.encode(recordedAt, forKey: .recordedAt)
        try container.encode(recordedAtNanos, forKey: .recordedAtNanos)
        try container.encode(actor, forKey: .actor)
        try container.encode(correlationId.uuidString.lowercased(), forKey: .correlationId)
        try container.encodeIfPresent(causationId?.uuidString.lowercased(), forKey: .causationId)
        try container.encodeIfPresent(idempotencyKey, forKey: .idempotencyKey)
        try container.encode(prevHash, forKey: .prevHash)
        try container.encode(hash, forKey: .hash)
        try container.encodeIfPresent(payload, forKey: .payload)
        try container.encodeIfPresent(payloadBase64, forKey: .payloadBase64)
        try container.encodeIfPresent(payloadWithheld, forKey: .payloadWithheld)
    }

    public var metadata: EventMetadata {
        EventMetadata(actor: actor, correlationId: correlationId, causationId: causationId, idempotencyKey: idempotencyKey)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// One JSON line: the record, plus `data` (the decoded event) when given.
    public func jsonLine(data: [UInt8]?) throws -> [UInt8] {
        var line = Array(try Self.encoder.encode(self))
        guard let data, line.last == UInt8(ascii: "}") else { return line }
        line.removeLast()
        line += Array(",\"data\":".utf8) + data + [UInt8(ascii: "}")]
        return line
    }
}

/// Renders events for people: decoded payloads, personal fields opened with
/// the cipher given (or shown as erased, or hidden, as it says). With
/// `redactingSecrets` (audit answers, the event feed, `emporium audit`),
/// password hashes, salts and key digests read as redacted, and the stored
/// bytes of events that hold one are left out; an export keeps everything.
public struct EventPresenter: Sendable {
    public let cipher: (any PersonalDataCipher)?
    public let redactsSecrets: Bool
    private let decoder: JSONDecoder

    public init(cipher: (any PersonalDataCipher)?, redactingSecrets: Bool = false) {
        self.cipher = cipher
        redactsSecrets = redactingSecrets
        decoder = EventCodec.decoder(opening: cipher)
    }

    /// Keys of the engine's own records (idempotency answers) that hold
    /// something secret: a request's fingerprint (a fast hash of a body that
    /// may carry a password), a token or key secret stored before they were left out.
    static let engineSecretKeys: Set<String> = ["fingerprint", "token", "secret"]

    /// The event's fields as plain JSON; the raw payload for the engine's own
    /// streams; `{"undecodable":…}` when the payload does not decode.
    public func data(_ event: RecordedEvent) -> [UInt8] {
        guard AggregateKind(stream: event.stream.rawValue) != nil else {
            return redactsSecrets ? Self.redacting(Self.engineSecretKeys, in: event.payload) : event.payload
        }
        do {
            let decoded = try EventCodec.decode(
                type: event.type, schemaVersion: Int(event.schemaVersion), payload: event.payload, using: decoder)
            return EventCodec.json(decoded, redactingSecrets: redactsSecrets)
        } catch {
            let reason = (try? EventRecord.encoder.encode(["undecodable": "\(error)"])).map { Array($0) }
            return reason ?? Array("{}".utf8)
        }
    }

    /// Whether the event's stored bytes are left out: they hold a secret (or, for the engine's records, may).
    public func withholdsPayload(of event: RecordedEvent) -> Bool {
        redactsSecrets && (AggregateKind(stream: event.stream.rawValue) == nil || EventCodec.secretBearingTypes.contains(event.type))
    }

    public func jsonLine(_ event: RecordedEvent) throws -> [UInt8] {
        var record = EventRecord(event)
        if withholdsPayload(of: event) { record.withholdPayload() }
        return try record.jsonLine(data: data(event))
    }

    /// A JSON object with the values under `keys` (at any depth) replaced by `Secrets.redacted`; other bytes as they are.
    static func redacting(_ keys: Set<String>, in payload: [UInt8]) -> [UInt8] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload)) else { return payload }
        func redact(_ value: Any) -> Any {
            if let dictionary = value as? [String: Any] {
                return Dictionary(
                    uniqueKeysWithValues: dictionary.map { ($0.key, keys.contains($0.key) ? Secrets.redacted : redact($0.value)) })
            }
            if let array = value as? [Any] { return array.map(redact) }
            return value
        }
        let redacted = redact(object)
        return (try? JSONSerialization.data(withJSONObject: redacted, options: [.sortedKeys, .withoutEscapingSlashes])).map { Array($0) }
            ?? Array("{}".utf8)
    }
}

/// A cipher that opens nothing: personal fields read as hidden. Audit
/// answers and the event feed show events this way unless an admin asks to
/// reveal them.
public struct HiddenPersonalData: PersonalDataCipher {
    public init() {}
    public func seal(_ text: String, owner: UserId) throws -> String { throw TransferError("hidden personal data is never sealed") }
    public func open(_ sealed: String) -> String? { nil }
    public var unopenedText: String { PersonalData.hidden }
}

/// Opens personal fields with the vault and notes whose they were, so the
/// reveal can be recorded in the log ("who saw this customer's address").
public final class DisclosureRecorder: PersonalDataCipher {
    private let vault: any PersonalDataCipher
    private let opened = Mutex<Set<UserId>>([])

    public init(vault: any PersonalDataCipher) { self.vault = vault }

    public func seal(_ text: String, owner: UserId) throws -> String { throw TransferError("a disclosure recorder only opens") }

    public func open(_ sealed: String) -> String? {
        guard let text = vault.open(sealed) else { return nil }
        let start = PersonalData.sealedPrefix.count
        if let owner = UserId(String(sealed.dropFirst(start).prefix(36))) { opened.withLock { _ = $0.insert(owner) } }
        return text
    }

    /// The owners whose fields were opened since the last call.
    public func takeOpened() -> Set<UserId> {
        opened.withLock { opened in
            defer { opened = [] }; return opened
        }
    }
}

/// A filter over the log: every condition given must hold.
public struct AuditQuery: Hashable, Sendable {
    public static let pageSizeMax = 1_000
    public static let pageSizeDefault = 100

    public var stream: String?
    /// An actor as stored (`user:<id>:<role>`, `system`, `provider:<name>`), or `user:<id>` for every role of one user.
    public var actor: String?
    public var type: String?
    public var correlationId: UUID?
    public var from: Timestamp?
    public var to: Timestamp?
    /// Only events after this position (the cursor of the previous page).
    public var after: UInt64 = 0
    public var limit: Int = AuditQuery.pageSizeDefault

    public init() {}

    func matches(_ event: RecordedEvent) -> Bool {
        if let stream, event.stream.rawValue != stream { return false }
        if let type, event.type != type { return false }
        if let correlationId, event.metadata.correlationId != correlationId { return false }
        if let actor, !Self.actor(event.metadata.actor, matches: actor) { return false }
        if let from, event.recordedAt < from { return false }
        if let to, event.recordedAt > to { return false }
        return true
    }

    static func actor(_ stored: String, matches wanted: String) -> Bool {
        stored == wanted || (wanted.hasPrefix("user:") && wanted.split(separator: ":").count == 2 && stored.hasPrefix(wanted + ":"))
    }
}

public struct AuditPage: Sendable {
    public var events: [RecordedEvent]
    /// Pass as `after` for the next page; nil when this page is the last.
    public var next: UInt64?
}

/// Answers audit queries from the log's indexes: a stream, a correlation id,
/// an actor or a type narrows the read to that index's positions (the most
/// selective one given); a time range becomes a position range, since
/// `recordedAt` strictly increases with position.
public struct Auditor: Sendable {
    public let log: EventLog

    public init(log: EventLog) { self.log = log }

    public func query(_ query: AuditQuery) throws -> AuditPage {
        let limit = min(max(query.limit, 1), AuditQuery.pageSizeMax)
        let head = try log.head().position
        guard query.after < UInt64.max else { return AuditPage(events: [], next: nil) }  // nothing can follow it
        var start = query.after + 1
        if let from = query.from { start = max(start, try log.position(atOrAfter: from) ?? head + 1) }
        var end = head
        if let to = query.to { end = min(end, try log.position(atOrBefore: to)) }
        var found: [RecordedEvent] = []
        guard start <= end else { return AuditPage(events: [], next: nil) }
        let source = try self.source(for: query)
        var cursor = start
        // Fetch one more than the page so `next` is nil exactly when nothing follows. The
        // first read asks for just that many; when filters drop events, each next read doubles.
        var batch = limit + 1
        while found.count <= limit, cursor <= end {
            let page = try source(cursor, batch)
            for event in page where event.position <= end && query.matches(event) {
                found.append(event)
                if found.count > limit { break }
            }
            guard let last = page.last, page.count == batch, last.position < end else { break }
            cursor = last.position + 1
            batch = min(batch * 2, LogLimits.readPageEventsMax)
        }
        let more = found.count > limit
        if more { found.removeLast(found.count - limit) }
        return AuditPage(events: found, next: more ? found.last?.position : nil)
    }

    /// Reads events at or after a position, at most a count, from the narrowest index the query allows.
    private func source(for query: AuditQuery) throws -> (UInt64, Int) throws -> [RecordedEvent] {
        if let stream = query.stream {
            guard let name = try? StreamName(stream) else { return { _, _ in [] } }
            return { position, limit in
                let before = try log.version(of: name, at: position - 1)
                return try log.readStream(name, from: before + 1, limit: limit)
            }
        }
        if let id = query.correlationId { return { try log.events(correlatedWith: id, from: $0, limit: $1) } }
        if let actor = query.actor {
            let parts = actor.split(separator: ":")
            guard actor.hasPrefix("user:"), parts.count == 2 else { return { try log.events(byActor: actor, from: $0, limit: $1) } }
            let roles = Role.allCases.map { "\(actor):\($0.rawValue)" }
            return { position, limit in
                // Each role's chain is in position order; merged, the first `limit` are the page.
                let merged = try roles.flatMap { try log.events(byActor: $0, from: position, limit: limit) }.sorted {
                    $0.position < $1.position
                }
                return Array(merged.prefix(limit))
            }
        }
        if let type = query.type { return { try log.events(ofType: type, from: $0, limit: $1) } }
        return { try log.read(from: $0, limit: $1) }
    }
}

extension EventLog {
    /// The version `stream` had at `position` (0: it did not exist yet), by binary search over its versions.
    public func version(of stream: StreamName, at position: UInt64) throws -> UInt64 {
        guard let current = try streamVersion(stream), position > 0 else { return 0 }
        var low: UInt64 = 0
        var high = current
        while low < high {
            let middle = (low + high + 1) / 2
            guard let event = try readStream(stream, from: middle, limit: 1).first else { break }
            if event.position <= position { low = middle } else { high = middle - 1 }
        }
        return low
    }
}
