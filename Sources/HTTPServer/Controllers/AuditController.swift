import CommandAPI
import CommandEngine
import Commerce
import Foundation
import History
import Hummingbird

/// Who did what, when: events filtered and paged, one stream's history, and
/// the head digest. Admins, and API keys with `audit:read`. Secrets are
/// always redacted; personal fields are hidden unless an admin signed in as a
/// person asks `?reveal=personal`, and then the reveal is recorded in the log
/// (`PersonalDataRevealed`) before the answer leaves.
struct AuditController: Sendable {
    let engine: Engine
    let audit: AuditDesk

    /// Paging and revealing, the same for both audit reads.
    static let paging: [Parameter] = [
        .query("after", .integer(0), "the previous page's `next`: events after this position"),
        .limit(default: 100, max: AuditQuery.pageSizeMax),
        .query("reveal", .oneOf(["personal"]), "admins signed in as people: show personal fields (the reveal is recorded)"),
    ]

    func register(on endpoints: Endpoints) {
        let auditors = Access.role(.admin, scope: .auditRead)
        endpoints.get(
            "/v1/audit/events", "auditEvents",
            "Admins: events by stream, actor, type, correlationId, from, to (ISO-8601); paged by after= and limit=", access: auditors,
            parameters: [
                .query("stream", .string(maxLength: 255), "one stream"),
                .query("actor", .string(maxLength: 255), "who acted: a user id, system or anonymous"),
                .query("type", .string(maxLength: 255), "one event type"),
                .query("correlationId", .string(format: "uuid"), "one request's events"),
                .query("from", .string(format: "date-time"), "recorded at or after (RFC 3339)"),
                .query("to", .string(format: "date-time"), "recorded at or before (RFC 3339)"),
            ] + Self.paging, answer: .ref("AuditPage"), events)
        endpoints.get(
            "/v1/audit/streams/:stream", "auditStream", "Admins: one stream's history (after=, limit=)", access: auditors,
            parameters: Self.paging, answer: .ref("AuditPage"), stream)
        endpoints.get(
            "/v1/audit/streams", "auditStreams", "Admins: streams whose names start with prefix, with their event counts (paged by name)",
            access: auditors,
            parameters: [
                .query("prefix", .string(maxLength: 255), "the start of the streams' names: a category such as order- or a whole name"),
                .query("after", .string(maxLength: 255), "the previous page's `next`: streams named after this"),
                .limit(default: 100, max: AuditDesk.streamPageMax),
            ], answer: .of(AuditDesk.StreamPage.self)
        ) { request, _ in
            let parameters = request.uri.queryParameters
            let limit = try ReadModelReads.limit(parameters, default: 100, max: AuditDesk.streamPageMax)
            return try Responses.json(
                try audit.streams(prefix: parameters.get("prefix") ?? "", after: parameters.get("after"), limit: limit))
        }
        endpoints.get(
            "/v1/audit/categories", "auditCategories", "Admins: the categories of streams (order, goods, …) and how many streams each has",
            access: auditors, answer: .of([AuditDesk.Category].self)
        ) { _, _ in
            try Responses.json(try audit.streamCategories())
        }
        endpoints.post(
            "/v1/audit/verify", "auditVerify",
            "Admins: run the whole chain check (hashes, chain, positions, versions, indexes, every event decoding) and answer what it found",
            access: auditors, answer: .of(AuditDesk.Verification.self)
        ) { _, _ in
            try Responses.json(try audit.verify())
        }
        endpoints.get("/v1/audit/digest", "auditDigest", "Admins: the head position and hash", access: auditors, answer: .ref("Digest")) {
            _, _ in
            try Responses.json(try audit.digest())
        }
    }

    @Sendable func events(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        var query = AuditQuery()
        query.stream = parameters.get("stream")
        query.actor = parameters.get("actor")
        query.type = parameters.get("type")
        if let text = parameters.get("correlationId") {
            guard let id = UUID(uuidString: text) else { throw Responses.badQuery("correlationId", "must be a UUID") }
            query.correlationId = id
        }
        for (field, text) in [("from", parameters.get("from")), ("to", parameters.get("to"))] {
            guard let text else { continue }
            guard let time = AuditQuery.time(text) else {
                throw Responses.badQuery(field, "must be an ISO-8601 time such as 2026-06-01T12:00:00Z")
            }
            if field == "from" { query.from = time } else { query.to = time }
        }
        try Self.page(request, into: &query)
        return try await answer(query, request, context)
    }

    @Sendable func stream(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let stream = context.parameters.get("stream"), AuditDesk.isStreamName(stream) else {
            throw EngineError(.invalidStream, "not a stream name")
        }
        var query = AuditQuery()
        query.stream = stream
        try Self.page(request, into: &query)
        return try await answer(query, request, context)
    }

    private func answer(_ query: AuditQuery, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        let viewer = try Self.revealsPersonalData(request, caller: context.caller)
        let page = try audit.page(query, revealing: viewer != nil)
        if let viewer {
            let asked = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            try await engine.recordDisclosure(by: viewer, of: page.revealed, request: asked, correlationId: request.requestId)
        }
        return Responses.bytes(page.json)
    }

    /// `?reveal=personal` opens personal fields for an admin signed in as a
    /// person (never for an API key); without it they read as hidden.
    static func revealsPersonalData(_ request: Request, caller: Actor?) throws -> Actor? {
        guard let reveal = request.uri.queryParameters.get("reveal") else { return nil }
        guard reveal == "personal" else { throw Responses.badQuery("reveal", "must be personal") }
        guard let caller, case .user(_, .admin) = caller else {
            throw EngineError(.forbidden, "personal data is revealed to admins signed in as people, not to API keys")
        }
        return caller
    }

    static func page(_ request: Request, into query: inout AuditQuery) throws {
        let parameters = request.uri.queryParameters
        if let text = parameters.get("after") {
            guard let after = UInt64(text) else { throw Responses.badQuery("after", "must be a position") }
            query.after = after
        }
        if let text = parameters.get("limit") {
            guard let limit = Int(text), (1...AuditQuery.pageSizeMax).contains(limit) else {
                throw Responses.badQuery("limit", "must be 1…\(AuditQuery.pageSizeMax)")
            }
            query.limit = limit
        }
    }
}
