import CommandAPI
import CommandEngine
import Hummingbird
import ReadModels

/// Health, metrics and the contract: what operators and integrators read.
struct OperationsController: Sendable {
    let engine: Engine
    let projector: Projector?
    let metrics: ServerMetrics
    let version: String
    let startedAt: ContinuousClock.Instant
    let routes: RouteTable

    struct Health: Codable {
        /// `ok`; `degraded` (still 200: reads are served) on a node whose log of record does not answer, so commands are
        /// refused with `log_unavailable`; or `unhealthy` (answered with 503) when the log cannot be read or written,
        /// its newest record does not check, or a read model cannot be folded.
        var status: String
        var version: String
        var uptimeSeconds: Int64
        var headPosition: UInt64
        var problems: [String]
        var projections: [ProjectionStatus]
        var projectorFailure: String?
        /// On a node of a cluster: whether its log of record answers.
        var logOfRecord: LogOfRecord?
    }

    struct LogOfRecord: Codable {
        /// True while PostgreSQL answers; commands are refused while it does not.
        var answers: Bool
        /// How long it has not answered: how stale this node's reads may be (they carry `X-Emporium-Stale-Seconds`).
        var unansweredSeconds: Double?
        var failure: String?
    }

    func register(on endpoints: Endpoints) {
        endpoints.on(
            .get, "/health", "health", "Liveness and the log head (503 with the same answer when unhealthy)", access: .anyone,
            answer: .of(Health.self), answersUnavailableWithItsSchema: true
        ) { _, _ in try health() }
        endpoints.on(.get, "/metrics", "metrics", "Prometheus metrics", access: .anyone, textAnswers: ["text/plain"]) { _, _ in
            let body = metrics.render(
                headPosition: engine.headPosition, projections: try projector?.status() ?? [], folded: projector?.foldedEvents ?? [:],
                logOfRecord: engine.logOfRecordCounters)
            return Responses.bytes(body, contentType: "text/plain; version=0.0.4")
        }
        endpoints.get("/openapi.json", "openapi", "This contract (OpenAPI 3.1)", answer: Schema(.object)) { _, _ in
            Responses.bytes(OpenAPI.document(routes.all), contentType: "application/json")
        }
    }

    /// 200 when the log reads and writes and its newest record checks and every read model folds; 503 otherwise.
    func health() throws -> Response {
        var problems = engine.storageProblems()
        if let failure = projector?.failure { problems.append("a read model cannot be folded: \(failure)") }
        var projections: [ProjectionStatus] = []
        do {
            projections = try projector?.status() ?? []
        } catch {
            problems.append("the read models' status cannot be read: \(error)")
        }
        let uptime = ContinuousClock.now - startedAt
        let ofRecord = engine.logOfRecordStatus
        let degraded = ofRecord.map { !$0.answers } ?? false
        let health = Health(
            status: !problems.isEmpty ? "unhealthy" : degraded ? "degraded" : "ok", version: version,
            uptimeSeconds: uptime.components.seconds, headPosition: engine.headPosition, problems: problems,
            projections: projections, projectorFailure: projector?.failure,
            logOfRecord: ofRecord.map { status in
                LogOfRecord(
                    answers: status.answers,
                    unansweredSeconds: status.unansweredFor.map { Double($0.nanoseconds) / 1e9 },
                    failure: status.failure)
            })
        var response = try Responses.json(health)
        if !problems.isEmpty { response.status = .serviceUnavailable }
        return response
    }
}
