import ArgumentParser
import Assembly
import CommandEngine
import Commerce
import EventStore
import Fixtures
import Foundation
import HTTPServer
import History
import Hummingbird
import Logging
import PostgresStore
import ReadModels
import ServiceLifecycle
import UnixSignals

/// Secrets from flags, then the environment, then `<data-dir>/secrets.json`
/// (made once with random bytes, mode 0600, so a restart keeps tokens valid).
/// A node of a shop whose log of record is PostgreSQL.
struct ClusterArguments: ParsableArguments {
    @OptionGroup var log: LogOfRecordOptions
    @OptionGroup var secret: VaultSecretOption
    @Option(help: "This node's name in `emporium cluster status` (default: host name and port).") var nodeName: String?
    @Option(
        help: ArgumentHelp(
            "How long a request to the log of record may take before a command is answered 503 log_unavailable (0.1-120).",
            discussion: "Also how long PostgreSQL keeps a transaction this node left idle (a node cut off mid-commit)."))
    var logAnswerSeconds = 5.0
    @Option(
        help: "Connections this node keeps to the log of record for commands, reads and copying (1-100; its writer connection besides).")
    var logConnections = PostgresLog.Options().connectionsMax
    @Option(
        help: ArgumentHelp(
            "Streams' chains this node keeps knowing, the ones written last, and as many actors' and types' (1000-50000000).",
            discussion: """
                About 180 bytes each. An append with an expected version to a stream the node no longer knows (an order \
                paid long after it was placed, with more orders placed since than this) is decided under the log head's \
                lock, which costs the whole cluster; /metrics counts those as \
                emporium_log_of_record_appends_refused_on_what_was_known_total.
                """))
    var logChainsKnown = PostgresLog.Options().chainsKnownMax

    func validate() throws {
        guard (0.1...120).contains(logAnswerSeconds) else {
            throw ValidationError("--log-answer-seconds must be between 0.1 and 120, not \(logAnswerSeconds)")
        }
        guard (1...100).contains(logConnections) else {
            throw ValidationError("--log-connections must be between 1 and 100, not \(logConnections)")
        }
        guard (1_000...50_000_000).contains(logChainsKnown) else {
            throw ValidationError("--log-chains-known must be between 1000 and 50000000, not \(logChainsKnown)")
        }
    }

    /// The log of record, when one is set.
    func endpoint() throws -> PostgresEndpoint? { try log.optionalEndpoint() }

    func options(endpoint: PostgresEndpoint, address: String) throws -> ClusterOptions {
        try validate()
        var options = ClusterOptions(
            logOfRecord: endpoint, vaultSecret: try secret.resolve(),
            nodeName: nodeName ?? "\(ProcessInfo.processInfo.hostName):\(address.split(separator: ":").last ?? "")", address: address)
        options.answerTimeout = .milliseconds(Int64(logAnswerSeconds * 1_000))
        options.startTimeout = try log.startTimeout()
        options.connectionsMax = logConnections
        options.chainsKnownMax = logChainsKnown
        return options
    }
}

struct SecretOptions: ParsableArguments {
    @Option(help: "Secret that signs login tokens (or EMPORIUM_TOKEN_SECRET; at least 32 characters).")
    var tokenSecret: String?
    @Option(help: "Secret of the sandbox payment provider's callbacks (or EMPORIUM_CALLBACK_SECRET).")
    var callbackSecret: String?

    struct Stored: Codable {
        var tokenSecret: String
        var callbackSecret: String
    }

