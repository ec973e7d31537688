import CommandAPI
import CommandEngine
import Commerce
import Foundation
import HTTPTypes
import Hummingbird

/// `POST /v1/commands`: a command envelope in, the command's answer out.
/// The caller is rate-limited, then admitted to the command's kind before its
/// data is judged, so a caller without access learns nothing of what they sent.
struct CommandsController: Sendable {
    let engine: Engine
    let bodyBytesMax: Int
    let metrics: ServerMetrics
    let callers: RateLimiter
    let anonymous: RateLimiter

    func register(on endpoints: Endpoints) {
        endpoints.post(
            "/v1/commands", "command", "Execute a command: {\"type\", \"data\"}", access: .anyoneNamed, parameters: [.idempotencyKey],
            answer: .ref("CommandAnswer"), execute)
    }

    @Sendable func execute(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let envelope = try CommandEnvelope(envelope: Data(try await Responses.collect(request, upTo: bodyBytesMax).readableBytesView))
        let metricName = envelope.kind?.rawValue ?? "unknown"
        let caller = context.caller
        guard caller.map({ callers.allow($0.description) }) ?? anonymous.allow("anonymous") else {
            metrics.rateLimited(caller: caller == nil ? "anonymous" : "signed_in")
            metrics.command(type: metricName, outcome: "rate_limited", duration: ContinuousClock.now - started)
            throw EngineError(
                .rateLimited, "too many commands; slow down",
                details: [
                    "retryAfterSeconds": String(format: "%.2f", 1 / (caller == nil ? anonymous.ratePerSecond : callers.ratePerSecond))
                ])
        }
        do {
            if let kind = envelope.kind { try Engine.admit(kind, caller) }
            let command = try envelope.command.get()
            let idempotencyKey = request.headers[HTTPField.Name("Idempotency-Key") ?? .via]
            let commandContext = CommandContext(
                actor: caller, correlationId: request.requestId, idempotencyKey: idempotencyKey,
                expectedVersion: envelope.expectedVersion,
                requestFingerprint: idempotencyKey == nil ? nil : envelope.fingerprint)
            let outcome = try await engine.execute(command, context: commandContext)
            metrics.command(type: metricName, outcome: "ok", duration: ContinuousClock.now - started)
            return Responses.answer(outcome, currency: engine.policy.currency)
        } catch {
            metrics.command(type: metricName, outcome: error.code.description, duration: ContinuousClock.now - started)
            throw error
        }
    }
}
