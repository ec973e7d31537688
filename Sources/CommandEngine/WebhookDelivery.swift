import Commerce
import Crypto
import EventStore
import Foundation
import History
import Logging
import ServiceLifecycle
import Synchronization

/// How a delivery reaches an endpoint: an HTTP POST (AsyncHTTPClient in a serving shop).
public protocol WebhookTransport: Sendable {
    /// POSTs `body` to `url`: the response's status, or an error when no response came within `timeout`.
    func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> Int
}

/// A webhook as its admins see it.
public struct WebhookView: Codable, Sendable, Hashable {
    public var webhookId: String
    public var url: String
    /// Empty: every type.
    public var eventTypes: [String]
    public var disabled: Bool
    /// Delivered (or dead-lettered) through this log position.
    public var checkpoint: UInt64
    /// Events of the log after the checkpoint (of any type: the ones it does not want are passed over).
    public var lag: UInt64
    public var delivered: Int
    public var deadLetters: [DeadLetter]
    /// Dead letters replayed and not yet delivered again.
    public var replaying: [UInt64]
}

extension Engine {
    /// A webhook's signing secret, 64 hex characters: derived from the token secret (which every node of a cluster
    /// shares) and the webhook's id, so it is never written to the log. An endpoint checks `X-Emporium-Signature`, the
    /// HMAC-SHA256 of `"<X-Emporium-Timestamp>.<body>"` with it, as the inbound payment callbacks are checked.
    public func webhookSecret(_ id: WebhookId) -> String {
        HMAC<SHA256>.authenticationCode(
            for: Array("emporium webhook secret \(id)".utf8), using: SymmetricKey(data: configuration.tokenSecret)
        )
        .map { String(format: "%02x", $0) }.joined()
    }

    /// Every webhook ever registered, oldest first: for admins.
    public func webhooks(for actor: Actor?) throws -> [WebhookView] {
        let actor = try currentActor(actor)
        guard actor.isAdmin else { throw EngineError(.forbidden, "admins manage webhooks") }
        return try webhookIds(after: 0).map { try webhookView($0) }
    }

    public func webhook(_ id: WebhookId, for actor: Actor?) throws -> WebhookView {
        let actor = try currentActor(actor)
        guard actor.isAdmin else { throw EngineError(.forbidden, "admins manage webhooks") }
        let state: WebhookState = try state(.webhook(id))
        guard state.exists else { throw EngineError(.domain(.webhookNotFound), "no webhook \(id)") }
        return try webhookView(id)
    }

    private func webhookView(_ id: WebhookId) throws -> WebhookView {
        let state: WebhookState = try state(.webhook(id))
        let head = log.headPosition
        return WebhookView(
            webhookId: id.description, url: state.url, eventTypes: state.eventTypes, disabled: state.isDisabled,
            checkpoint: state.checkpoint, lag: head > state.checkpoint ? head - state.checkpoint : 0, delivered: state.delivered,
            deadLetters: state.deadLetters, replaying: state.replaying)
    }

    /// The ids of the webhooks registered after `position` (through the type's chain, not the whole log), and the position
    /// read through.
    func webhookIds(after position: UInt64) throws -> [WebhookId] {
        var ids: [WebhookId] = []
        var next = position + 1
        while true {
            let events = try log.events(ofType: WebhookRegistered.eventType, from: next, limit: LogLimits.readPageEventsMax)
            for recorded in events {
                if case .webhook(let id)? = StreamId(name: recorded.stream.rawValue) { ids.append(id) }
            }
            guard let last = events.last, events.count == LogLimits.readPageEventsMax else { return ids }
            next = last.position + 1
        }
    }

    /// The delivery process's record of its progress, as the system.
    func recordWebhook(_ id: WebhookId, _ command: WebhookCommand) async throws {
        _ = try await decide(
            Webhooks.self, "RecordWebhookDelivery", CommandContext(actor: .system, correlationId: UUIDv7Generator.shared.next())
        ) { _, _ in Webhooks.Command(id, command) }
    }
}

/// Delivers the log to every webhook: for each, its replayed dead letters, then the events after its checkpoint in log
/// order, one at a time (so each stream's events arrive in order), each retried with exponential backoff and jitter
/// until it is accepted (any 2xx) or `attemptsMax` attempts have failed, when it is dead-lettered and delivery moves on.
/// The checkpoint is appended to the webhook's stream after each batch that sent or dead-lettered something, so a
/// restart resumes after the last checkpoint: what was sent after it is sent again, with the same delivery id
/// (at least once). Webhooks are served side by side: one failing endpoint never holds up another.
public final class WebhookDispatcher: Sendable {
    public struct Settings: Sendable {
        public var attemptsMax = 8
        /// The pause after the first failure; it doubles with each (up to `backoffMax`), times a random 0.5–1.
        public var backoffBase = Duration.seconds(1)
        public var backoffMax = Duration.seconds(300)
        /// The longest an endpoint may take to answer.
        public var timeout = Duration.seconds(10)
        public var batchMax = 100
        /// Told each attempt's result, `delivered`, `failed` or `dead_lettered` (the server counts them at `/metrics`).
        public var onAttempt: (@Sendable (String) -> Void)?

        public init() {}
    }

    private let engine: Engine
    private let transport: any WebhookTransport
    public let settings: Settings
    private let presenter = EventPresenter(cipher: HiddenPersonalData(), redactingSecrets: true)
    /// Webhooks found so far, and the log position their registrations were read through.
    private let known = Mutex<(through: UInt64, ids: [WebhookId])>((0, []))

    public init(engine: Engine, transport: any WebhookTransport, settings: Settings = Settings()) {
        self.engine = engine
        self.transport = transport
        self.settings = settings
    }

