import Commerce
import Engine
import EventLog
import Foundation
import History
import Hummingbird

extension Routes {
    /// `GET /v1/audit/events`: events filtered by stream, actor, type,
    /// correlation id and time range, a page at a time by position. Admins only.
    func auditEvents(_ request: Request) throws -> Response {
        try requireAdmin(request)
        let parameters = request.uri.queryParameters
        var query = AuditQuery()
        query.stream = parameters.get("stream")
        query.actor = parameters.get("actor")
        query.type = parameters.get("type")
        if let text = parameters.get("correlationId") {
            guard let id = UUID(uuidString: text) else { throw Self.badQuery("correlationId", "must be a UUID") }
            query.correlationId = id
        }
        query.from = try parameters.get("from").map { try Self.time($0, "from") }
        query.to = try parameters.get("to").map { try Self.time($0, "to") }
        try page(request, into: &query)
        return try auditPage(Auditor(log: engine.log).query(query))
    }

    /// `GET /v1/audit/streams/{stream}`: one stream's history.
    func auditStream(_ request: Request, _ context: BasicRequestContext) throws -> Response {
        try requireAdmin(request)
        guard let stream = context.parameters.get("stream"), (try? StreamName(stream)) != nil else {
            throw EngineError(.invalidInput, code: "invalid_stream", "not a stream name")
        }
        var query = AuditQuery()
        query.stream = stream
        try page(request, into: &query)
        return try auditPage(Auditor(log: engine.log).query(query))
    }

    /// `GET /v1/audit/digest`: the head position and hash, so an outside party
    /// can later hold the shop to its past (every earlier event is chained into it).
    func auditDigest(_ request: Request) throws -> Response {
        try requireAdmin(request)
        let head = try engine.log.head()
        return try json(["position": String(head.position), "hash": head.hash.hex, "recordedAt": head.recordedAt?.description ?? ""])
    }

    private func requireAdmin(_ request: Request) throws {
        guard try engine.currentActor(try actor(request)).isAdmin else { throw EngineError(.forbidden, "audit queries are for admins") }
    }

    private func page(_ request: Request, into query: inout AuditQuery) throws {
        let parameters = request.uri.queryParameters
        if let text = parameters.get("after") {
            guard let after = UInt64(text) else { throw Self.badQuery("after", "must be a position") }
            query.after = after
        }
        if let text = parameters.get("limit") {
            guard let limit = Int(text), (1...AuditQuery.pageSizeMax).contains(limit) else {
                throw Self.badQuery("limit", "must be 1…\(AuditQuery.pageSizeMax)")
            }
            query.limit = limit
        }
    }

    private func auditPage(_ page: AuditPage) throws -> Response {
        let presenter = EventPresenter(cipher: engine.vault)
        var body = Array("{\"events\":[".utf8)
        for (index, event) in page.events.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body += try presenter.jsonLine(event)
        }
        body += Array("],\"next\":\(page.next.map(String.init) ?? "null")}".utf8)
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    private static func time(_ text: String, _ field: String) throws -> Timestamp {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Timestamp(date) }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return Timestamp(date) }
        throw badQuery(field, "must be an ISO-8601 time such as 2026-06-01T12:00:00Z")
    }

    /// `reason` reads after the field's name: "limit" + "must be 1…100".
    static func badQuery(_ field: String, _ reason: String) -> EngineError {
        EngineError(.invalidInput, code: "invalid_query", "\(field) \(reason)", details: ["field": field])
    }
}
