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

    /// Streams whose names start with `prefix`, with their event counts, paged by name (`after`).
    public func streams(prefix: String, after: String?, limit: Int) throws -> StreamPage {
        let page = try log.streams(prefix: prefix, after: after, limit: limit)
        return StreamPage(streams: page.streams, next: page.next)
    }

    /// One page of streams; `next` is the `after` of the next page (null on the last).
    public struct StreamPage: Codable, Sendable, Equatable {
        public var streams: [StreamSummary]
        public var next: String?

        private enum CodingKeys: String, CodingKey { case streams, next }

        /// `next` is written as null on the last page, as the audit pages write theirs.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(streams, forKey: .streams)
            try container.encode(next, forKey: .next)
        }
    }

    /// The categories of streams (`order`, `goods`, …) with how many streams each has.
    public func streamCategories() throws -> [Category] { try log.streamCategories() }

    public typealias Category = StreamCategory
    /// The most streams one page lists.
    public static let streamPageMax = EventLog.streamPageMax

    /// The whole chain check `emporium verify` makes (every record's hash, the chain, positions, versions, time,
    /// the indexes, and every event decoding), on this node's copy of the log.
    public func verify() throws -> Verification {
        let started = ContinuousClock.now
        let report = try ShopVerifier(log: log).verify()
        var problems = report.log.problems.map(\.description)
        if problems.isEmpty, let decode = report.decodeProblem { problems.append(decode) }
        return Verification(
            healthy: report.isHealthy, position: report.log.head.position, hash: report.log.head.hash.hex,
            eventsChecked: report.log.eventsChecked, streams: report.log.streamsSeen, aggregates: report.aggregates,
            problems: problems, milliseconds: Int(started.duration(to: .now).wholeMilliseconds))
    }

    /// What a chain check found: healthy or the problems (the first is the earliest broken position).
    public struct Verification: Codable, Sendable, Equatable {
        public var healthy: Bool
        /// The head it checked up to, and the chain hash there.
        public var position: UInt64
        public var hash: String
        public var eventsChecked: Int
        public var streams: Int
        /// Aggregates folded from the events (every event decoded).
        public var aggregates: Int
        public var problems: [String]
        /// How long the check took.
        public var milliseconds: Int
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

    public init(_ event: RecordedEvent, presenter: EventPresenter) {
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
