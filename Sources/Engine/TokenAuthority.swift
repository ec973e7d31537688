import Commerce
import Crypto
import EventLog
import Foundation

/// Signed, expiring bearer tokens: `base64url(claims).base64url(HMAC-SHA256(claims))`.
/// A token proves who the caller is; the engine reads their current role from
/// their user record on every command.
public struct TokenAuthority: Sendable {
    public static let secretBytesMin = 32
    static let tokenCharactersMax = 1_024

    struct Claims: Codable {
        var sub: String
        var role: Role
        var iat: Int64
        var exp: Int64
    }

    private let key: SymmetricKey
    let lifetimeSeconds: Int64
    let clock: any LogClock

    public init(secret: [UInt8], lifetimeSeconds: Int64, clock: any LogClock) {
        key = SymmetricKey(data: secret)
        self.lifetimeSeconds = lifetimeSeconds
        self.clock = clock
    }

    private var nowSeconds: Int64 { clock.now().nanosecondsSinceEpoch / 1_000_000_000 }

    public func issue(for user: UserId, role: Role) -> String {
        let now = nowSeconds
        let claims = Claims(sub: user.description, role: role, iat: now, exp: now + lifetimeSeconds)
        let body = Self.base64URL(Array((try? JSONEncoder().encode(claims)) ?? Data()))
        return body + "." + Self.base64URL(Array(HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: key)))
    }

    /// The actor a bearer token stands for, or why it stands for no one.
    public func verify(_ token: String) throws(EngineError) -> Actor {
        guard token.count <= Self.tokenCharactersMax else { throw EngineError(.unauthenticated, code: "invalid_token", "the token is too long") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let signature = Self.unbase64URL(String(parts[1])), let body = Self.unbase64URL(String(parts[0])) else {
            throw EngineError(.unauthenticated, code: "invalid_token", "the token is malformed")
        }
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Array(parts[0].utf8), using: key) else {
            throw EngineError(.unauthenticated, code: "invalid_token", "the token's signature is wrong")
        }
        guard let claims = try? JSONDecoder().decode(Claims.self, from: Data(body)), let user = UserId(claims.sub) else {
            throw EngineError(.unauthenticated, code: "invalid_token", "the token's claims are unreadable")
        }
        guard claims.exp > nowSeconds else { throw EngineError(.unauthenticated, code: "token_expired", "the token has expired; log in again") }
        return .user(user, claims.role)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func unbase64URL(_ text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }
}
