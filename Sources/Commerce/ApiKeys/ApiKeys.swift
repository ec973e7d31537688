/// What an API key may do. A key acts for its owner and never beyond the
/// owner's role: scopes only narrow. Issuing, using and revoking keys is
/// for people (tokens), never for keys, so a leaked key cannot make others.
public enum Scope: String, Codable, Sendable, CaseIterable, Comparable {
    /// The Server-Sent Events feed (`GET /v1/events`).
    case eventsRead = "events:read"
    /// Audit queries (`GET /v1/audit/…`), personal fields hidden.
    case auditRead = "audit:read"
    /// One order with its timeline (`GET /v1/orders/{id}`).
    case ordersRead = "orders:read"
    /// ShipOrder, CancelOrder, ApproveRefund, RejectRefund, RefundPayment.
    case ordersWrite = "orders:write"
    /// ListGoods, UpdateGoods, ChangePrice, Restock, AdjustStock, Delist, Relist.
    case goodsWrite = "goods:write"
    /// CreateCoupon, DisableCoupon.
    case couponsWrite = "coupons:write"
    /// `GET /v1/analytics/…`.
    case analyticsRead = "analytics:read"
    /// `GET /v1/admin/projections` and rebuilds.
    case projectionsManage = "projections:manage"
    /// RegisterWebhook, DisableWebhook, ReplayWebhookDeadLetters and `GET /v1/admin/webhooks`.
    case webhooksManage = "webhooks:manage"

    /// The least role whose key may hold this scope: a merchant's key cannot read the audit trail.
    public var minimumRole: Role {
        switch self {
        case .ordersRead, .ordersWrite, .goodsWrite, .analyticsRead: return .merchant
        case .eventsRead, .auditRead, .couponsWrite, .projectionsManage, .webhooksManage: return .admin
        }
    }

    public static func < (lhs: Scope, rhs: Scope) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A verified API key as the engine sees it on a request: who it acts for,
/// with the owner's role as the user record says now, and its scopes.
public struct ApiKeyCredential: Hashable, Codable, Sendable {
    public var keyId: ApiKeyId
    public var owner: UserId
    public var role: Role
    public var scopes: Set<Scope>

    public init(keyId: ApiKeyId, owner: UserId, role: Role, scopes: Set<Scope>) {
        self.keyId = keyId
        self.owner = owner
        self.role = role
        self.scopes = scopes
    }

    public func allows(_ scope: Scope) -> Bool { scopes.contains(scope) }
}

/// The SHA-256 of a secret, as lowercase hex: what the log keeps of an API
/// key. Shown to nobody: when events are presented to people (audit, the
/// event feed) it reads as redacted.
public struct SecretDigest: Hashable, Codable, Sendable {
    public var hex: String

    public init(hex: String) { self.hex = hex }

    public init(from decoder: any Decoder) throws {
        hex = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(encoder.userInfo[.redactingSecrets] == nil ? hex : Secrets.redacted)
    }
}

public enum Secrets {
    /// What a secret (a password hash, a key digest) reads as wherever events are shown to people.
    public static let redacted = "⟨redacted⟩"
}

public struct ApiKeyState: Hashable, Codable, Sendable {
    public var keyId: ApiKeyId?
    public var ownerId: UserId?
    public var name = ""
    public var scopes: [Scope] = []
    public var expiresAt: Instant?
    public var secretDigest: SecretDigest?
    public var issuedAt: Instant?
    public var issuedBy = ""
    public var revokedAt: Instant?

    public init() {}

    public var exists: Bool { keyId != nil }
    public var isRevoked: Bool { revokedAt != nil }