    func resolve(dataDirectory: String) throws -> (token: [UInt8], callback: [UInt8]) {
        let environment = ProcessInfo.processInfo.environment
        let file = dataDirectory + "/secrets.json"
        var stored = (try? JSONDecoder().decode(Stored.self, from: Data(contentsOf: URL(fileURLWithPath: file))))
        if stored == nil {
            var generator = SystemRandomNumberGenerator()
            let fresh = { (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined() }
            stored = Stored(tokenSecret: fresh(), callbackSecret: fresh())
            let data = try JSONEncoder().encode(stored)
            guard FileManager.default.createFile(atPath: file, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw CommandFailure(.cantCreate, "cannot write \(file): is the data directory writable?")
            }
        }
        let token = tokenSecret ?? environment["EMPORIUM_TOKEN_SECRET"] ?? stored?.tokenSecret ?? ""
        let callback = callbackSecret ?? environment["EMPORIUM_CALLBACK_SECRET"] ?? stored?.callbackSecret ?? ""
        guard token.utf8.count >= TokenAuthority.secretBytesMin else {
            throw CommandFailure(.config, "the token secret needs at least \(TokenAuthority.secretBytesMin) characters")
        }
        guard callback.utf8.count >= 16 else { throw CommandFailure(.config, "the callback secret needs at least 16 characters") }
        return (Array(token.utf8), Array(callback.utf8))
    }
}

extension DataOptions {
    /// Creates the data directory, or says in one line why it cannot be used.
    func prepareDirectory() throws {
        do {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure(.cantCreate, "cannot use data directory \(dataDirectory): \(error.localizedDescription)")
        }
        guard FileManager.default.isWritableFile(atPath: dataDirectory) else {
            throw CommandFailure(.cantCreate, "data directory \(dataDirectory) is not writable")
        }
    }

    /// The per-user keys of personal data (`<data>/keys`).
    func openVault(readOnly: Bool = false) throws -> KeyVault {
        try CommandFailure.opening { () throws(ShopOpenError) in try shop.openVault(readOnly: readOnly) }
    }

    /// Aggregate snapshots (`<data>/snapshots`), a cache the engine may rebuild.
    func openSnapshots(readOnly: Bool = false) throws -> SnapshotStore? {
        try CommandFailure.opening { () throws(ShopOpenError) in try shop.openSnapshots(readOnly: readOnly) }
    }
}

struct SizeOptions: ParsableArguments {
    @Option(help: "Goods to list.") var goods: Int = 300
    @Option(help: "Customers to register.") var customers: Int = 40
    @Option(help: "Orders to play out over six months.") var orders: Int = 400
    @Option(help: "Seed of the demo shop (same seed, same shop).") var seed: UInt64 = 42

    func validate() throws {
        guard (1...100_000).contains(goods), (1...100_000).contains(customers), (0...1_000_000).contains(orders) else {
            throw ValidationError("--goods and --customers take 1…100000, --orders 0…1000000")
        }
    }

