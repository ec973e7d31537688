import Commerce
import EventStore
import Foundation

/// What the HTTP edge asks of the log's history, without reaching the log:
/// audit pages presented for people (secrets redacted, personal fields
/// hidden or opened), the head digest, and the live event feed.
public struct AuditDesk: Sendable {
    let log: EventLog
    /// Opens personal fields when an admin asks to see them (the key vault).
    private let opener: any PersonalDataCipher

    public init(log: EventLog, opener: any PersonalDataCipher) {
        self.log = log
        self.opener = opener
    }

    /// One page of an audit query as JSON `{"events": [...], "next": …}`. With
    /// `revealing`, personal fields are opened and `revealed` names whose were,
    /// at which positions (the caller records that before answering);
    /// otherwise they read as hidden.
    public func page(_ query: AuditQuery, revealing: Bool) throws -> (json: [UInt8], revealed: [UserId: [UInt64]]) {
        let page = try Auditor(log: log).query(query)
        let recorder = revealing ? DisclosureRecorder(vault: opener) : nil
        let presenter = EventPresenter(cipher: recorder ?? HiddenPersonalData(), redactingSecrets: true)
        var revealed: [UserId: [UInt64]] = [:]
        var body = Array("{\"events\":[".utf8)
        for (index, event) in page.events.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body += try presenter.jsonLine(event)
            for owner in recorder?.takeOpened() ?? [] { revealed[owner, default: []].append(event.position) }
        }
        body += Array("],\"next\":\(page.next.map(String.init) ?? "null")}".utf8)
        return (body, revealed)
    }

    /// The head's position, hash and time: every earlier event is chained into the hash.
    public func digest() throws -> Digest {
        let head = try log.head()
        return Digest(position: head.position, hash: head.hash.hex, recordedAt: head.recordedAt?.description)
    }

    /// The log's head: its position (0 when empty), the chain hash there, and when it was recorded (none when empty).
    public struct Digest: Codable, Sendable, Equatable {
        public var position: UInt64
        public var hash: String
        public var recordedAt: String?
    }

    /// Whether `text` could name a stream (the audit route refuses what cannot).
    public static func isStreamName(_ text: String) -> Bool { (try? StreamName(text)) != nil }

    /// The events from `position` on, as they are appended, filtered by type and
    /// stream prefix; each presented with personal fields hidden and secrets redacted.
    public func feed(from position: UInt64, type: String?, streamPrefix: String?) -> some AsyncSequence<FeedEvent, any Error> & Sendable {
        let presenter = EventPresenter(cipher: HiddenPersonalData(), redactingSecrets: true)
        return log.subscribe(from: position) { event in
            (type == nil || event.type == type) && (streamPrefix == nil || event.stream.rawValue.hasPrefix(streamPrefix ?? ""))
        }.map { FeedEvent($0, presenter: presenter) }
    }
}

/// One event of the live feed: its position and type, and its header fields
/// with `payload` (the decoded event) as one JSON object.
public struct FeedEvent: Sendable {
    public let position: UInt64
    public let type: String
    public let json: [UInt8]

    init(_ event: RecordedEvent, presenter: EventPresenter) {
        position = event.position
        type = event.type
        var envelope: [String: Any] = [
            "position": event.position, "stream": event.stream.rawValue, "version": event.version, "type": event.type,
            "schemaVersion": event.schemaVersion, "recordedAt": event.recordedAt.description, "actor": event.metadata.actor,
            "correlationId": event.metadata.correlationId.uuidString.lowercased(),
        ]
        envelope["payload"] =
            (try? JSONSerialization.jsonObject(with: Data(presenter.data(event)))) ?? Data(event.payload).base64EncodedString()
        json = Array((try? JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys])) ?? Data())
    }
}

extension AuditQuery {
    /// An ISO-8601 time (`2026-06-01T12:00:00Z`, fractional seconds allowed), or nil.
    public static func time(_ text: String) -> Timestamp? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Timestamp(date) }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text).map(Timestamp.init)
    }
}
