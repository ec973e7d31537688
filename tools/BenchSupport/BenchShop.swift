import Assembly
import CommandEngine
import Commerce
import EventStore
import Foundation
import History

/// A shop the benchmarks generate once through the engine's real command
/// path and keep between runs (`.bench/`): the parts every generator shares.
public struct BenchShop: Sendable {
    let shop: Shop
    public var log: EventLog { shop.log }
    public var engine: Engine { shop.engine }
    static let sandboxSecret = Array(repeating: UInt8(6), count: 32)

    /// The log of a shop generated earlier when it holds at least `events`, opened read-only.
    public static func existing(in dataDirectory: String, atLeast events: Int) -> EventLog? {
        var options = EventLog.Options()
        options.readOnly = true
        guard let log = try? ShopDirectory(dataDirectory).openLog(options) else { return nil }
        if log.headPosition >= UInt64(events) { return log }
        log.close()
        return nil
    }

    /// An empty shop in `dataDirectory` (whatever was there is removed). The log skips fsync: it is flushed once by `finish()`.
    public init(emptyIn dataDirectory: String, withSnapshots: Bool = false) throws {
        try? FileManager.default.removeItem(atPath: dataDirectory)
        var configuration = Engine.Configuration(tokenSecret: Array(repeating: 5, count: 32), sandboxSecret: Self.sandboxSecret)
        configuration.policy.passwordHashing = .fastForTests
        var options = Shop.Options(engine: configuration)
        options.log.durable = false
        options.snapshots = withSnapshots
        options.projections = nil
        shop = try Shop(directory: ShopDirectory(dataDirectory), options: options)
    }

    @discardableResult
    public func run(_ command: Command, as actor: Actor?) async throws -> CommandResult {
        try await engine.execute(command, context: CommandContext(actor: actor, correlationId: UUID())).result
    }

    public func user(_ email: String, _ role: Role) async throws -> Actor {
        guard
            let id = try await run(.registerUser(email: email, password: "bench-password", name: "Bench 用户", role: role), as: .system)
                .userId
        else {
            throw EngineError(.internalError, "the bench could not register \(email)")
        }
        return .user(id, role)
    }

    /// `count` customers of one worker, each with an address.
    public func customers(worker: Int, count: Int) async throws -> [Actor] {
        var customers: [Actor] = []
        for index in 0..<count {
            let customer = try await user("c\(worker)-\(index)@bench.emporium", .customer)
            try await run(
                .addAddress(
                    Address(
                        recipient: "客户 \(index)", phone: "+86 138 0000 0000", line1: "\(index) Bench Road", city: "Hangzhou 杭州",
                        postalCode: "310000", country: "CN")), as: customer)
            customers.append(customer)
        }
        return customers
    }

    /// Initiates the order's payment and delivers the sandbox provider's signed success callback; false when there was nothing to pay.
    @discardableResult
    public func pay(_ orderId: OrderId, as customer: Actor) async throws -> Bool {
        guard let paymentId = try await run(.initiatePayment(orderId), as: customer).paymentId,
            let amount = try engine.paymentAmount(paymentId)
        else {
            return false
        }
        let body = Array(
            try JSONEncoder().encode(
                ProviderNotification(
                    paymentId: paymentId.description, transactionId: "sbx_\(paymentId)",
                    status: "succeeded", amount: amount)))
        let timestamp = Int64(Date().timeIntervalSince1970)
        let signature = CallbackVerifier(provider: "sandbox", secret: Self.sandboxSecret).sign(body: body, timestamp: timestamp)
        _ = try await engine.handleProviderCallback(
            provider: "sandbox", body: body, timestamp: timestamp, signature: signature, correlationId: UUID())
        return true
    }

    /// A progress line on standard error, rewritten in place.
    public func report(_ text: String) { FileHandle.standardError.write(Data("\r\(text)".utf8)) }

    /// Flushes the log, closes the shop and opens its log again read-only.
    public func finish() throws -> EventLog {
        FileHandle.standardError.write(Data("\n".utf8))
        try log.sync()
        shop.close()
        var readOnly = EventLog.Options()
        readOnly.readOnly = true
        return try shop.directory.openLog(readOnly)
    }
}
