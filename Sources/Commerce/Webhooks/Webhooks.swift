import Foundation

// Outbound webhooks, as Saleor and Medusa integrators use them instead of polling: an admin registers an endpoint with
// the event types it wants; the engine POSTs each matching event of the log to it, in log order, signed, at least once,
// from a checkpoint kept in the webhook's own stream (`webhook-<id>`), so a restart — or another node taking the
// delivery lease — resumes exactly where delivery stopped. An event the endpoint keeps refusing is dead-lettered after
// the last retry and delivery moves on; an admin replays the dead letters once the endpoint is mended. The delivery
// process records its progress with the system's commands below (`checkpoint`, `deadLetter`, `redelivered`).

/// One event the endpoint refused through every retry.
public struct DeadLetter: Codable, Hashable, Sendable {
    public var position: UInt64
    public var eventType: String
    public var stream: String
    public var attempts: Int
    /// The last failure: `HTTP 500`, a timeout, a refused connection.
    public var error: String
    public var at: Instant

    public init(position: UInt64, eventType: String, stream: String, attempts: Int, error: String, at: Instant) {
        self.position = position
        self.eventType = eventType
        self.stream = stream
        self.attempts = attempts
        self.error = error
        self.at = at
    }
}

public struct WebhookRegistered: EventPayload {
    public static let eventType = "WebhookRegistered"
    public var webhookId: WebhookId
    public var url: String
    /// Empty: every type.
    public var eventTypes: [String]
    /// Delivery starts after this log position (the head when registered, unless the admin named an earlier one).
    public var from: UInt64
    public var registeredBy: UserId?
    public var at: Instant

    public init(webhookId: WebhookId, url: String, eventTypes: [String], from: UInt64, registeredBy: UserId?, at: Instant) {
        self.webhookId = webhookId
        self.url = url
        self.eventTypes = eventTypes
        self.from = from
        self.registeredBy = registeredBy
        self.at = at
    }
}

public struct WebhookDisabled: EventPayload {
    public static let eventType = "WebhookDisabled"
    public var reason: String
    public var at: Instant

    public init(reason: String, at: Instant) {
        self.reason = reason
        self.at = at
    }
}

/// Every event through `through` was delivered or dead-lettered (`delivered` of them sent in this stretch).
public struct WebhookCheckpointed: EventPayload {
    public static let eventType = "WebhookCheckpointed"
    public var through: UInt64
    public var delivered: Int
    public var at: Instant

    public init(through: UInt64, delivered: Int, at: Instant) {
        self.through = through
        self.delivered = delivered
        self.at = at
    }
}

public struct WebhookDeadLettered: EventPayload {
    public static let eventType = "WebhookDeadLettered"
    public var letter: DeadLetter

    public init(letter: DeadLetter) { self.letter = letter }
}

/// An admin asked for the dead letters to be sent again (in log order, before new events).
public struct WebhookDeadLettersReplayed: EventPayload {
    public static let eventType = "WebhookDeadLettersReplayed"
    public var positions: [UInt64]
    public var at: Instant

    public init(positions: [UInt64], at: Instant) {
        self.positions = positions
        self.at = at
    }
}

/// A replayed dead letter went through.
public struct WebhookRedelivered: EventPayload {
    public static let eventType = "WebhookRedelivered"
    public var position: UInt64
    public var at: Instant

    public init(position: UInt64, at: Instant) {
        self.position = position
        self.at = at
    }
}

public enum WebhookEvent: Hashable, Sendable {
    case registered(WebhookRegistered)
    case disabled(WebhookDisabled)
    case checkpointed(WebhookCheckpointed)
    case deadLettered(WebhookDeadLettered)
    case deadLettersReplayed(WebhookDeadLettersReplayed)
    case redelivered(WebhookRedelivered)
}

public struct WebhookState: Hashable, Codable, Sendable {
    public var webhookId: WebhookId?
    public var url = ""
    public var eventTypes: [String] = []
    public var isDisabled = false
    /// Delivered (or dead-lettered) through this position.
    public var checkpoint: UInt64 = 0
    public var delivered = 0
    /// Waiting for an admin's replay, oldest first (at most `Limits.deadLettersKept`: the oldest go first).
    public var deadLetters: [DeadLetter] = []
    /// Dead letters an admin replayed, to be sent again before new events.
    public var replaying: [UInt64] = []

    public init() {}

    public var exists: Bool { webhookId != nil }

    /// Whether this endpoint wants events of `type`.
    public func wants(_ type: String) -> Bool { eventTypes.isEmpty || eventTypes.contains(type) }

    public func evolve(_ event: WebhookEvent) -> WebhookState {
        var next = self
        switch event {
        case .registered(let registered):
            next.webhookId = registered.webhookId
            next.url = registered.url
            next.eventTypes = registered.eventTypes
            next.checkpoint = registered.from
        case .disabled: next.isDisabled = true
        case .checkpointed(let checkpointed):
            next.checkpoint = max(next.checkpoint, checkpointed.through)
            next.delivered += checkpointed.delivered
        case .deadLettered(let dead):
            next.replaying.removeAll { $0 == dead.letter.position }
            next.deadLetters.append(dead.letter)
            if next.deadLetters.count > Limits.deadLettersKept {
                next.deadLetters.removeFirst(next.deadLetters.count - Limits.deadLettersKept)
            }
        case .deadLettersReplayed(let replayed):
            next.deadLetters.removeAll { replayed.positions.contains($0.position) }
            next.replaying = (next.replaying + replayed.positions).sorted()
        case .redelivered(let redelivered):
            next.replaying.removeAll { $0 == redelivered.position }
            next.delivered += 1
        }
        return next
    }
}