    /// One round: every webhook delivered through the log's head (or dead-lettered). Returns the events delivered.
    @discardableResult
    public func deliverOnce() async throws -> Int {
        let head = engine.log.headPosition
        let found = try engine.webhookIds(after: known.withLock { $0.through })
        let ids = known.withLock { known in
            // A registration appended after `head` was read is found again next round: keep each id once.
            known.ids += found.filter { !known.ids.contains($0) }
            known.through = head
            return known.ids
        }
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for id in ids { group.addTask { try await self.deliver(id) } }
            return try await group.reduce(0, +)
        }
    }

    /// One webhook's pending events, batch by batch, through the head as it was when the round began.
    func deliver(_ id: WebhookId) async throws -> Int {
        let head = engine.log.headPosition
        var sent = 0
        while !Task.isCancelled {
            let state: WebhookState = try engine.state(.webhook(id))
            guard state.exists, !state.isDisabled else { break }
            for position in state.replaying {
                guard let event = try engine.log.read(from: position, limit: 1).first, event.position == position else { continue }
                if try await send(event, id: id, url: state.url) {
                    try await engine.recordWebhook(id, .redelivered(position))
                    sent += 1
                }
            }
            guard head > state.checkpoint else { break }
            var through = state.checkpoint
            var (delivered, attempted) = (0, 0)
            for event in try engine.log.read(from: state.checkpoint + 1, limit: settings.batchMax) where event.position <= head {
                through = event.position
                guard Self.deliverable(event), state.wants(event.type) else { continue }
                attempted += 1
                if try await send(event, id: id, url: state.url) { delivered += 1 }
            }
            sent += delivered
            // A stretch of events it does not want is not checkpointed unless it fills a batch: a checkpoint is itself an
            // event, and one per idle round would never let the log rest.
            guard attempted > 0 || through - state.checkpoint >= UInt64(settings.batchMax) else { break }
            try await engine.recordWebhook(id, .checkpoint(through: through, delivered: delivered))
        }
        return sent
    }

    /// Webhooks' own records are never delivered (each checkpoint would make another event to deliver), nor the
    /// engine's streams (idempotency records, email claims).
    static func deliverable(_ event: RecordedEvent) -> Bool {
        guard let stream = StreamId(name: event.stream.rawValue) else { return false }
        if case .webhook = stream { return false }
        return true
    }

    /// The same for every attempt and every round: duplicates carry the delivery id of the first.
    public static func deliveryId(_ webhook: WebhookId, position: UInt64) -> String {
        var bytes = Array(SHA256.hash(data: Array("\(webhook)/\(position)".utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50  // a name-based UUID (version 5 layout), from SHA-256
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9], bytes[10], bytes[11],
                bytes[12], bytes[13], bytes[14], bytes[15]
            )
        ).uuidString.lowercased()
    }

    /// Sends one event until it is accepted (true) or dead-lettered (false).
    private func send(_ event: RecordedEvent, id: WebhookId, url: String) async throws -> Bool {
        let deliveryId = Self.deliveryId(id, position: event.position)
        let body =
            Array(#"{"deliveryId":""#.utf8) + Array(deliveryId.utf8) + Array(#"","event":"#.utf8)
            + FeedEvent(event, presenter: presenter).json
            + Array(#","webhookId":""#.utf8) + Array(id.description.utf8) + Array(#""}"#.utf8)
        let signer = CallbackVerifier(provider: "webhook", secret: Array(engine.webhookSecret(id).utf8))
        var attempt = 0
        while true {
            attempt += 1
            let timestamp = engine.now.millisecondsSinceEpoch / 1000
            let headers = [
                ("Content-Type", "application/json"), ("User-Agent", "emporium-webhooks"), ("X-Emporium-Delivery", deliveryId),
                ("X-Emporium-Event", event.type), ("X-Emporium-Webhook", id.description), ("X-Emporium-Attempt", String(attempt)),
                ("X-Emporium-Timestamp", String(timestamp)), ("X-Emporium-Signature", signer.sign(body: body, timestamp: timestamp)),
            ]
            let failure: String
            do {
                let status = try await transport.post(url: url, headers: headers, body: body, timeout: settings.timeout)
                if (200..<300).contains(status) {
                    settings.onAttempt?("delivered")
                    return true
                }
                failure = "HTTP \(status)"
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                failure = String(describing: error)
            }
            settings.onAttempt?("failed")
            guard attempt < settings.attemptsMax else {
                let letter = DeadLetter(
                    position: event.position, eventType: event.type, stream: event.stream.rawValue, attempts: attempt,
                    error: String(failure.prefix(Limits.reasonCharactersMax)), at: engine.now)
                try await engine.recordWebhook(id, .deadLetter(letter))
                settings.onAttempt?("dead_lettered")
                return false
            }
            try await Task.sleep(for: backoff(after: attempt))
        }
    }

    /// base × 2^(attempt−1), at most `backoffMax`, times a random 0.5–1 (so endpoints that failed together do not retry together).
    func backoff(after attempt: Int) -> Duration {
        let doubled = settings.backoffBase * (1 << min(attempt - 1, 20))
        return min(doubled, settings.backoffMax) * Double.random(in: 0.5..<1)
    }

    /// Delivers every `interval` until cancelled; a failed round is logged and tried again after a pause that doubles.
    public func run(every interval: Duration, logger: Logger) async {
        var pause = interval
        while !Task.isCancelled {
            do {
                let sent = try await deliverOnce()
                if sent > 0 { logger.debug("webhooks delivered", metadata: ["webhook.events": "\(sent)"]) }
                pause = interval
            } catch {
                pause = min(pause * 2, .seconds(60))
                logger.error("a webhook round failed; trying again", metadata: ["error": "\(error)"])
            }
            do { try await Task.sleep(for: pause) } catch { return }
        }
    }
}
