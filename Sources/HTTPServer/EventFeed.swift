import Commerce
import CommandEngine
import EventStore
import Foundation
import History
import HTTPTypes
import Hummingbird
import ServiceLifecycle

extension Routes {
    static let feedEventsMax = 1_000_000

    /// `GET /v1/events`: the log as Server-Sent Events, for integrations.
    /// `id:` is the position, so a client resumes with `Last-Event-ID`; filters
    /// by event type and stream prefix; admins, and API keys with `events:read`.
    /// Personal fields are hidden and secrets redacted: the feed is for systems, not for reading customers' data.
    func events(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        var from: UInt64 = 1
        if let text = query.get("from") {
            guard let position = UInt64(text) else { throw Self.badQuery("from", "must be a position (an integer from 0)") }
            from = max(position, 1)
        }
        // A client that has not received any event yet may send the header empty.
        if let text = request.headers[HTTPField.Name("Last-Event-ID") ?? .via], !text.isEmpty {
            guard let last = UInt64(text), last < UInt64.max else {
                throw Self.badQuery("Last-Event-ID", "must be the id of an event this feed sent (a position)")
            }
            from = last + 1
        }
        let type = query.get("type")
        let prefix = query.get("streamPrefix")
        let limit = try query.get("limit").map { text in
            guard let value = Int(text), (1...Self.feedEventsMax).contains(value) else {
                throw Self.badQuery("limit", "must be 1…\(Self.feedEventsMax)")
            }
            return value
        } ?? Self.feedEventsMax
        let subscription = engine.log.subscribe(from: from) { event in
            (type == nil || event.type == type) && (prefix == nil || event.stream.rawValue.hasPrefix(prefix ?? ""))
        }
        let presenter = EventPresenter(cipher: HiddenPersonalData(), redactingSecrets: true)
        let body = ResponseBody { writer in
            var sent = 0
            // A graceful shutdown ends the stream (the server would otherwise wait for it forever).
            for try await event in subscription.cancelOnGracefulShutdown() {
                try await writer.write(ByteBuffer(bytes: Self.serverSentEvent(event, presenter: presenter)))
                sent += 1
                if sent >= limit { break }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    /// One event as SSE: its header fields and `payload`, the decoded event (personal fields hidden, secrets redacted).
    static func serverSentEvent(_ event: RecordedEvent, presenter: EventPresenter) -> [UInt8] {
        var envelope: [String: Any] = [
            "position": event.position, "stream": event.stream.rawValue, "version": event.version, "type": event.type,
            "schemaVersion": event.schemaVersion, "recordedAt": event.recordedAt.description, "actor": event.metadata.actor,
            "correlationId": event.metadata.correlationId.uuidString.lowercased(),
        ]
        envelope["payload"] = (try? JSONSerialization.jsonObject(with: Data(presenter.data(event)))) ?? Data(event.payload).base64EncodedString()
        let data = (try? JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys])) ?? Data()
        return Array("id: \(event.position)\nevent: \(event.type)\ndata: ".utf8) + Array(data) + Array("\n\n".utf8)
    }
}
