import Assembly
import CommandEngine
import Commerce
import EventStore
import Foundation
import History
import PostgresStore
import ReadModels
import TestSupport
import Testing

/// The sandbox provider's callback secret in every test shop.
public let sandboxSecret = Array("sandbox-secret-for-tests-0123456789abcdef".utf8)

/// A shop in a temporary data directory, opened by the composition root as
/// `emporium serve` opens one (without read models unless asked), driven by typed commands.
public final class TestShop: @unchecked Sendable {
    public let shop: Shop
    public var directory: String { shop.directory.path }
    public var log: EventLog { shop.log }
    public var vault: KeyVault { shop.vault }
    public var engine: Engine { shop.engine }
    public var projector: Projector? { shop.projector }

    /// The options every test shop starts from: fast password hashing, a small map, fixed secrets.
    public static func options(
        clock: any LogClock = SystemClock(), snapshotInterval: UInt64 = SnapshotStore.defaultInterval,
        readModels: Bool = false
    ) -> Shop.Options {
        var configuration = Engine.Configuration(tokenSecret: Array(repeating: 7, count: 32), sandboxSecret: sandboxSecret)
        configuration.policy.passwordHashing = .fastForTests
        configuration.clock = clock
        var options = Shop.Options(engine: configuration)
        options.log.initialMapSizeBytes = 64 << 20
        options.snapshotInterval = snapshotInterval
        options.projections = readModels ? Projector.Options() : nil
        return options
    }

    public convenience init(clock: any LogClock = SystemClock(), snapshotInterval: UInt64 = SnapshotStore.defaultInterval) throws {
        try self.init(options: Self.options(clock: clock, snapshotInterval: snapshotInterval))
    }

    public init(options: Shop.Options, label: String = "engine") throws {
        shop = try Shop(directory: ShopDirectory(temporaryDirectory(label)), options: options)
    }

    /// The secret every test node's key vault is wrapped with in the log of record.
    public static let vaultSecret = "a vault secret every test node shares"

    /// A node of a cluster whose log of record is `logOfRecord`, in a data directory of its own, caught up when it returns.
    public init(
        node name: String, of logOfRecord: PostgresEndpoint, readModels: Bool = false, answerTimeout: Duration = .seconds(60),
        chainsKnownMax: Int? = nil
    ) async throws {
        var cluster = ClusterOptions(logOfRecord: logOfRecord, vaultSecret: Self.vaultSecret, nodeName: name, address: "127.0.0.1:0")
        cluster.connectionsMax = 4
        cluster.answerTimeout = answerTimeout
        if let chainsKnownMax { cluster.chainsKnownMax = chainsKnownMax }
        let shop = try await Shop.open(
            directory: ShopDirectory(temporaryDirectory("node-\(name)")), options: Self.options(readModels: readModels), cluster: cluster)
        self.shop = shop
        follower = Task { try await shop.cluster?.keepCopying(into: shop.log) }
    }

    /// A node's replica copying from the log of record, as `emporium serve` runs it.
    private var follower: Task<Void, any Error>?

    /// Stops copying (a node that is shut down), then closes the shop.
    public func stop() async {
        follower?.cancel()
        _ = await follower?.result
        await shop.cluster?.ofRecord.close()
    }

    deinit {
        follower?.cancel()
        shop.close()
    }

    @discardableResult
    public func run(_ command: Command, as actor: Actor?, key: String? = nil) async throws -> CommandOutcome {
        try await engine.execute(command, context: CommandContext(actor: actor, correlationId: UUID(), idempotencyKey: key))
    }

    public func register(_ email: String, role: Role = .customer) async throws -> Actor {
        let outcome = try await run(.registerUser(email: email, password: "correct horse", name: "测试 Tester", role: role), as: .system)
        return .user(try #require(outcome.result.userId), role)
    }

    /// A customer with a default address.
    public func shopper(_ email: String) async throws -> Actor {
        let actor = try await register(email)
        try await run(
            .addAddress(Address(recipient: "韩梅梅", phone: "123", line1: "1 Main St", city: "Beijing", postalCode: "100080", country: "CN")),
            as: actor)
        return actor
    }

    public func listGoods(by merchant: Actor, price: Int64 = 1_999, stock: Int = 10) async throws -> GoodsId {
        let outcome = try await run(
            .listGoods(GoodsDetails(title: "Green tea 绿茶", category: "tea"), price: Money(minorUnits: price), stock: stock), as: merchant)
        return try #require(outcome.result.goodsId)
    }

    /// Places an order of what the caller's cart holds; its id.
    public func placeOrder(as buyer: Actor) async throws -> OrderId {
        try #require(try await run(.placeOrder(), as: buyer).result.orderId)
    }

    public func initiatePayment(_ order: OrderId, as buyer: Actor) async throws -> PaymentId {
        try #require(try await run(.initiatePayment(order), as: buyer).result.paymentId)
    }

    public func signedCallback(
        paymentId: PaymentId, transaction: String, amount: Int64, status: String = "succeeded"
    ) async throws -> CommandOutcome {
        let notification = ProviderNotification(
            paymentId: paymentId.description, transactionId: transaction, status: status, amount: amount)
        let body = Array(try JSONEncoder().encode(notification))
        let timestamp = engine.configuration.clock.now().nanosecondsSinceEpoch / 1_000_000_000
        let signature = CallbackVerifier(provider: "sandbox", secret: sandboxSecret).sign(body: body, timestamp: timestamp)
        return try await engine.handleProviderCallback(
            provider: "sandbox", body: body, timestamp: timestamp, signature: signature, correlationId: UUID())
    }
}

/// What became of a command: "ok", or the engine error's code (a race's outcomes, counted by the caller).
public func outcome(_ body: () async throws -> Void) async -> String {
    do {
        try await body()
        return "ok"
    } catch let error as EngineError {
        return error.code.description
    } catch {
        return "\(error)"
    }
}

/// Runs `body`, expecting it to fail with the engine error `code` and to append nothing.
public func expectEngineError(
    _ code: String, _ shop: TestShop, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async {
    let head = shop.log.headPosition
    do {
        try await body()
        Issue.record("expected \(code); the command was accepted", sourceLocation: sourceLocation)
    } catch let error as EngineError {
        #expect(error.code.description == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
    #expect(shop.log.headPosition == head, "a refused command appended events", sourceLocation: sourceLocation)
}
