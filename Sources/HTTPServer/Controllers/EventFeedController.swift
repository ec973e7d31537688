import CommandAPI
import CommandEngine
import Commerce
import HTTPTypes
import History
import Hummingbird
import ServiceLifecycle

/// `GET /v1/events`: the log as Server-Sent Events, for integrations. `id:`
/// is the position, so a client resumes with `Last-Event-ID`; filters by event
/// type and stream prefix; admins, and API keys with `events:read`. Personal
/// fields are hidden and secrets redacted: the feed is for systems, not for
/// reading customers' data.
struct EventFeedController: Sendable {
    static let feedEventsMax = 1_000_000
    let audit: AuditDesk

    func register(on endpoints: Endpoints) {
        endpoints.on(
            .get, "/v1/events", "events", "Server-Sent Events from a position (?from=&type=&streamPrefix=&limit=; Last-Event-ID)",
            access: .role(.admin, scope: .eventsRead),
            parameters: [
                .query("from", .integer(0), "the first position to send (default 1)"),
                .query("type", .string(maxLength: 255), "only events of this type"),
                .query("streamPrefix", .string(maxLength: 255), "only streams whose names start so (`order-`)"),
                .limit(default: Self.feedEventsMax, max: Self.feedEventsMax),
                Parameter(
                    name: "Last-Event-ID", location: .header, schema: .integer(0),
                    summary: "resume after this event (the `id` of the last event received); wins over from"),
            ], textAnswers: ["text/event-stream"], events)
    }

    @Sendable func events(_ request: Request, _ context: AppRequestContext) throws -> Response {
        let query = request.uri.queryParameters
        var from: UInt64 = 1
        if let text = query.get("from") {
            guard let position = UInt64(text) else { throw Responses.badQuery("from", "must be a position (an integer from 0)") }
            from = max(position, 1)
        }
        // A client that has not received any event yet may send the header empty.
        if let text = request.headers[HTTPField.Name("Last-Event-ID") ?? .via], !text.isEmpty {
            guard let last = UInt64(text), last < UInt64.max else {
                throw Responses.badQuery("Last-Event-ID", "must be the id of an event this feed sent (a position)")
            }
            from = last + 1
        }
        let limit =
            try query.get("limit").map { text in
                guard let value = Int(text), (1...Self.feedEventsMax).contains(value) else {
                    throw Responses.badQuery("limit", "must be 1…\(Self.feedEventsMax)")
                }
                return value
            } ?? Self.feedEventsMax
        let feed = audit.feed(from: from, type: query.get("type"), streamPrefix: query.get("streamPrefix"))
        let body = ResponseBody { writer in
            var sent = 0
            // A graceful shutdown ends the stream (the server would otherwise wait for it forever).
            for try await event in feed.cancelOnGracefulShutdown() {
                try await writer.write(ByteBuffer(bytes: Self.serverSentEvent(event)))
                sent += 1
                if sent >= limit { break }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    /// One event as SSE: its position as the id, its type as the event, its JSON as the data.
    static func serverSentEvent(_ event: FeedEvent) -> [UInt8] {
        Array("id: \(event.position)\nevent: \(event.type)\ndata: ".utf8) + event.json + Array("\n\n".utf8)
    }
}
