import Commerce
import Crypto
import EventStore
import Foundation

/// A payment provider's notifications: HMAC-SHA256 over `"<timestamp>.<body>"`
/// with the provider's secret, hex-encoded; timestamps older or newer than
/// `toleranceSeconds` are refused (a replayed old callback does nothing).
public struct CallbackVerifier: Sendable {
    public static let toleranceSeconds: Int64 = 300
    public static let bodyBytesMax = 16 << 10

    public let provider: String
    private let key: SymmetricKey

    public init(provider: String, secret: [UInt8]) {
        self.provider = provider
        key = SymmetricKey(data: secret)
    }

    /// What a provider (or the bundled sandbox) sends in `X-Signature`.
    public func sign(body: [UInt8], timestamp: Int64) -> String {
        HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + body, using: key).map { String(format: "%02x", $0) }.joined()
    }

    public func verify(body: [UInt8], timestamp: Int64, signature: String, nowSeconds: Int64) throws(EngineError) {
        // The timestamp is anyone's input: its distance from now is taken without overflow (and without
        // `abs`, which traps on the smallest Int64); before, one unsigned request crashed the server.
        let (distance, overflow) = nowSeconds.subtractingReportingOverflow(timestamp)
        guard !overflow, distance.magnitude <= UInt64(Self.toleranceSeconds) else {
            throw EngineError(.staleTimestamp, "the callback timestamp is outside ±\(Self.toleranceSeconds) s")
        }
        guard signature.count == 64, let mac = Digest.bytes(fromHex: signature),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Array("\(timestamp).".utf8) + body, using: key)
        else {
            throw EngineError(.invalidSignature, "the callback signature does not match")
        }
    }
}

/// The body of a provider notification.
public struct ProviderNotification: Codable, Sendable {
    public var paymentId: String
    public var transactionId: String
    /// `succeeded` or `failed`.
    public var status: String
    public var amount: Int64
    public var reason: String?

    public init(paymentId: String, transactionId: String, status: String, amount: Int64, reason: String? = nil) {
        self.paymentId = paymentId
        self.transactionId = transactionId
        self.status = status
        self.amount = amount
        self.reason = reason
    }
}

extension Engine {
    /// Handles a signed provider notification. The signature and timestamp are
    /// checked before anything is read; the same transaction delivered again
    /// appends nothing (the payment remembers handled transaction ids).
    public func handleProviderCallback(
        provider: String, body: [UInt8], timestamp: Int64, signature: String,
        correlationId: UUID
    ) async throws -> CommandOutcome {
        guard let verifier = configuration.paymentProviders[provider] else {
            throw EngineError(.unknownProvider, "no payment provider \(LogLimits.shown(provider))")
        }
        guard body.count <= CallbackVerifier.bodyBytesMax else { throw EngineError(.bodyTooLarge, "callback body too large") }
        try verifier.verify(
            body: body, timestamp: timestamp, signature: signature,
            nowSeconds: configuration.clock.now().nanosecondsSinceEpoch / 1_000_000_000)
        let notification: ProviderNotification
        do {
            notification = try JSONDecoder().decode(ProviderNotification.self, from: Data(body))
        } catch {
            throw EngineError(.malformedJSON, "the callback body is not a provider notification: \(error)")
        }
        guard let paymentId = PaymentId(notification.paymentId) else {
            throw EngineError(.invalidValue, "paymentId is not a UUID", details: ["field": "paymentId"])
        }
        guard notification.status == "succeeded" || notification.status == "failed" else {
            throw EngineError(.invalidValue, "status must be succeeded or failed", details: ["field": "status"])
        }
        let context = CommandContext(actor: .paymentProvider(provider), correlationId: correlationId)
        do {
            return try await decide(
                Payments.self, "HandleProviderCallback", context, answer: { _, _, _, result in result.paymentId = paymentId }
            ) { _, at in
                .callback(
                    paymentId,
                    ProviderCallback(
                        providerTransactionId: notification.transactionId, succeeded: notification.status == "succeeded",
                        amount: Money(minorUnits: notification.amount), reason: notification.reason ?? "", at: at))
            }
        } catch let rejection as Rejection {
            throw EngineError(rejection)
        } catch let error as EventLogError {
            throw EngineError(error)
        }
    }
}
