import Commerce
import CommandAPI
import CommandEngine
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ReadModels
import ServiceLifecycle

/// How the server listens and what it accepts.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Larger command bodies are refused with 413.
    public var bodyBytesMax = 64 << 10
    /// A connection that sends no complete request part for this long is
    /// closed: an idle keep-alive connection, or one that opened and never
    /// finished its headers (a slow-loris client holding sockets). A response
    /// being written, such as the event feed's stream, is never cut.
    public var idleTimeout = Duration.seconds(60)
    /// The sandbox provider's secret, used by the demo checkout route to sign its callback.
    public var sandboxSecret: [UInt8]
    /// Commands per second one signed-in caller may send (bursts of twice that); more get 429.
    public var commandsPerSecondPerCaller: Double = 200
    /// The same for all anonymous callers together (RegisterUser, Login).
    public var anonymousCommandsPerSecond: Double = 2_000
    /// How long a query with `?after=` waits for its read model before answering 503.
    public var readYourWritesWaitMax = Duration.seconds(5)
    /// The version `/health` reports.
    public var version = "dev"

    public init(sandboxSecret: [UInt8]) { self.sandboxSecret = sandboxSecret }
}

/// The composition root shared by `emporium serve` and the tests: the HTTP
/// server, with `services` (the read models' follower, order expiry) run in
/// its service group, shut down after the server has stopped taking requests.
public func buildApplication(engine: Engine, projector: Projector?, configuration: ServerConfiguration, metrics: ServerMetrics = ServerMetrics(),
                             services: [any Service] = [], logger: Logger = Logger(label: "emporium.http"),
                             onServerRunning: @escaping @Sendable () async -> Void = {}) -> some ApplicationProtocol {
    Application(router: buildRouter(engine: engine, projector: projector, configuration: configuration, metrics: metrics, logger: logger),
                server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(configuration.idleTimeout / .nanoseconds(1))))),
                configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "emporium"),
                services: services, onServerRunning: { _ in await onServerRunning() }, logger: logger)
}

/// `projector` is nil only in tests of the command side; read-model routes then answer 503.
public func buildRouter(engine: Engine, projector: Projector? = nil, configuration: ServerConfiguration, metrics: ServerMetrics = ServerMetrics(),
                        logger: Logger = Logger(label: "emporium.http")) -> Router<AppRequestContext> {
    let routes = Routes(engine: engine, projector: projector, configuration: configuration, metrics: metrics, startedAt: ContinuousClock.now,
                        callers: RateLimiter(ratePerSecond: configuration.commandsPerSecondPerCaller, burst: configuration.commandsPerSecondPerCaller * 2),
                        anonymous: RateLimiter(ratePerSecond: configuration.anonymousCommandsPerSecond, burst: configuration.anonymousCommandsPerSecond * 2))
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestMiddleware(logger: logger, metrics: metrics))
    for route in Routes.table {
        router.on(RouterPath(route.path), method: route.method) { request, context in
            let caller = try routes.admit(request, to: route)
            context.facts.caller = caller
            return try await routes.handle(route.name, request, context, caller: caller)
        }
    }
    return router
}

struct Health: Encodable {
    /// `ok`, or `unhealthy` (answered with 503) when the log cannot be read or written, its newest record does not
    /// check, or a read model cannot be folded.
    var status: String
    var version: String
    var uptimeSeconds: Int64
    var headPosition: UInt64
    var problems: [String]
    var projections: [ProjectionStatus]
    var projectorFailure: String?
}

/// One entry per endpoint: registration, dispatch and the OpenAPI document all read this table.
struct RouteSpec: Sendable {
    let name: String
    let method: HTTPRequest.Method
    /// Hummingbird syntax (`:id`); OpenAPI uses `{id}`.
    let path: String
    let summary: String
    /// Who may call it; enforced once, before the handler runs.
    let access: Access
}

/// Who may call a route. Checked by the router for every request, so a
/// handler never runs for a caller its route does not admit.
enum Access: Sendable, Hashable {
    /// No credentials needed (a bad one is still 401).
    case anyone
    /// A person signed in with a login token; API keys are refused.
    case signedIn
    /// A user with at least `role`, or an API key holding `scope` (nil: keys never) whose owner has that role.
    case role(Role, scope: Scope?)

