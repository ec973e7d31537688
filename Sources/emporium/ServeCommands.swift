import ArgumentParser
import Commerce
import Engine
import EventLog
import Foundation
import History
import HTTPServer
import Hummingbird
import Logging

/// Secrets from flags, then the environment, then `<data-dir>/secrets.json`
/// (made once with random bytes, mode 0600, so a restart keeps tokens valid).
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
                throw ValidationError("cannot write \(file): is the data directory writable?")
            }
        }
        let token = tokenSecret ?? environment["EMPORIUM_TOKEN_SECRET"] ?? stored?.tokenSecret ?? ""
        let callback = callbackSecret ?? environment["EMPORIUM_CALLBACK_SECRET"] ?? stored?.callbackSecret ?? ""
        guard token.utf8.count >= TokenAuthority.secretBytesMin else { throw ValidationError("the token secret needs at least \(TokenAuthority.secretBytesMin) characters") }
        guard callback.utf8.count >= 16 else { throw ValidationError("the callback secret needs at least 16 characters") }
        return (Array(token.utf8), Array(callback.utf8))
    }
}

extension DataOptions {
    /// Creates the data directory, or says in one line why it cannot be used.
    func prepareDirectory() throws {
        do {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("cannot use data directory \(dataDirectory): \(error.localizedDescription)")
        }
        guard FileManager.default.isWritableFile(atPath: dataDirectory) else {
            throw ValidationError("data directory \(dataDirectory) is not writable")
        }
    }

    /// The per-user keys of personal data (`<data>/keys`).
    func openVault(readOnly: Bool = false, randomBytes: (@Sendable (Int) -> [UInt8])? = nil) throws -> KeyVault {
        if readOnly, !FileManager.default.fileExists(atPath: keysDirectory + "/data.mdb") {
            throw ValidationError("no key vault in \(dataDirectory) (expected \(keysDirectory)/data.mdb)")
        }
        do {
            return try KeyVault(directory: keysDirectory, readOnly: readOnly, randomBytes: randomBytes ?? KeyVault.systemRandomBytes)
        } catch {
            throw ValidationError("cannot open the key vault in \(keysDirectory): \(error)")
        }
    }

    /// Aggregate snapshots (`<data>/snapshots`), a cache the engine may rebuild.
    func openSnapshots(readOnly: Bool = false) throws -> SnapshotStore? {
        if readOnly, !FileManager.default.fileExists(atPath: snapshotsDirectory + "/data.mdb") { return nil }
        do {
            return try SnapshotStore(directory: snapshotsDirectory, readOnly: readOnly)
        } catch {
            throw ValidationError("cannot open the snapshots in \(snapshotsDirectory): \(error)")
        }
    }

