import Commerce
import Crypto
import EventStore
import Foundation
import Synchronization

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
    /// Tokens already verified, with what they stand for: a request repeats its
    /// token, and checking the signature and claims again is most of the cost of
    /// a small command. Keyed by the whole token, signature included; expiry is
    /// still checked on every use. Bounded: emptied when full.
    private let verified = VerifiedTokens()

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
        if let (actor, expires) = verified.lookup(token) {
            guard expires > nowSeconds else { throw EngineError(.tokenExpired, "the token has expired; log in again") }
            return actor
        }
        guard token.utf8.count <= Self.tokenCharactersMax else { throw EngineError(.invalidToken, "the token is too long") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let signature = Self.unbase64URL(String(parts[1])), let body = Self.unbase64URL(String(parts[0])) else {
            throw EngineError(.invalidToken, "the token is malformed")
        }
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Array(parts[0].utf8), using: key) else {
            throw EngineError(.invalidToken, "the token's signature is wrong")
        }
        guard let claims = try? JSONDecoder().decode(Claims.self, from: Data(body)), let user = UserId(claims.sub) else {
            throw EngineError(.invalidToken, "the token's claims are unreadable")
        }
        guard claims.exp > nowSeconds else { throw EngineError(.tokenExpired, "the token has expired; log in again") }
        verified.remember(token, actor: .user(user, claims.role), expires: claims.exp)
        return .user(user, claims.role)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func unbase64URL(_ text: String) -> [UInt8]? {
        var base64 = Array(text.utf8).map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "-"): return UInt8(ascii: "+")
            case UInt8(ascii: "_"): return UInt8(ascii: "/")
            default: return byte
            }
        }
        while base64.count % 4 != 0 { base64.append(UInt8(ascii: "=")) }
        return Data(base64Encoded: Data(base64)).map(Array.init)
    }
}

final class VerifiedTokens: Sendable {
    static let entriesMax = 50_000
    private let entries = Mutex<[String: (actor: Actor, expires: Int64)]>([:])

    func lookup(_ token: String) -> (Actor, Int64)? {
        entries.withLock { $0[token].map { ($0.actor, $0.expires) } }
    }

    func remember(_ token: String, actor: Actor, expires: Int64) {
        entries.withLock { entries in
            if entries.count >= Self.entriesMax { entries.removeAll(keepingCapacity: true) }
            entries[token] = (actor, expires)
        }
    }
}