    var needsCredentials: Bool { self != .anyone }
}

struct Routes: Sendable {
    let engine: Engine
    let projector: Projector?
    let configuration: ServerConfiguration
    let metrics: ServerMetrics
    let startedAt: ContinuousClock.Instant
    let callers: RateLimiter
    let anonymous: RateLimiter

    static let table: [RouteSpec] = commandAndAggregateTable + readTable

    /// The methods the table serves at `path` (a `:name` segment matches any one segment), for a 405's `Allow`.
    static func methods(servingPath path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        var methods: [HTTPRequest.Method] = []
        for route in table where !methods.contains(route.method) {
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: false)
            if pattern.count == segments.count,
               zip(pattern, segments).allSatisfy({ template, segment in template.hasPrefix(":") ? !segment.isEmpty : template == segment }) {
                methods.append(route.method)
            }
        }
        return methods
    }

    static let commandAndAggregateTable: [RouteSpec] = [
        RouteSpec(name: "command", method: .post, path: "/v1/commands", summary: "Execute a command: {\"type\", \"data\"}", access: .anyone),
        RouteSpec(name: "callback", method: .post, path: "/v1/payments/:provider/callback", summary: "A signed payment provider notification", access: .anyone),
        RouteSpec(name: "sandboxCheckout", method: .post, path: "/v1/payments/sandbox/checkout/:paymentId",
                  summary: "Demo: the sandbox provider pays a payment and calls back", access: .signedIn),
        RouteSpec(name: "goods", method: .get, path: "/v1/goods/:goodsId", summary: "One goods", access: .anyone),
        RouteSpec(name: "cart", method: .get, path: "/v1/me/cart", summary: "My cart at current prices", access: .signedIn),
        RouteSpec(name: "orders", method: .get, path: "/v1/me/orders", summary: "My orders, newest first (status, limit, after)", access: .signedIn),
        RouteSpec(name: "order", method: .get, path: "/v1/orders/:orderId", summary: "An order with its timeline", access: .role(.customer, scope: .ordersRead)),
        RouteSpec(name: "points", method: .get, path: "/v1/me/points", summary: "My points balance and ledger", access: .signedIn),
        RouteSpec(name: "profile", method: .get, path: "/v1/me/profile", summary: "My profile, addresses, favorites and footprints", access: .signedIn),
        RouteSpec(name: "events", method: .get, path: "/v1/events", summary: "Server-Sent Events from a position (?from=&type=&streamPrefix=&limit=; Last-Event-ID)", access: .role(.admin, scope: .eventsRead)),
        RouteSpec(name: "auditEvents", method: .get, path: "/v1/audit/events",
                  summary: "Admins: events by stream, actor, type, correlationId, from, to (ISO-8601); paged by after= and limit=", access: .role(.admin, scope: .auditRead)),
        RouteSpec(name: "auditStream", method: .get, path: "/v1/audit/streams/:stream", summary: "Admins: one stream's history (after=, limit=)", access: .role(.admin, scope: .auditRead)),
        RouteSpec(name: "auditDigest", method: .get, path: "/v1/audit/digest", summary: "Admins: the head position and hash", access: .role(.admin, scope: .auditRead)),
        RouteSpec(name: "apiKeys", method: .get, path: "/v1/admin/api-keys",
                  summary: "Admins: every API key issued, newest first (never its secret)", access: .role(.admin, scope: nil)),
        RouteSpec(name: "merchantApplications", method: .get, path: "/v1/admin/merchant-applications",
                  summary: "Admins: applications to become a merchant (status=pending|approved|rejected)", access: .role(.admin, scope: nil)),
        RouteSpec(name: "health", method: .get, path: "/health", summary: "Liveness and the log head", access: .anyone),
        RouteSpec(name: "metrics", method: .get, path: "/metrics", summary: "Prometheus metrics", access: .anyone),
        RouteSpec(name: "openapi", method: .get, path: "/openapi.json", summary: "This contract", access: .anyone),
    ]

    /// The caller, as `route.access` admits them (nil for an anonymous caller of a route open to anyone),
    /// with the role their user record has now; or why not: 401 without valid credentials, 403 when not admitted.
    func admit(_ request: Request, to route: RouteSpec) throws -> Actor? {
        guard route.access.needsCredentials else { return nil }
        guard let claimed = try actor(request) else {
            throw EngineError(.unauthenticated, "this request needs a bearer token (Authorization: Bearer <token>)")
        }
        let caller = try engine.currentActor(claimed)
        switch route.access {
        case .anyone: return nil
        case .signedIn:
            guard case .user = caller else {
                throw EngineError(.insufficientScope, "\(route.path) is for people signed in, not API keys")
            }
        case let .role(role, scope):
            if case .apiKey(let key) = caller {
                guard let scope else { throw EngineError(.insufficientScope, "\(route.path) is not for API keys") }
                guard key.allows(scope) else {
                    throw EngineError(.insufficientScope, "this key lacks the \(scope.rawValue) scope", details: ["scope": scope.rawValue])
                }
            }
            guard let have = caller.role, have >= role else { throw EngineError(.forbidden, "\(route.path) is for \(role.rawValue)s") }
        }
        return caller
    }

    func handle(_ name: String, _ request: Request, _ context: AppRequestContext, caller: Actor?) async throws -> Response {
        if let response = try await handleRead(name, request, context, caller: caller) { return response }
        switch name {
        case "command": return try await command(request, context)
        case "callback": return try await callback(request, context)
        case "sandboxCheckout": return try await sandboxCheckout(request, context, caller: caller)
        case "goods":
            guard let id = context.parameters.get("goodsId").flatMap(GoodsId.init) else { throw EngineError(.domain(.goodsNotFound), "no such goods") }
            return try json(engine.goods(id))
        case "cart": return try json(engine.cart(of: caller))
        case "order":
            guard let id = context.parameters.get("orderId").flatMap(OrderId.init) else { throw EngineError(.domain(.orderNotFound), "no such order") }
            return try json(engine.order(id, for: caller))
        case "profile": return try json(engine.profile(of: caller))
        case "events": return try events(request)
        case "auditEvents": return try await auditEvents(request, caller: caller)
        case "auditStream": return try await auditStream(request, context, caller: caller)
        case "auditDigest": return try auditDigest()
        case "apiKeys": return try json(engine.apiKeys())
        case "merchantApplications":
            let status = try request.uri.queryParameters.get("status").map { text in
                guard let status = MerchantApplication.Status(rawValue: text) else { throw Self.badQuery("status", "must be pending, approved or rejected") }
                return status
            }
            return try json(engine.merchantApplications(status: status))
        case "health": return try health()
        case "metrics":
            let body = metrics.render(log: engine.log, projections: try projector?.status() ?? [], folded: projector?.foldedEvents ?? [:])
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        case "openapi": return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: OpenAPI.document())))
        default: throw HTTPError(.notFound)
        }
    }

    /// `GET /health`: 200 when the log reads and writes and its newest record checks and every read model folds; 503 otherwise.
    func health() throws -> Response {
        var problems: [String] = []
        if let failure = engine.log.writerStatistics.lastFailure { problems.append("the log's last write failed: \(failure)") }
        do { try engine.log.checkHead() } catch { problems.append("the log's newest record does not check: \(error)") }
        if let failure = projector?.failure { problems.append("a read model cannot be folded: \(failure)") }
        let uptime = ContinuousClock.now - startedAt
        let health = Health(status: problems.isEmpty ? "ok" : "unhealthy", version: configuration.version, uptimeSeconds: uptime.components.seconds,
                            headPosition: engine.log.headPosition, problems: problems, projections: (try? projector?.status()) ?? [],
                            projectorFailure: projector?.failure)
        var response = try json(health)
        if !problems.isEmpty { response.status = .serviceUnavailable }
        return response
    }

    // MARK: Commands

    func command(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let envelope = try CommandEnvelope(envelope: Data(buffer: try await collect(request)))
        let metricName = envelope.kind?.rawValue ?? "unknown"
        let caller = try actor(request)
        context.facts.caller = caller
        guard caller.map({ callers.allow($0.description) }) ?? anonymous.allow("anonymous") else {
            metrics.rateLimited(caller: caller == nil ? "anonymous" : "signed_in")
            metrics.command(type: metricName, outcome: "rate_limited", duration: ContinuousClock.now - started)
            throw EngineError(.rateLimited, "too many commands; slow down",
                              details: ["retryAfterSeconds": String(format: "%.2f", 1 / (caller == nil ? anonymous.ratePerSecond : callers.ratePerSecond))])
        }
        do {
            // Who may send this kind of command is judged before its data: a caller without access learns nothing of what they sent.
            if let kind = envelope.kind { try Engine.admit(kind, caller) }
            let command = try envelope.command.get()
            let idempotencyKey = request.headers[HTTPField.Name("Idempotency-Key") ?? .via]
            let context = CommandContext(actor: caller, correlationId: request.requestId, idempotencyKey: idempotencyKey,
                                         expectedVersion: envelope.expectedVersion, requestFingerprint: idempotencyKey == nil ? nil : envelope.fingerprint)
            let outcome = try await engine.execute(command, context: context)
            metrics.command(type: metricName, outcome: "ok", duration: ContinuousClock.now - started)
            return answer(outcome)
        } catch {
            metrics.command(type: metricName, outcome: error.code.description, duration: ContinuousClock.now - started)
            throw error
        }
    }

    func callback(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let provider = context.parameters.get("provider") ?? ""
        let body = try await collect(request)
        guard let timestamp = request.headers[HTTPField.Name("X-Timestamp") ?? .via].flatMap({ Int64($0) }),
              let signature = request.headers[HTTPField.Name("X-Signature") ?? .via] else {
            throw EngineError(.invalidSignature, "X-Timestamp and X-Signature are required")
        }
        let result = try await engine.handleProviderCallback(provider: provider, body: Array(buffer: body), timestamp: timestamp,
                                                             signature: signature, correlationId: request.requestId)
        return answer(result)
    }

    /// The bundled sandbox provider "charges the card" and calls back, signed, as a real provider would.
    func sandboxCheckout(_ request: Request, _ context: AppRequestContext, caller: Actor?) async throws -> Response {
        guard let paymentId = context.parameters.get("paymentId").flatMap(PaymentId.init) else {
            throw EngineError(.domain(.paymentNotFound), "no such payment")
        }
        guard let amount = try engine.paymentAmount(paymentId, payableBy: caller) else { throw EngineError(.domain(.paymentNotFound), "no such payment") }
        let notification = ProviderNotification(paymentId: paymentId.description, transactionId: "sbx_\(UUIDv7Generator.shared.next().uuidString.lowercased())",
                                                status: "succeeded", amount: amount)
        let body = Array(try JSONEncoder().encode(notification))
        let timestamp = engine.configuration.clock.now().nanosecondsSinceEpoch / 1_000_000_000
        let signature = CallbackVerifier(provider: "sandbox", secret: configuration.sandboxSecret).sign(body: body, timestamp: timestamp)
        return answer(try await engine.handleProviderCallback(provider: "sandbox", body: body, timestamp: timestamp, signature: signature,
                                                              correlationId: request.requestId))
    }

    // MARK: Helpers

    /// A command's answer, its JSON written directly.
    func answer(_ outcome: CommandOutcome) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: outcome.json)))
    }

    func collect(_ request: Request) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: configuration.bodyBytesMax)
        } catch {
            throw HTTPError(.contentTooLarge, message: "the body exceeds \(configuration.bodyBytesMax) bytes")
        }
    }

    /// The caller named by `Authorization: Bearer …` (a login token or an API key), nil without the header;
    /// a bad credential is 401, never anonymous.
    func actor(_ request: Request) throws -> Actor? {
        guard let header = request.headers[.authorization] else { return nil }
        guard header.hasPrefix("Bearer ") else { throw EngineError(.invalidToken, "use Authorization: Bearer <token>") }
        return try engine.authenticate(bearer: String(header.dropFirst("Bearer ".count)))
    }

    func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    func text(_ value: String, contentType: String) -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: value)))
    }
}