    public func evolve(_ event: ApiKeyEvent) -> ApiKeyState {
        var next = self
        switch event {
        case .issued(let issued):
            next.keyId = issued.keyId
            next.ownerId = issued.ownerId
            next.name = issued.name
            next.scopes = issued.scopes
            next.expiresAt = issued.expiresAt
            next.secretDigest = issued.secretDigest
            next.issuedAt = issued.at
            next.issuedBy = issued.issuedBy
        case .revoked(let revoked): next.revokedAt = revoked.at
        }
        return next
    }
}

public struct IssueApiKey: Hashable, Sendable {
    public var keyId: ApiKeyId
    public var ownerId: UserId
    public var name: String
    public var scopes: [Scope]
    public var expiresAt: Instant?
    /// The SHA-256 of the secret the engine made; the secret itself never reaches the domain.
    public var secretDigest: SecretDigest
    public var at: Instant

    public init(
        keyId: ApiKeyId, ownerId: UserId, name: String, scopes: [Scope], expiresAt: Instant?, secretDigest: SecretDigest, at: Instant
    ) {
        self.keyId = keyId
        self.ownerId = ownerId
        self.name = name
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.secretDigest = secretDigest
        self.at = at
    }
}

public enum ApiKeys {
    /// An admin (signed in as a person, not through a key) issues a key for
    /// an admin or a merchant, with scopes that owner's role may hold.
    public static func issue(_ command: IssueApiKey, actor: Actor, key: ApiKeyState, owner: UserState) throws(Rejection) -> Decision {
        guard case .user(_, .admin) = actor else { throw Rejection(.forbidden, "only an admin, signed in, issues API keys") }
        try Limits.text(command.name, "name", max: Limits.apiKeyNameCharactersMax)
        guard !command.scopes.isEmpty else { throw Rejection(.invalidInput, "a key needs at least one scope", field: "scopes") }
        guard Set(command.scopes).count == command.scopes.count else {
            throw Rejection(.invalidInput, "each scope appears once", field: "scopes")
        }
        if let expiresAt = command.expiresAt {
            guard expiresAt > command.at, expiresAt <= command.at.adding(seconds: Int64(Limits.apiKeyLifetimeDaysMax) * 86_400) else {
                throw Rejection(
                    .invalidInput, "expiresAt must be in the future and at most \(Limits.apiKeyLifetimeDaysMax) days away",
                    field: "expiresAt")
            }
        }
        guard owner.exists, !owner.isForgotten else { throw Rejection(.userNotFound, "no user \(command.ownerId)") }
        for scope in command.scopes where owner.role < scope.minimumRole {
            throw Rejection(
                .scopeNotAllowed, "a \(owner.role.rawValue)'s key cannot hold \(scope.rawValue) (it needs a \(scope.minimumRole.rawValue))",
                field: "scopes")
        }
        guard !key.exists else { throw Rejection(.apiKeyAlreadyExists, "key \(command.keyId) exists") }
        var decision = Decision()
        decision.append(
            .apiKey(
                .issued(
                    ApiKeyIssued(
                        keyId: command.keyId, ownerId: command.ownerId, name: command.name, scopes: command.scopes.sorted(),
                        expiresAt: command.expiresAt, secretDigest: command.secretDigest,
                        issuedBy: actor.description, at: command.at))),
            to: .apiKey(command.keyId))
        return decision
    }

    /// An admin, or the key's owner (signed in as a person), revokes a key; it stops working at once.
    public static func revoke(reason: String, actor: Actor, key: ApiKeyState, at: Instant) throws(Rejection) -> Decision {
        guard let keyId = key.keyId else { throw Rejection(.apiKeyNotFound, "no such key") }
        guard case .user(let id, let role) = actor, role == .admin || id == key.ownerId else {
            throw Rejection(.forbidden, "only an admin or the key's owner, signed in, revokes a key")
        }
        try Limits.text(reason, "reason", max: Limits.reasonCharactersMax, allowEmpty: true)
        guard !key.isRevoked else { throw Rejection(.apiKeyRevoked, "the key is revoked already") }
        var decision = Decision()
        decision.append(.apiKey(.revoked(ApiKeyRevoked(reason: reason, revokedBy: actor.description, at: at))), to: .apiKey(keyId))
        return decision
    }
}
