import CommandAPI
import CommandEngine
import Commerce
import Hummingbird
import ReadModels

/// Admins' lists (API keys, merchant applications) and the read models' upkeep.
struct AdminController: Sendable {
    let engine: Engine
    let projector: Projector?

    func register(on endpoints: Endpoints) {
        endpoints.get(
            "/v1/admin/api-keys", "apiKeys", "Admins: every API key issued, newest first (never its secret)",
            access: .role(.admin, scope: nil), answer: .of([ApiKeyView].self)
        ) { _, _ in
            try Responses.json(engine.apiKeys())
        }
        endpoints.get(
            "/v1/admin/merchant-applications", "merchantApplications",
            "Admins: applications to become a merchant (status=pending|approved|rejected)", access: .role(.admin, scope: nil),
            parameters: [.query("status", .oneOf(["pending", "approved", "rejected"]), "only these")],
            answer: .of([MerchantApplicationView].self)
        ) { request, _ in
            let status = try request.uri.queryParameters.get("status").map { text in
                guard let status = MerchantApplication.Status(rawValue: text) else {
                    throw Responses.badQuery("status", "must be pending, approved or rejected")
                }
                return status
            }
            return try Responses.json(engine.merchantApplications(status: status))
        }
        let hooks = Access.role(.admin, scope: .webhooksManage)
        endpoints.get(
            "/v1/admin/webhooks", "webhooks",
            "Admins: every webhook with its checkpoint, lag, deliveries and dead letters (RegisterWebhook shows its secret once)",
            access: hooks, answer: .of([WebhookView].self)
        ) { _, context in
            try Responses.json(engine.webhooks(for: context.caller))
        }
        endpoints.get(
            "/v1/admin/webhooks/:webhookId", "webhook", "Admins: one webhook with its dead letters", access: hooks,
            answer: .of(WebhookView.self)
        ) { _, context in
            guard let id = context.parameters.get("webhookId").flatMap(WebhookId.init) else {
                throw EngineError(.domain(.webhookNotFound), "no such webhook")
            }
            return try Responses.json(engine.webhook(id, for: context.caller))
        }
        let keepers = Access.role(.admin, scope: .projectionsManage)
        endpoints.get(
            "/v1/admin/projections", "projections", "Admins: each projection's checkpoint, lag and size", access: keepers,
            answer: .of([ProjectionStatus].self)
        ) {
            _, _ in
            try Responses.json(try requireProjector().status())
        }
        endpoints.post(
            "/v1/admin/projections/:name/rebuild", "rebuildProjection", "Admins: rebuild a projection (or all) beside the serving one",
            access: keepers, answer: .of([ProjectionStatus].self), rebuild)
        endpoints.post(
            "/v1/admin/recommendations/train", "trainRecommendations",
            "Admins: train the recommender's factor model now, in the background, on the log as folded (its status says when it is done)",
            access: keepers, answer: .of([ProjectionStatus].self)
        ) { _, _ in
            let projector = try requireProjector()
            _ = try projector.requestBackgroundWork(RecommendProjection.name)
            return try Responses.json(try projector.status().filter { $0.name == RecommendProjection.name })
        }
    }

    func requireProjector() throws -> Projector {
        guard let projector else { throw ReadModelReads.projectionsOff }
        return projector
    }

    @Sendable func rebuild(_ request: Request, _ context: AppRequestContext) throws -> Response {
        let projector = try requireProjector()
        let projection = context.parameters.get("name") ?? ""
        let names = projection == "all" ? projector.names : [projection]
        guard projection == "all" || Projections.named(projection) != nil else {
            throw EngineError(
                .projectionNotFound,
                "no projection \(EngineError.shown(projection)); one of: all, \(projector.names.joined(separator: ", "))")
        }
        do {
            for name in names { try projector.startRebuild(name) }
        } catch let error as ProjectionError {
            throw EngineError(.rebuildRunning, error.description)
        }
        return try Responses.json(try projector.status().filter { names.contains($0.name) })
    }
}
