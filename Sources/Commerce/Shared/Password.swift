import Crypto
import Foundation
import _CryptoExtras

/// scrypt cost parameters; stored with every hash, so old hashes keep verifying
/// after the shop raises them.
public struct PasswordParameters: Hashable, Codable, Sendable {
    /// CPU/memory cost N (a power of two).
    public var cost: Int
    public var blockSize: Int
    public var parallelism: Int

    /// N = 2^15, r = 8, p = 1: about 32 MiB and tens of milliseconds per hash (OWASP's minimum is 2^17 with r=8 at p=1 for
    /// high-value targets; raise it where hardware allows).
    public static let production = PasswordParameters(cost: 1 << 15, blockSize: 8, parallelism: 1)
    /// Cheap parameters for tests and simulations only.
    package static let fastForTests = PasswordParameters(cost: 1 << 4, blockSize: 1, parallelism: 1)

    public init(cost: Int, blockSize: Int, parallelism: Int) {
        self.cost = cost
        self.blockSize = blockSize
        self.parallelism = parallelism
    }
}

/// A salted scrypt hash of a password: what `UserRegistered` and
/// `PasswordChanged` store. The password itself is never stored.
public struct PasswordHash: Hashable, Codable, Sendable {
    public static let saltBytes = 16
    public static let hashBytes = 32

    public var algorithm: String
    public var parameters: PasswordParameters
    /// Base64.
    public var salt: String
    /// Base64.
    public var hash: String

    private enum CodingKeys: String, CodingKey { case algorithm, parameters, salt, hash }

    /// As the synthesized form (the field order is the binary form's), except
    /// for people: where events are shown (audit, the event feed) the hash and
    /// its salt read as redacted.
    public func encode(to encoder: any Encoder) throws {
        if encoder.userInfo[.redactingSecrets] != nil {
            var container = encoder.singleValueContainer()
            try container.encode(Secrets.redacted)
            return
        }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(algorithm, forKey: .algorithm)
        try container.encode(parameters, forKey: .parameters)
        try container.encode(salt, forKey: .salt)
        try container.encode(hash, forKey: .hash)
    }

    /// Hashes `password` with `salt` (random bytes made by the caller: the domain has no randomness).
    public static func make(password: String, salt: [UInt8], parameters: PasswordParameters) throws(Rejection) -> PasswordHash {
        guard salt.count == saltBytes else { throw Rejection(.invalidInput, "a password salt has \(saltBytes) bytes", field: "salt") }
        return PasswordHash(
            algorithm: "scrypt", parameters: parameters,
            salt: Data(salt).base64EncodedString(),
            hash: Data(try derive(password, salt: salt, parameters: parameters)).base64EncodedString())
    }

    /// Compares in constant time.
    public func matches(_ password: String) -> Bool {
        guard algorithm == "scrypt", let salt = Data(base64Encoded: salt), let expected = Data(base64Encoded: hash),
            let actual = try? Self.derive(password, salt: Array(salt), parameters: parameters),
            actual.count == expected.count
        else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(actual, expected) { difference |= left ^ right }
        return difference == 0
    }

    private static func derive(_ password: String, salt: [UInt8], parameters: PasswordParameters) throws(Rejection) -> [UInt8] {
        do {
            let key = try KDF.Scrypt.deriveKey(
                from: Array(password.utf8), salt: salt, outputByteCount: hashBytes,
                rounds: parameters.cost, blockSize: parameters.blockSize,
                parallelism: parameters.parallelism)
            return key.withUnsafeBytes { Array($0) }
        } catch {
            throw Rejection(.invalidInput, "password hashing failed: \(error)", field: "password")
        }
    }
}
