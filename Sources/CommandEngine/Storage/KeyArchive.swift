import Crypto
import Foundation
import History
import _CryptoExtras

/// A shop's key vault wrapped under a passphrase, to travel beside an export
/// (`emporium export --keys-out`, `emporium import --keys`): the vault's
/// contents as JSON, sealed with AES-256-GCM under a key derived from the
/// passphrase with scrypt. Without the passphrase the file reveals nothing;
/// a wrong passphrase or a damaged file is refused.
public struct KeyArchive: Codable, Sendable {
    public static let formatName = "emporium-keys"
    public static let passphraseCharactersMin = 12

    public var format: String
    public var formatVersion: Int
    public var kdf: String
    public var cost: Int
    public var blockSize: Int
    public var parallelism: Int
    public var salt: String
    /// Base64 of nonce ‖ ciphertext ‖ tag.
    public var sealed: String

    public static func seal(_ contents: KeyVault.Contents, passphrase: String) throws -> KeyArchive {
        try checkPassphrase(passphrase)
        let salt = KeyVault.systemRandomBytes(16)
        var archive = KeyArchive(
            format: formatName, formatVersion: 1, kdf: "scrypt", cost: 1 << 15, blockSize: 8, parallelism: 1,
            salt: Data(salt).base64EncodedString(), sealed: "")
        let box = try AES.GCM.seal(try JSONEncoder().encode(contents), using: try archive.key(passphrase))
        guard let combined = box.combined else { throw TransferError("AES-GCM gave no combined form") }
        archive.sealed = combined.base64EncodedString()
        return archive
    }

    public func open(passphrase: String) throws -> KeyVault.Contents {
        guard format == Self.formatName, formatVersion == 1, kdf == "scrypt" else {
            throw TransferError("not an emporium key archive (version 1)")
        }
        guard let combined = Data(base64Encoded: sealed), let box = try? AES.GCM.SealedBox(combined: combined) else {
            throw TransferError("the key archive is damaged")
        }
        guard let plain = try? AES.GCM.open(box, using: try key(passphrase)) else {
            throw TransferError("the passphrase does not open this key archive (or it was altered)")
        }
        return try JSONDecoder().decode(KeyVault.Contents.self, from: plain)
    }

    public static func checkPassphrase(_ passphrase: String) throws {
        guard passphrase.count >= passphraseCharactersMin else {
            throw TransferError("a key archive's passphrase needs at least \(passphraseCharactersMin) characters")
        }
    }

    private func key(_ passphrase: String) throws -> SymmetricKey {
        guard let salt = Data(base64Encoded: salt), (1 << 10...1 << 20).contains(cost), (1...16).contains(blockSize),
            (1...4).contains(parallelism)
        else {
            throw TransferError("the key archive's parameters are out of range")
        }
        return try KDF.Scrypt.deriveKey(
            from: Array(passphrase.utf8), salt: Array(salt), outputByteCount: 32, rounds: cost,
            blockSize: blockSize, parallelism: parallelism)
    }
}
