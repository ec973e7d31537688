import Commerce
import Crypto
import Foundation
import LMDB
import Synchronization

/// One AES-256-GCM key per user, kept outside the log (`<data>/keys`), so
/// personal data in the log can be erased by destroying a key
/// (crypto-shredding). Keys are made on first use; `destroyKey` is final.
///
/// A sealed value is `sealed:v1:<owner uuid>:<base64(nonce‖ciphertext‖tag)>`;
/// the owner's id is the authenticated data, so a value moved to another
/// user's event does not open.
public final class KeyVault: PersonalDataCipher, @unchecked Sendable {
    static let keyBytes = 32
    static let nonceBytes = 12
    static let cachedKeysMax = 100_000

    private let environment: Environment
    private let keys: Database
    /// Destroyed keys, so a key can never be made again for a forgotten user.
    private let destroyed: Database
    /// Shop-wide secrets: the key that names email claims (`email-<keyed hash>`).
    private let index: Database
    private let randomBytes: @Sendable (Int) -> [UInt8]
    /// Known keys and known absences (nil), by owner.
    private let cache = Mutex<[UserId: SymmetricKey?]>([:])
    /// Serialises key creation, so two seals for a new user agree on one key.
    private let creation = Mutex<Void>(())
    private let indexKeyCache = Mutex<SymmetricKey?>(nil)
    /// Keys made here since the last `takeNewKeys()` (a cluster node publishes them to the shared vault).
    private let made = Mutex<[(owner: UserId, key: [UInt8])]>([])

    public init(
        directory: String, readOnly: Bool = false,
        randomBytes: @escaping @Sendable (Int) -> [UInt8] = KeyVault.systemRandomBytes
    ) throws {
        if !readOnly { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        var options = EnvironmentOptions()
        options.initialMapSizeBytes = 16 << 20
        options.readOnly = readOnly
        options.maxDatabases = 4
        environment = try Environment(directory: directory, options: options)
        keys = try environment.openDatabase("userKeys")
        destroyed = try environment.openDatabase("destroyedKeys")
        index = try environment.openDatabase("shop")
        self.randomBytes = randomBytes
    }

    /// Bytes from the system's generator, eight per draw (each draw is a `getrandom` call; a byte per draw was twelve calls a nonce).
    public static let systemRandomBytes: @Sendable (Int) -> [UInt8] = { count in
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 7)
        while bytes.count < count { withUnsafeBytes(of: generator.next()) { bytes.append(contentsOf: $0) } }
        bytes.removeLast(bytes.count - count)
        return bytes
    }

    public func close() { environment.close() }

    // MARK: PersonalDataCipher

    public func seal(_ text: String, owner: UserId) throws -> String {
        try seal(text, owner: owner, nonce: randomBytes(Self.nonceBytes))
    }

    /// The same keys, with nonces from the system's generator: for sealing
    /// outside the log (snapshots), so a seeded run's log does not depend on
    /// when snapshots happen to be taken.
    public var detachedCipher: any PersonalDataCipher { DetachedCipher(vault: self) }

    struct DetachedCipher: PersonalDataCipher {
        let vault: KeyVault
        func seal(_ text: String, owner: UserId) throws -> String {
            try vault.seal(text, owner: owner, nonce: KeyVault.systemRandomBytes(KeyVault.nonceBytes))
        }
        func open(_ sealed: String) -> String? { vault.open(sealed) }
    }

    private func seal(_ text: String, owner: UserId, nonce nonceBytes: [UInt8]) throws -> String {
        let key = try keyCreatingIfNeeded(for: owner)
        let nonce = try AES.GCM.Nonce(data: nonceBytes)
        let box = try AES.GCM.seal(Array(text.utf8), using: key, nonce: nonce, authenticating: Self.authenticatedData(owner))
        guard let combined = box.combined else { throw VaultError("AES-GCM gave no combined form") }
        return PersonalData.sealedPrefix + owner.description + ":" + combined.base64EncodedString()
    }

    /// Read in place: every sealed field of every event replayed comes through here.
    public func open(_ sealed: String) -> String? {
        var sealed = sealed
        return sealed.withUTF8 { text -> String? in
            let prefix = PersonalData.sealedPrefix.utf8.count
            guard text.count > prefix + 37, text[prefix + 36] == UInt8(ascii: ":") else { return nil }
            let ownerText = UnsafeBufferPointer(rebasing: text[prefix..<(prefix + 36)])
            guard let owner = UserId(utf8: ownerText),
                let combined = Data(base64Encoded: Data(UnsafeBufferPointer(rebasing: text[(prefix + 37)...]))),
                let key = (try? existingKey(for: owner)) ?? nil,
                let box = try? AES.GCM.SealedBox(combined: combined),
                let plain = try? AES.GCM.open(box, using: key, authenticating: Self.authenticatedDataPrefix + Array(ownerText))
            else { return nil }
            return String(decoding: plain, as: UTF8.self)
        }
    }