    func openLog(clock: any LogClock) throws -> EventLog {
        var options = EventLog.Options()
        options.clock = clock
        do {
            return try EventLog(directory: logDirectory, options: options)
        } catch {
            throw ValidationError("cannot open the event log in \(logDirectory): \(error)")
        }
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

/// Builds the demo shop into an empty log with a seed clock and seeded ids, so the same flags give the same events.
func seedDemoShop(log: EventLog, data: DataOptions, secrets: (token: [UInt8], callback: [UInt8]), sizes: SizeOptions, clock: SeedClock) async throws -> DemoShop.Outcome {
    var configuration = Engine.Configuration(tokenSecret: secrets.token, sandboxSecret: secrets.callback)
    configuration.clock = clock
    configuration.ids = SeededIds(seed: sizes.seed, clock: clock)
    let randomness = SeededBytes(seed: sizes.seed)
    configuration.randomBytes = { randomness.next($0) }
    let keyRandomness = SeededBytes(seed: sizes.seed &+ 1)
    let vault = try data.openVault(randomBytes: { keyRandomness.next($0) })
    defer { vault.close() }
    let engine = try Engine(log: log, vault: vault, configuration: configuration)
    let bar = ProgressBar(label: "seed")
    let outcome = try await DemoShop.seed(engine: engine, clock: clock, size: sizes.size, seed: sizes.seed) { done, total in
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
        let log = try data.openLog(clock: clock)
        defer { log.close() }
        guard log.headPosition == 0 else { throw ValidationError("\(data.dataDirectory) already holds a shop (\(log.headPosition) events); seed an empty directory") }
        if scenario == .reference {
            let vault = try data.openVault(randomBytes: ReferenceScenario.keyBytes())
            defer { vault.close() }
            let engine = try Engine(log: log, vault: vault, configuration: ReferenceScenario.configuration(clock: clock))
            let outcome = try await ReferenceScenario.run(engine: engine, clock: clock)
            print("seeded the reference scenario: \(outcome.steps.count) commands, \(log.headPosition) events; head hash \(try log.head().hash.hex)")
            print("marks: " + ReferenceScenario.markNames.map { "\($0)=\(outcome.marks[$0] ?? 0)" }.joined(separator: " "))
            return
        }
        let outcome = try await seedDemoShop(log: log, data: data, secrets: try secrets.resolve(dataDirectory: data.dataDirectory), sizes: sizes, clock: clock)
        print("seeded \(outcome.goods.count) goods and \(outcome.orders) orders: \(outcome.events) events; head hash \(try log.head().hash.hex)")
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the engine and its HTTP API.")

    @OptionGroup var data: DataOptions
    @OptionGroup var secrets: SecretOptions
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Flag(help: "Seed the demo shop first when the data directory is empty.") var seedIfEmpty = false
    @OptionGroup var sizes: SizeOptions
    @Option(help: "Seconds between sweeps for unpaid orders to expire.") var expirySweepSeconds: Double = 5
    @Option(help: "Seconds a connection may go without sending a complete request part before it is closed.")
    var idleTimeoutSeconds: Double = 60

    func validate() throws {
        guard (1...65_535).contains(port) else { throw ValidationError("--port must be 1…65535") }
        // Bounded: a Duration of 1e300 s (or inf) traps when the sweeper sleeps.
        guard (0.01...86_400).contains(expirySweepSeconds) else { throw ValidationError("--expiry-sweep-seconds must be 0.01…86400") }
        guard (0.1...3_600).contains(idleTimeoutSeconds) else { throw ValidationError("--idle-timeout-seconds must be 0.1…3600") }
    }

    func run() async throws {
        try data.prepareDirectory()
        let keys = try secrets.resolve(dataDirectory: data.dataDirectory)
        if seedIfEmpty {
            let clock = SeedClock()
            let log = try data.openLog(clock: clock)
            if log.headPosition == 0 {
                let outcome = try await seedDemoShop(log: log, data: data, secrets: keys, sizes: sizes, clock: clock)
                print("seeded the demo shop: \(outcome.goods.count) goods, \(outcome.orders) orders, \(outcome.events) events")
            }
            log.close()
        }
        let log = try data.openLog(clock: SystemClock())
        // Shutdown runs these in reverse: the expiry sweeper stops, the projector stores what it folded,
        // then the stores close, the log last.
        defer { log.close() }
        let vault = try data.openVault()
        let snapshots = try data.openSnapshots()
        defer {
            vault.close()
            snapshots?.close()
        }
        let engine = try Engine(log: log, vault: vault, snapshots: snapshots,
                                configuration: Engine.Configuration(tokenSecret: keys.token, sandboxSecret: keys.callback))
        guard let lock = try ServerLock(directory: data.projectionsDirectory) else {
            throw ValidationError("another emporium serve or projections rebuild is using \(data.dataDirectory)")
        }
        defer { withExtendedLifetime(lock) {} }
        let projector = try data.openProjector(log: log)
        defer { projector.close() }
        projector.start()
        var server = ServerConfiguration(sandboxSecret: keys.callback)
        server.host = host
        server.port = port
        server.idleTimeout = .milliseconds(Int64(idleTimeoutSeconds * 1_000))
        let expiry = OrderExpiry(engine: engine)
        let sweeper = Task { await expiry.run(intervalSeconds: expirySweepSeconds) }
        defer { sweeper.cancel() }
        printBanner(engine: engine)
        try await buildApplication(engine: engine, projector: projector, configuration: server).runService()
    }

    private func printBanner(engine: Engine) {
        let base = "http://\(host):\(port)"
        print("Emporium serving \(base)  (data: \(data.dataDirectory), \(engine.log.headPosition) events)")
        print("  GET \(base)/health   \(base)/metrics   \(base)/openapi.json")
        if (try? AdminCreate.admins(in: engine.log).isEmpty) == true {
            print("  This shop has no admin yet: stop the server and run `emporium admin create --email <you> --data-dir \(data.dataDirectory)`.")
        }
        guard seedIfEmpty else { return }
        print("""
          Demo admin: \(DemoShop.adminEmail) / \(DemoShop.password)
          Demo: log in as \(DemoShop.customerEmail) / \(DemoShop.password) (her cart holds one item), then place and pay an order:
            TOKEN=$(curl -s \(base)/v1/commands -d '{"type":"Login","data":{"email":"\(DemoShop.customerEmail)","password":"\(DemoShop.password)"}}' | sed 's/.*"token":"\\([^"]*\\)".*/\\1/')
            ORDER=$(curl -s \(base)/v1/commands -H "Authorization: Bearer $TOKEN" -d '{"type":"PlaceOrder","data":{}}' | sed 's/.*"orderId":"\\([^"]*\\)".*/\\1/')
            PAY=$(curl -s \(base)/v1/commands -H "Authorization: Bearer $TOKEN" -d "{\\"type\\":\\"InitiatePayment\\",\\"data\\":{\\"orderId\\":\\"$ORDER\\"}}" | sed 's/.*"paymentId":"\\([^"]*\\)".*/\\1/')
            curl -s -X POST \(base)/v1/payments/sandbox/checkout/$PAY -H "Authorization: Bearer $TOKEN"
        """)
    }
}
