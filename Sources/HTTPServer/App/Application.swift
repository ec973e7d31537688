import CommandEngine
import Foundation
import History
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
    /// Commands per second one signed-in caller may send (bursts of `commandBurstPerCaller`, else twice the rate); more get 429.
    public var commandsPerSecondPerCaller: Double = 200
    public var commandBurstPerCaller: Double?
    /// The same for all anonymous callers together (RegisterUser, Login).
    public var anonymousCommandsPerSecond: Double = 2_000
    /// How long a query with `?after=` waits for its read model before answering 503.
    public var readYourWritesWaitMax = Duration.seconds(5)
    /// The version `/health` reports.
    public var version = "dev"

    public init(sandboxSecret: [UInt8]) { self.sandboxSecret = sandboxSecret }
}

/// What the HTTP edge talks to: the engine (commands, its own queries,
/// authentication), the read models (nil only in tests of the command side;
/// their routes then answer 503) and the audit desk (history and the event
/// feed). Never the log or the key vault themselves.
public struct ServerBackends: Sendable {
    public let engine: Engine
    public let projector: Projector?
    public let audit: AuditDesk

    public init(engine: Engine, projector: Projector?, audit: AuditDesk) {
        self.engine = engine
        self.projector = projector
        self.audit = audit
    }
}

/// The HTTP server, with `services` (the read models' follower, order
/// expiry) run in its service group and shut down after the server has
/// stopped taking requests.
public func buildApplication(
    _ backends: ServerBackends, configuration: ServerConfiguration, metrics: ServerMetrics = ServerMetrics(),
    services: [any Service] = [], logger: Logger = Logger(label: "emporium.http"),
    onServerRunning: @escaping @Sendable () async -> Void = {}
) -> some ApplicationProtocol {
    Application(
        router: buildRouter(backends, configuration: configuration, metrics: metrics, logger: logger).router,
        server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(configuration.idleTimeout / .nanoseconds(1))))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "emporium"),
        services: services, onServerRunning: { _ in await onServerRunning() }, logger: logger)
}

/// The router and the table of what it serves (the OpenAPI document and a 405's `Allow` read the table).
public struct ServerRouter {
    public let router: Router<AppRequestContext>
    let routes: RouteTable
}

/// Every controller registers its endpoints, each with who may call it; the
/// request middleware (ids, errors, logs, metrics) wraps them all.
public func buildRouter(
    _ backends: ServerBackends, configuration: ServerConfiguration, metrics: ServerMetrics = ServerMetrics(),
    logger: Logger = Logger(label: "emporium.http")
) -> ServerRouter {
    let engine = backends.engine
    let endpoints = Endpoints(authenticator: Authenticator(engine: engine))
    let reads = ReadModelReads(engine: engine, projector: backends.projector, waitMax: configuration.readYourWritesWaitMax)
    CommandsController(
        engine: engine, bodyBytesMax: configuration.bodyBytesMax, metrics: metrics,
        callers: RateLimiter(
            ratePerSecond: configuration.commandsPerSecondPerCaller,
            burst: configuration.commandBurstPerCaller ?? configuration.commandsPerSecondPerCaller * 2),
        anonymous: RateLimiter(ratePerSecond: configuration.anonymousCommandsPerSecond, burst: configuration.anonymousCommandsPerSecond * 2)
    )
    .register(on: endpoints)
    PaymentsController(engine: engine, sandboxSecret: configuration.sandboxSecret, bodyBytesMax: configuration.bodyBytesMax).register(
        on: endpoints)
    GoodsController(engine: engine).register(on: endpoints)
    MeController(engine: engine, reads: reads).register(on: endpoints)
    ReviewsController(reads: reads).register(on: endpoints)
    SearchController(reads: reads).register(on: endpoints)
    RecommendationsController(reads: reads).register(on: endpoints)
    AnalyticsController(reads: reads).register(on: endpoints)
    EventFeedController(audit: backends.audit).register(on: endpoints)
    AuditController(engine: engine, audit: backends.audit).register(on: endpoints)
    HistoryController(engine: engine, audit: backends.audit).register(on: endpoints)
    AdminController(engine: engine, projector: backends.projector).register(on: endpoints)
    ConsoleController().register(on: endpoints)
    OperationsController(
        engine: engine, projector: backends.projector, metrics: metrics, version: configuration.version,
        startedAt: ContinuousClock.now, routes: endpoints.table
    ).register(on: endpoints)

    let router = Router(context: AppRequestContext.self)
    router.add(
        middleware: RequestMiddleware(
            logger: logger, metrics: metrics, routes: endpoints.table, ids: engine.configuration.ids,
            logOfRecord: { engine.logOfRecordStatus }))
    router.addRoutes(endpoints.collection)
    return ServerRouter(router: router, routes: endpoints.table)
}
