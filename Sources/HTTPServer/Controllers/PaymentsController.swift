import CommandAPI
import CommandEngine
import Commerce
import Foundation
import HTTPTypes
import Hummingbird

/// Payment providers' signed callbacks, and the bundled sandbox provider's checkout.
struct PaymentsController: Sendable {
    let engine: Engine
    let sandboxSecret: [UInt8]
    let bodyBytesMax: Int

    func register(on endpoints: Endpoints) {
        endpoints.post(
            "/v1/payments/:provider/callback", "callback", "A signed payment provider notification",
            parameters: [
                Parameter(name: "X-Timestamp", location: .header, schema: .integer(0), summary: "seconds since the Unix epoch, signed"),
                Parameter(
                    name: "X-Signature", location: .header, schema: .string(maxLength: 128),
                    summary: "HMAC-SHA256 of `<timestamp>.<body>` under the provider's secret, hexadecimal"),
            ], answer: .ref("CommandAnswer"), callback)
        endpoints.post(
            "/v1/payments/sandbox/checkout/:paymentId", "sandboxCheckout", "Demo: the sandbox provider pays a payment and calls back",
            access: .signedIn, parameters: [.idempotencyKey], answer: .ref("CommandAnswer"), sandboxCheckout)
    }

    @Sendable func callback(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let provider = context.parameters.get("provider") ?? ""
        let body = try await Responses.collect(request, upTo: bodyBytesMax)
        guard let timestamp = request.headers[HTTPField.Name("X-Timestamp") ?? .via].flatMap({ Int64($0) }),
            let signature = request.headers[HTTPField.Name("X-Signature") ?? .via]
        else {
            throw EngineError(.invalidSignature, "X-Timestamp and X-Signature are required")
        }
        return Responses.answer(
            try await engine.handleProviderCallback(
                provider: provider, body: Array(buffer: body), timestamp: timestamp,
                signature: signature, correlationId: request.requestId), currency: engine.policy.currency)
    }

    /// The sandbox provider "charges the card" and calls back, signed, as a real provider would; only the caller's own payment.
    @Sendable func sandboxCheckout(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let paymentId = context.parameters.get("paymentId").flatMap(PaymentId.init) else {
            throw EngineError(.domain(.paymentNotFound), "no such payment")
        }
        let seen = engine.headPosition
        var amount = try engine.paymentAmount(paymentId, payableBy: context.caller)
        // On a node of a cluster the payment may have been made on another node a moment ago.
        if amount == nil, try await engine.catchUpWithLogOfRecord(beyond: seen) {
            amount = try engine.paymentAmount(paymentId, payableBy: context.caller)
        }
        guard let amount else { throw EngineError(.domain(.paymentNotFound), "no such payment") }
        // A checkout retried under the same Idempotency-Key (its answer lost in a failover) is the same provider
        // transaction: its callback is the first one again and answers as the first did, rather than `payment_not_pending`.
        let transaction =
            request.headers[HTTPField.Name("Idempotency-Key") ?? .via].map { "sbx_\(paymentId)_\(Self.fingerprint($0))" }
            ?? "sbx_\(engine.configuration.ids.next().uuidString.lowercased())"
        let notification = ProviderNotification(
            paymentId: paymentId.description, transactionId: transaction, status: "succeeded", amount: amount)
        let body = Array(try JSONEncoder().encode(notification))
        let timestamp = engine.now.millisecondsSinceEpoch / 1_000
        let signature = CallbackVerifier(provider: "sandbox", secret: sandboxSecret).sign(body: body, timestamp: timestamp)
        return Responses.answer(
            try await engine.handleProviderCallback(
                provider: "sandbox", body: body, timestamp: timestamp, signature: signature,
                correlationId: request.requestId), currency: engine.policy.currency)
    }

    /// 64-bit FNV-1a of `key`, in hex: a short, stable name for a caller's key inside a transaction id.
    static func fingerprint(_ key: String) -> String {
        let hex = String(FNV1a.hash(key.utf8), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