    var size: DemoShop.Size {
        var size = DemoShop.Size()
        size.goods = goods
        size.customers = customers
        size.orders = orders
        return size
    }
}

/// The options of a shop that only takes commands (no read models, no snapshots): seeding, creating an admin.
func commandOnlyShop(_ engine: Engine.Configuration) -> Shop.Options {
    var options = Shop.Options(engine: engine)
    options.snapshots = false
    options.projections = nil
    return options
}

/// A demo shop's options: a seed clock, seeded ids, salts and keys, so the same flags give the same events
/// (order numbers reserved only when a block runs out, never ahead in the background); passwords hashed at full strength.
func demoShopOptions(secrets: (token: [UInt8], callback: [UInt8]), sizes: SizeOptions, clock: SeedClock) -> Shop.Options {
    var options = Shop.Options.seeded(sizes.seed, clock: clock, tokenSecret: secrets.token, sandboxSecret: secrets.callback)
    options.engine.policy.passwordHashing = ShopPolicy().passwordHashing
    return options
}

/// Builds the demo shop into `shop` (empty), with a progress bar.
func seedDemoShop(_ shop: Shop, sizes: SizeOptions, clock: SeedClock) async throws -> DemoShop.Outcome {
    let bar = ProgressBar(label: "seed")
    let outcome = try await DemoShop.seed(engine: shop.engine, clock: clock, size: sizes.size, seed: sizes.seed) { done, total in
        bar.update(done: UInt64(done), total: UInt64(total))
    }
    bar.finish()
    return outcome
}

struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a deterministic shop into an empty data directory.",
        discussion: """
            --scenario demo (default): merchants, customers (password \(DemoShop.password)), goods with Chinese and English titles, coupons and six months of orders, sized by the flags.
            --scenario reference: the small fixed history whose export and replays are locked in Snapshots/reference/ (sizes and seed are ignored).
            """)

    enum Scenario: String, ExpressibleByArgument, CaseIterable { case demo, reference }

    @OptionGroup var data: DataOptions
    @Option(help: "demo or reference.") var scenario: Scenario = .demo
    @OptionGroup var sizes: SizeOptions
    @OptionGroup var secrets: SecretOptions

    func run() async throws {
        try data.prepareDirectory()
        let clock = SeedClock()
        let keys = try secrets.resolve(dataDirectory: data.dataDirectory)
        var options = demoShopOptions(secrets: keys, sizes: sizes, clock: clock)
        if scenario == .reference { options = .reference(clock: clock) }
        let shop = try data.openShop(options)
        defer { shop.close() }
        guard shop.log.headPosition == 0 else {
            throw CommandFailure(
                .dataError, "\(data.dataDirectory) already holds a shop (\(shop.log.headPosition) events); seed an empty directory")
        }
        if scenario == .reference {
            let outcome = try await ReferenceScenario.run(engine: shop.engine, clock: clock)
            print(
                "seeded the reference scenario: \(outcome.steps.count) commands, \(shop.log.headPosition) events; head hash \(try shop.log.head().hash.hex)"
            )
            print("marks: " + ReferenceScenario.markNames.map { "\($0)=\(outcome.marks[$0] ?? 0)" }.joined(separator: " "))
            return
        }
        let outcome = try await seedDemoShop(shop, sizes: sizes, clock: clock)
        print(
            "seeded \(outcome.goods.count) goods and \(outcome.orders) orders: \(outcome.events) events; head hash \(try shop.log.head().hash.hex)"
        )
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the engine and its HTTP API.",
        discussion: """
            One service group runs the HTTP server, the read models' follower and the order-expiry sweeper. On SIGTERM or SIGINT the
            server stops taking requests (event-feed streams end), the sweeper stops, the follower stores what it folded, and the
            stores close, the log last; all within --shutdown-seconds, after which the rest is cancelled. A failed fold or sweep is
            logged and retried with a growing pause; a background service that ends with an error stops the server (exit 70).
            Logs go to standard error: one line per request at info (method, route, status, duration, request id, caller id).
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var secrets: SecretOptions
    @OptionGroup var cluster: ClusterArguments
    @OptionGroup var logging: LogOptions
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Flag(help: "Seed the demo shop first when the data directory is empty.") var seedIfEmpty = false
    @OptionGroup var sizes: SizeOptions
    @Option(help: "Seconds between sweeps for unpaid orders to expire.") var expirySweepSeconds: Double = 5
    @Option(help: "Seconds a connection may go without sending a complete request part before it is closed.")
    var idleTimeoutSeconds: Double = 60
    @Option(help: "Seconds a graceful shutdown may take before what is left is cancelled.") var shutdownSeconds: Double = 10
    @Option(
        help: """
            How a durable commit reaches the disk: one-flush (LMDB's data pages and a redo file of the commit's records, \
            flushed side by side) or two-flushes (LMDB's own: the data pages, then the meta page). Both keep every acknowledged append.
            """)
    var durableCommit = EventLog.DurableCommit.oneFlush
    @Flag(
        help: """
            Publish reviews at once instead of holding them for an admin or the goods' merchant to approve \
            (by default a review counts in ratings and search only once approved).
            """)
    var publishReviewsAtOnce = false

    func validate() throws {
        guard (1...65_535).contains(port) else { throw ValidationError("--port must be 1…65535") }
        // Bounded: a Duration of 1e300 s (or inf) traps when the sweeper sleeps.
        guard (0.01...86_400).contains(expirySweepSeconds) else { throw ValidationError("--expiry-sweep-seconds must be 0.01…86400") }
        guard (0.1...3_600).contains(idleTimeoutSeconds) else { throw ValidationError("--idle-timeout-seconds must be 0.1…3600") }
        guard (0.1...600).contains(shutdownSeconds) else { throw ValidationError("--shutdown-seconds must be 0.1…600") }
    }

    func run() async throws {
        let logger = Logger(label: "emporium")
        try data.prepareDirectory()
        let keys = try secrets.resolve(dataDirectory: data.dataDirectory)
        let logOfRecord = try cluster.endpoint()
        if logOfRecord != nil, secrets.tokenSecret == nil, ProcessInfo.processInfo.environment["EMPORIUM_TOKEN_SECRET"] == nil {
            throw CommandFailure(
                .config, "every node of a cluster must sign tokens alike: give --token-secret and --callback-secret (or their variables)")
        }
        if seedIfEmpty, logOfRecord == nil { try await seedIfTheDirectoryIsEmpty(keys: keys) }
        if seedIfEmpty, logOfRecord != nil {
            logger.warning("--seed-if-empty is ignored with --log: seed an LMDB shop, then emporium migrate --to the log of record")
        }
        guard let lock = try ServerLock(directory: data.projectionsDirectory) else {
            throw CommandFailure(.tempFail, "another emporium serve or projections rebuild is using \(data.dataDirectory)")
        }
        defer { withExtendedLifetime(lock) {} }
        let metrics = ServerMetrics()
        var engine = Engine.Configuration(tokenSecret: keys.token, sandboxSecret: keys.callback)
        engine.logger = Logger(label: "emporium.engine")
        engine.policy.reviewsAwaitModeration = !publishReviewsAtOnce
        var options = Shop.Options(engine: engine)
        options.log.durableCommit = durableCommit
        options.log.onCommit = { metrics.logCommitted(events: $0.events, nanoseconds: UInt64($0.commitNanoseconds)) }
        options.projections?.logger = Logger(label: "emporium.projections")
        let shop: Shop
        if let logOfRecord {
            let node = try cluster.options(endpoint: logOfRecord, address: "\(host):\(port)")
            logger.info(
                "joining the cluster",
                metadata: [
                    "log": "\(logOfRecord.redacted)", "node": "\(node.nodeName)",
                    "log.answer_seconds": "\(Double(node.answerTimeout.wholeMilliseconds) / 1_000)",
                    "log.connections": "\(node.connectionsMax)", "log.chains_known": "\(node.chainsKnownMax)",
                ])
            do {
                shop = try await Shop.open(directory: data.shop, options: options, cluster: node) { copied, target in
                    if copied == target || copied % 10_000 == 0 {
                        logger.info("copying the log of record", metadata: ["copied": "\(copied)", "of": "\(target)"])
                    }
                }
            } catch {
                throw CommandFailure(.unavailable, "cannot join the cluster at \(logOfRecord.redacted): \(error)")
            }
        } else {
            shop = try data.openShop(options)
        }
        // Closed in reverse: the projector stores what it folded, then the vault and snapshots, the log last.
        defer { shop.close() }
        var server = ServerConfiguration(sandboxSecret: keys.callback)
        server.host = host
        server.port = port
        server.version = Emporium.version
        server.idleTimeout = .milliseconds(Int64(idleTimeoutSeconds * 1_000))
        let banner = banner(shop)
        let services = shop.services(
            expirySweep: .milliseconds(Int64(expirySweepSeconds * 1_000)), projectionsLogger: Logger(label: "emporium.projections"),
            expiryLogger: Logger(label: "emporium.expiry"), webhookLogger: Logger(label: "emporium.webhooks"),
            webhooks: webhookSettings(metrics))
        let backends = ServerBackends(engine: shop.engine, projector: shop.projector, audit: shop.audit)
        let app = buildApplication(
            backends, configuration: server, metrics: metrics, services: services, logger: Logger(label: "emporium.http")
        ) {
            // Printed once the port is bound, so a bind error is never preceded by "serving".
            writeAtomically(banner + "\n")
        }
        var group = ServiceGroupConfiguration(
            services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .milliseconds(Int64(shutdownSeconds * 1_000))
        group.maximumCancellationDuration = .seconds(5)
        if shop.log.recoveredFromRedo > 0 {
            logger.notice(
                "re-applied the newest commits from the redo file (the machine stopped before LMDB's meta page was flushed)",
                metadata: ["records": "\(shop.log.recoveredFromRedo)", "log.position": "\(shop.log.headPosition)"])
        }
        logger.info(
            "starting",
            metadata: [
                "version": "\(Emporium.version)", "data.dir": "\(data.dataDirectory)",
                "log.position": "\(shop.log.headPosition)", "http.address": "\(host):\(port)",
            ])
        do {
            try await ServiceGroup(configuration: group).run()
        } catch {
            logger.critical("the server stopped on an error", metadata: ["error": "\(error)"])
            throw CommandFailure(.software, "the server stopped on an error: \(error)")
        }
        if let cluster = shop.cluster {
            let appended = cluster.ofRecord.commitStatistics
            logger.info(
                "appended to the log of record",
                metadata: [
                    "transactions": "\(appended.transactions)", "appends": "\(appended.appends)", "events": "\(appended.events)",
                ])
            await cluster.ofRecord.close()
        }
        logger.info("stopped", metadata: ["log.position": "\(shop.log.headPosition)"])
    }

    private func seedIfTheDirectoryIsEmpty(keys: (token: [UInt8], callback: [UInt8])) async throws {
        let clock = SeedClock()
        let shop = try data.openShop(demoShopOptions(secrets: keys, sizes: sizes, clock: clock))
        defer { shop.close() }
        guard shop.log.headPosition == 0 else { return }
        let outcome = try await seedDemoShop(shop, sizes: sizes, clock: clock)
        print("seeded the demo shop: \(outcome.goods.count) goods, \(outcome.orders) orders, \(outcome.events) events")
    }

    /// Webhook delivery as configured, each attempt counted at `/metrics`.
    private func webhookSettings(_ metrics: ServerMetrics) -> WebhookDispatcher.Settings {
        var settings = WebhookDispatcher.Settings()
        settings.onAttempt = { metrics.webhookDelivery(result: $0) }
        return settings
    }

    private func banner(_ shop: Shop) -> String {
        let base = "http://\(host):\(port)"
        var lines = [
            "Emporium \(Emporium.version) serving \(base)  (data: \(data.dataDirectory), \(shop.log.headPosition) events)",
            "  console \(base)/console   API reference \(base)/docs",
            "  GET \(base)/health   \(base)/metrics   \(base)/openapi.json",
        ]
        if (try? AdminCreate.admins(in: shop.log).isEmpty) == true {
            lines.append(
                "  This shop has no admin yet: stop the server and run `emporium admin create --email <you> --data-dir \(data.dataDirectory)`."
            )
        }
        guard seedIfEmpty else { return lines.joined(separator: "\n") }
        lines.append(
            """
              Demo admin: \(DemoShop.adminEmail) / \(DemoShop.password)
              Demo: log in as \(DemoShop.customerEmail) / \(DemoShop.password) (her cart holds one item), then place and pay an order:
                TOKEN=$(curl -s \(base)/v1/commands -d '{"type":"Login","data":{"email":"\(DemoShop.customerEmail)","password":"\(DemoShop.password)"}}' | sed 's/.*"token":"\\([^"]*\\)".*/\\1/')
                ORDER=$(curl -s \(base)/v1/commands -H "Authorization: Bearer $TOKEN" -d '{"type":"PlaceOrder","data":{}}' | sed 's/.*"orderId":"\\([^"]*\\)".*/\\1/')
                PAY=$(curl -s \(base)/v1/commands -H "Authorization: Bearer $TOKEN" -d "{\\"type\\":\\"InitiatePayment\\",\\"data\\":{\\"orderId\\":\\"$ORDER\\"}}" | sed 's/.*"paymentId":"\\([^"]*\\)".*/\\1/')
                curl -s -X POST \(base)/v1/payments/sandbox/checkout/$PAY -H "Authorization: Bearer $TOKEN"
            """)
        return lines.joined(separator: "\n")
    }
}

extension EventLog.DurableCommit: ExpressibleByArgument {}
