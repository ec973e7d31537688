import Foundation

// MARK: API keys

/// An API key was issued. The log keeps the SHA-256 of its secret, never the secret.
public struct ApiKeyIssued: EventPayload {
    public static let eventType = "ApiKeyIssued"
    public var keyId: ApiKeyId
    public var ownerId: UserId
    public var name: String
    public var scopes: [Scope]
    public var expiresAt: Instant?
    public var secretDigest: SecretDigest
    public var issuedBy: String
    public var at: Instant

    public init(
        keyId: ApiKeyId, ownerId: UserId, name: String, scopes: [Scope], expiresAt: Instant?, secretDigest: SecretDigest, issuedBy: String,
        at: Instant
    ) {
        self.keyId = keyId
        self.ownerId = ownerId
        self.name = name
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.secretDigest = secretDigest
        self.issuedBy = issuedBy
        self.at = at
    }
}
public struct ApiKeyRevoked: EventPayload {
    public static let eventType = "ApiKeyRevoked"; public var reason: String; public var revokedBy: String; public var at: Instant
    public init(reason: String, revokedBy: String, at: Instant) { self.reason = reason; self.revokedBy = revokedBy; self.at = at }
}

public enum ApiKeyEvent: Hashable, Sendable {
    case issued(ApiKeyIssued)
    case revoked(ApiKeyRevoked)
}
