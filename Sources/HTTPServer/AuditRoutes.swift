import Commerce
import CommandEngine
import EventStore
import Foundation
import History
import Hummingbird

extension Routes {
    /// `GET /v1/audit/events`: events filtered by stream, actor, type,
    /// correlation id and time range, a page at a time by position. Admins,
    /// and API keys with `audit:read`.
    func auditEvents(_ request: Request, caller: Actor?) async throws -> Response {
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
        let reveal = try revealsPersonalData(request, caller: caller)
        return try await auditPage(Auditor(log: engine.log).query(query), revealedTo: reveal, request: request)
    }

    /// `GET /v1/audit/streams/{stream}`: one stream's history.
    func auditStream(_ request: Request, _ context: AppRequestContext, caller: Actor?) async throws -> Response {
        guard let stream = context.parameters.get("stream"), (try? StreamName(stream)) != nil else {
            throw EngineError(.invalidStream, "not a stream name")
        }
        var query = AuditQuery()
        query.stream = stream
        try page(request, into: &query)
        let reveal = try revealsPersonalData(request, caller: caller)
        return try await auditPage(Auditor(log: engine.log).query(query), revealedTo: reveal, request: request)
    }

    /// `GET /v1/audit/digest`: the head position and hash, so an outside party
    /// can later hold the shop to its past (every earlier event is chained into it).
    func auditDigest() throws -> Response {
        let head = try engine.log.head()
        return try json(["position": String(head.position), "hash": head.hash.hex, "recordedAt": head.recordedAt?.description ?? ""])
    }

    /// `?reveal=personal` opens personal fields for an admin signed in as a
    /// person (never for an API key); without it they read as hidden.
    private func revealsPersonalData(_ request: Request, caller: Actor?) throws -> Actor? {
        guard let reveal = request.uri.queryParameters.get("reveal") else { return nil }
        guard reveal == "personal" else { throw Self.badQuery("reveal", "must be personal") }
        guard let caller, case .user(_, .admin) = caller else {
            throw EngineError(.forbidden, "personal data is revealed to admins signed in as people, not to API keys")
        }
        return caller
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

    /// The page as JSON, secrets redacted. Personal fields are hidden, or,
    /// for `viewer`, opened, and then whose they were is recorded in the log
    /// before the answer leaves (`PersonalDataRevealed`).
    private func auditPage(_ page: AuditPage, revealedTo viewer: Actor?, request: Request) async throws -> Response {
        let recorder = viewer.map { _ in DisclosureRecorder(vault: engine.vault) }
        let presenter = EventPresenter(cipher: recorder ?? HiddenPersonalData(), redactingSecrets: true)
        var subjects: [UserId: [UInt64]] = [:]
        var body = Array("{\"events\":[".utf8)
        for (index, event) in page.events.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body += try presenter.jsonLine(event)
            for owner in recorder?.takeOpened() ?? [] { subjects[owner, default: []].append(event.position) }
        }
        body += Array("],\"next\":\(page.next.map(String.init) ?? "null")}".utf8)
        if let viewer {
            let asked = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            try await engine.recordDisclosure(by: viewer, of: subjects, request: asked, correlationId: request.requestId)
        }
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
        EngineError(.invalidQuery, "\(field) \(reason)", details: ["field": field])
    }
}
