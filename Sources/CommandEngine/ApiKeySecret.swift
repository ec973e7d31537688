import Commerce
import Crypto
import Foundation

/// An API key's secret: `emp_<key id, 32 hex digits>_<32 random bytes, base64url>`.
/// It is shown once, in IssueApiKey's answer; the log keeps its SHA-256. A
/// high-entropy secret needs no slow hash: nobody can guess it to test
/// against the digest.
enum ApiKeySecret {
    static let prefix = "emp_"
    static let randomBytes = 32
    static let charactersMax = 128

    static func make(keyId: ApiKeyId, randomBytes: [UInt8]) -> String {
        prefix + keyId.description.replacingOccurrences(of: "-", with: "") + "_" + TokenAuthority.base64URL(randomBytes)
    }

    static func digest(_ secret: String) -> SecretDigest {
        SecretDigest(hex: SHA256.hash(data: Array(secret.utf8)).map { String(format: "%02x", $0) }.joined())
    }

    /// The key id a secret names, or nil when it is not shaped like one.
    static func keyId(in secret: String) -> ApiKeyId? {
        let utf8 = Array(secret.utf8)
        let start = prefix.utf8.count
        guard secret.hasPrefix(prefix), utf8.count <= charactersMax, utf8.count > start + 33, utf8[start + 32] == UInt8(ascii: "_") else {
            return nil
        }
        var hex = String(decoding: utf8[start..<(start + 32)], as: UTF8.self)
        for offset in [8, 13, 18, 23] { hex.insert("-", at: hex.index(hex.startIndex, offsetBy: offset)) }
        return ApiKeyId(hex)
    }

    /// Equal digests, compared in constant time.
    static func matches(_ secret: String, _ stored: SecretDigest) -> Bool {
        let left = Array(digest(secret).hex.utf8)
        let right = Array(stored.hex.utf8)
        guard left.count == right.count else { return false }
        return zip(left, right).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

extension Engine {
    /// The actor a bearer credential stands for: a login token, or an API
    /// key (`emp_…`) that exists, matches, is neither revoked nor expired,
    /// and whose owner still exists. Every failure is 401 with its code.
    public func authenticate(bearer: String) throws -> Actor {
        guard bearer.hasPrefix(ApiKeySecret.prefix) else { return try tokens.verify(bearer) }
        guard let keyId = ApiKeySecret.keyId(in: bearer) else { throw EngineError(.invalidAPIKey, "the API key is malformed") }
        let key: ApiKeyState = try state(.apiKey(keyId))
        guard let stored = key.secretDigest, let owner = key.ownerId, ApiKeySecret.matches(bearer, stored) else {
            throw EngineError(.invalidAPIKey, "no such API key")
        }
        guard !key.isRevoked else { throw EngineError(.apiKeyRevoked, "the API key was revoked") }
        if let expiresAt = key.expiresAt, now >= expiresAt {
            throw EngineError(.apiKeyExpired, "the API key expired at \(expiresAt.millisecondsSinceEpoch)")
        }
        let user: UserState = try state(.user(owner))
        guard user.exists, !user.isForgotten else { throw EngineError(.unknownUser, "the API key's owner does not exist") }
        return .apiKey(ApiKeyCredential(keyId: keyId, owner: owner, role: user.role, scopes: Set(key.scopes)))
    }
}