    // MARK: Pseudonyms

    /// A stable pseudonym for a personal value used as a name in the log (an
    /// email claim's stream): HMAC-SHA256 under a shop key kept here, so the
    /// log never holds the value and a guessed address cannot be checked
    /// against it without this directory.
    public func pseudonym(for text: String) throws -> String {
        let key = try indexKey()
        let mac = HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key)
        return mac.prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    private func indexKey() throws -> SymmetricKey {
        if let key = indexKeyCache.withLock({ $0 }) { return key }
        let name = Self.pseudonymKeyName
        let key: SymmetricKey
        if let stored = try environment.read({ txn in try txn.get(index, key: name).map { Array($0) } }) {
            key = SymmetricKey(data: stored)
        } else {
            key = try creation.withLock { _ in
                try environment.write { txn in
                    if let stored = try txn.get(index, key: name) { return SymmetricKey(data: Array(stored)) }
                    let bytes = randomBytes(Self.keyBytes)
                    try txn.put(index, key: name, value: bytes)
                    return SymmetricKey(data: bytes)
                }
            }
        }
        indexKeyCache.withLock { $0 = key }
        return key
    }

    // MARK: Keys

    /// True when `owner`'s key was destroyed (the user is forgotten).
    public func wasDestroyed(for owner: UserId) throws -> Bool {
        try environment.read { txn in try txn.get(destroyed, key: Self.idBytes(owner)) != nil }
    }

    /// True when the vault holds the shop key that names email claims: a log with claims needs it, or emails could be claimed twice.
    public func hasPseudonymKey() throws -> Bool {
        try environment.read { txn in try txn.get(index, key: Self.pseudonymKeyName) != nil }
    }

    /// True when `owner` has a live key.
    public func hasKey(for owner: UserId) throws -> Bool { try existingKey(for: owner) != nil }

    /// Destroys `owner`'s key: every sealed field of theirs reads as erased from now on.
    /// The key's bytes are overwritten before the entry is deleted.
    public func destroyKey(for owner: UserId) throws {
        try creation.withLock { _ in
            try environment.write { txn in
                let id = Self.idBytes(owner)
                if try txn.get(keys, key: id) != nil {
                    try txn.put(keys, key: id, value: [UInt8](repeating: 0, count: Self.keyBytes))
                    _ = try txn.delete(keys, key: id)
                }
                try txn.put(destroyed, key: id, value: [])
            }
            cache.withLock { $0[owner] = .some(nil) }
        }
    }

    private func existingKey(for owner: UserId) throws -> SymmetricKey? {
        if let cached = cache.withLock({ $0[owner] }) { return cached }
        let key = try environment.read { txn in try txn.get(keys, key: Self.idBytes(owner)).map { SymmetricKey(data: Array($0)) } }
        remember(owner, key)
        return key
    }

    private func keyCreatingIfNeeded(for owner: UserId) throws -> SymmetricKey {
        if let key = try existingKey(for: owner) { return key }
        return try creation.withLock { _ in
            let made: SymmetricKey = try environment.write { txn in
                let id = Self.idBytes(owner)
                if let stored = try txn.get(keys, key: id) { return SymmetricKey(data: Array(stored)) }
                guard try txn.get(destroyed, key: id) == nil else {
                    throw VaultError("the key of user \(owner) was destroyed (the user is forgotten)")
                }
                let bytes = randomBytes(Self.keyBytes)
                try txn.put(keys, key: id, value: bytes)
                self.made.withLock { $0.append((owner, bytes)) }
                return SymmetricKey(data: bytes)
            }
            remember(owner, made)
            return made
        }
    }

    private func remember(_ owner: UserId, _ key: SymmetricKey?) {
        cache.withLock { cache in
            if cache.count >= Self.cachedKeysMax { cache.removeAll(keepingCapacity: true) }
            cache[owner] = .some(key)
        }
    }

    static let pseudonymKeyName = Array("emailIndexKey".utf8)

    // MARK: Sharing keys between the nodes of a cluster

    /// The keys made here since the last call, to publish to the vault every node shares.
    public func takeNewKeys() -> [(owner: UserId, key: [UInt8])] {
        made.withLock { made in
            defer { made = [] }; return made
        }
    }