public enum WebhookCommand: Hashable, Sendable {
    /// Delivery starts after `from` (the log's head at registration, or an earlier position to catch up from).
    case register(WebhookId, url: String, eventTypes: [String], from: UInt64)
    case disable(reason: String)
    case replayDeadLetters
    // The delivery process's records (the system only).
    case checkpoint(through: UInt64, delivered: Int)
    case deadLetter(DeadLetter)
    case redelivered(UInt64)
}

public enum Webhooks {
    public static let eventTypesMax = 100
    public static let urlCharactersMax = 2_000

    public static func decide(_ command: WebhookCommand, actor: Actor, webhook: WebhookState, at: Instant) throws(Rejection) -> Decision {
        let event: WebhookEvent
        switch command {
        case let .register(id, url, eventTypes, from):
            guard actor.isAdmin else { throw Rejection(.forbidden, "admins register webhooks") }
            guard !webhook.exists else { throw Rejection(.invalidInput, "webhook \(id) exists", field: "webhookId") }
            try validate(url: url)
            guard eventTypes.count <= eventTypesMax, Set(eventTypes).count == eventTypes.count else {
                throw Rejection(.invalidInput, "at most \(eventTypesMax) event types, each once", field: "eventTypes")
            }
            for type in eventTypes { try Limits.text(type, "eventTypes", max: Limits.nameCharactersMax) }
            event = .registered(
                WebhookRegistered(webhookId: id, url: url, eventTypes: eventTypes, from: from, registeredBy: actor.userId, at: at))
            var decision = Decision()
            decision.append(.webhook(event), to: .webhook(id))
            return decision
        case .disable(let reason):
            guard actor.isAdmin else { throw Rejection(.forbidden, "admins manage webhooks") }
            try Limits.text(reason, "reason", max: Limits.reasonCharactersMax)
            guard !webhook.isDisabled else { throw Rejection(.nothingChanged, "the webhook is disabled") }
            event = .disabled(WebhookDisabled(reason: reason, at: at))
        case .replayDeadLetters:
            guard actor.isAdmin else { throw Rejection(.forbidden, "admins manage webhooks") }
            guard !webhook.isDisabled else { throw Rejection(.webhookDisabled, "the webhook is disabled") }
            guard !webhook.deadLetters.isEmpty else { throw Rejection(.nothingChanged, "no dead letters") }
            event = .deadLettersReplayed(WebhookDeadLettersReplayed(positions: webhook.deadLetters.map(\.position), at: at))
        case let .checkpoint(through, delivered):
            guard case .system = actor else { throw Rejection(.forbidden, "delivery progress is the system's") }
            guard through > webhook.checkpoint, delivered >= 0 else {
                throw Rejection(.nothingChanged, "already through \(webhook.checkpoint)")
            }
            event = .checkpointed(WebhookCheckpointed(through: through, delivered: delivered, at: at))
        case .deadLetter(let letter):
            guard case .system = actor else { throw Rejection(.forbidden, "delivery progress is the system's") }
            event = .deadLettered(WebhookDeadLettered(letter: letter))
        case .redelivered(let position):
            guard case .system = actor else { throw Rejection(.forbidden, "delivery progress is the system's") }
            guard webhook.replaying.contains(position) else { throw Rejection(.nothingChanged, "\(position) is not being replayed") }
            event = .redelivered(WebhookRedelivered(position: position, at: at))
        }
        guard let id = webhook.webhookId else { throw Rejection(.webhookNotFound, "no such webhook") }
        var decision = Decision()
        decision.append(.webhook(event), to: .webhook(id))
        return decision
    }

    /// An absolute `http` or `https` URL with a host, at most `urlCharactersMax` characters.
    static func validate(url: String) throws(Rejection) {
        guard url.utf8.count <= urlCharactersMax, let parsed = URLComponents(string: url), let scheme = parsed.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = parsed.host, !host.isEmpty
        else {
            throw Rejection(.invalidInput, "url must be an absolute http(s) URL of at most \(urlCharactersMax) characters", field: "url")
        }
    }
}

extension Webhooks: Decider {
    public struct Command: Hashable, Sendable {
        public var webhookId: WebhookId
        public var command: WebhookCommand

        public init(_ webhookId: WebhookId, _ command: WebhookCommand) {
            self.webhookId = webhookId
            self.command = command
        }
    }

    public static func reads(_ command: Command, actor: Actor, loaded: Loaded) -> [StreamId] { [.webhook(command.webhookId)] }

    public static func decide(
        _ command: Command, actor: Actor, loaded: Loaded, at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        try decide(command.command, actor: actor, webhook: loaded[.webhook(command.webhookId)], at: at)
    }
}