    /// Puts back keys `takeNewKeys()` returned that could not be published, for the next attempt.
    public func returnNewKeys(_ keys: [(owner: UserId, key: [UInt8])]) { made.withLock { $0 = keys + $0 } }

    /// Stores a key another node made (a key already held, or destroyed here, is left as it is).
    public func adopt(key bytes: [UInt8], for owner: UserId) throws {
        guard bytes.count == Self.keyBytes else {
            throw VaultError("a shared key for \(owner) is \(bytes.count) bytes, not \(Self.keyBytes)")
        }
        try creation.withLock { _ in
            try environment.write { txn in
                let id = Self.idBytes(owner)
                guard try txn.get(keys, key: id) == nil, try txn.get(destroyed, key: id) == nil else { return }
                try txn.put(keys, key: id, value: bytes)
            }
        }
        cache.withLock { _ = $0.removeValue(forKey: owner) }
    }

    /// The shop key that names email claims, made now when missing.
    public func pseudonymKeyBytes() throws -> [UInt8] { try indexKey().withUnsafeBytes { Array($0) } }

    /// Replaces the shop key that names email claims with the cluster's (a node joining a cluster takes the shared one).
    public func adoptPseudonymKey(_ bytes: [UInt8]) throws {
        guard bytes.count == Self.keyBytes else { throw VaultError("the shared shop key is \(bytes.count) bytes, not \(Self.keyBytes)") }
        try creation.withLock { _ in try environment.write { txn in try txn.put(index, key: Self.pseudonymKeyName, value: bytes) } }
        indexKeyCache.withLock { $0 = nil }
    }

    /// The 16 bytes that name `owner` in the vault (and in the shared vault).
    public static func ownerBytes(_ owner: UserId) -> [UInt8] { idBytes(owner) }

    public static func owner(fromBytes bytes: [UInt8]) -> UserId? {
        guard bytes.count == 16 else { return nil }
        let uuid = bytes.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
        return UserId(uuid)
    }

    // MARK: Moving keys between shops

    /// Everything the vault holds: live keys, destroyed ids and shop keys, for `KeyArchive`.
    public struct Contents: Codable, Sendable, Equatable {
        /// Base64 of the 16 id bytes → base64 of the 32 key bytes.
        public var keys: [String: String]
        public var destroyed: [String]
        public var shop: [String: String]
    }

    public func contents() throws -> Contents {
        try environment.read { txn in
            func all(_ database: Database) throws -> [([UInt8], [UInt8])] {
                var entries: [([UInt8], [UInt8])] = []
                try txn.withCursor(database) { cursor in
                    var entry = try cursor.first()
                    while let (key, value) = entry {
                        entries.append((Array(key), Array(value)))
                        entry = try cursor.next()
                    }
                }
                return entries
            }
            func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
            return Contents(
                keys: Dictionary(uniqueKeysWithValues: try all(keys).map { (base64($0.0), base64($0.1)) }),
                destroyed: try all(destroyed).map { base64($0.0) }.sorted(),
                shop: Dictionary(uniqueKeysWithValues: try all(index).map { (base64($0.0), base64($0.1)) }))
        }
    }

    /// Writes `contents` into this (empty) vault; a vault that holds keys already is refused.
    public func load(_ contents: Contents) throws {
        try creation.withLock { _ in
            try environment.write { txn in
                let empty = try txn.withCursor(keys) { try $0.first() == nil } && txn.withCursor(index) { try $0.first() == nil }
                guard empty else { throw VaultError("the key vault holds keys already; load an archive into a new data directory") }
                func bytes(_ text: String) throws -> [UInt8] {
                    guard let data = Data(base64Encoded: text) else { throw VaultError("the key archive is damaged") }
                    return Array(data)
                }
                for (id, key) in contents.keys { try txn.put(keys, key: try bytes(id), value: try bytes(key)) }
                for id in contents.destroyed { try txn.put(destroyed, key: try bytes(id), value: []) }
                for (name, value) in contents.shop { try txn.put(index, key: try bytes(name), value: try bytes(value)) }
            }
        }
        cache.withLock { $0.removeAll() }
        indexKeyCache.withLock { $0 = nil }
    }

    static func idBytes(_ owner: UserId) -> [UInt8] { withUnsafeBytes(of: owner.uuid.uuid) { Array($0) } }
    static let authenticatedDataPrefix = Array("emporium-personal-v1:".utf8)
    /// The owner's id, as written in the sealed value (lowercase), after a fixed prefix.
    static func authenticatedData(_ owner: UserId) -> [UInt8] { authenticatedDataPrefix + Array(owner.description.utf8) }
}

public struct VaultError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
