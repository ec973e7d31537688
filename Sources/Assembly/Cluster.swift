import CommandEngine
import Commerce
import Crypto
import EventStore
import Foundation
import Logging
import PostgresStore
import ServiceLifecycle
import Synchronization

/// How a node joins a shop whose log of record is PostgreSQL: `emporium serve --log postgres://…`.
public struct ClusterOptions: Sendable {
    public var logOfRecord: PostgresEndpoint
    /// Wraps the keys of the vault every node shares; every node of the shop needs the same secret.
    public var vaultSecret: String
    /// How this node is listed in `emporium cluster status`.
    public var nodeName: String
    /// Where this node serves, as listed.
    public var address: String
    public var logger = Logger(label: "emporium.cluster")
    /// Connections to PostgreSQL this node keeps.
    public var connectionsMax = PostgresLog.Options().connectionsMax
    /// How many streams' chains (and as many actors' and types') the node keeps knowing (`PostgresLog.Options`).
    public var chainsKnownMax = PostgresLog.Options().chainsKnownMax
    /// How long a request to PostgreSQL may take before the node answers `log_unavailable` (a failover, a cut link).
    public var answerTimeout = Duration.seconds(5)
    /// How long connecting to PostgreSQL may take at the start, the schema created, checked or upgraded (`PostgresLog`).
    public var startTimeout = PostgresLog.Options().startTimeout

    public init(logOfRecord: PostgresEndpoint, vaultSecret: String, nodeName: String, address: String) {
        self.logOfRecord = logOfRecord
        self.vaultSecret = vaultSecret
        self.nodeName = nodeName
        self.address = address
    }
}

/// A node's link to its cluster: the log of record its local log copies and appends to, the vault all nodes share,
/// and the registry it reports to.
public final class ClusterLink: Sendable {
    public let ofRecord: PostgresLog
    public let options: ClusterOptions
    let vault: SharedVault
    let startedAt: Timestamp
    /// The engine built over the replica, once it is (told of users another node forgot).
    let engine = Mutex<Engine?>(nil)

    /// The advisory-lock lease of the order-expiry sweeper.
    static let expiryLease: Int64 = 0x656d_7065_7870_6972  // "empexpir"
    static let webhookLease: Int64 = 0x656d_7077_6562_686b  // "empwebhk"

    init(ofRecord: PostgresLog, vault: SharedVault, options: ClusterOptions, startedAt: Timestamp) {
        self.ofRecord = ofRecord
        self.vault = vault
        self.options = options
        self.startedAt = startedAt
    }

    func attach(_ engine: Engine) { self.engine.withLock { $0 = engine } }

    /// Before a page of the log of record is copied: the keys its records are sealed with, and the users it forgets.
    @Sendable func beforeCopying(_ page: [RecordedEvent]) async throws {
        try await vault.fetchNewKeys()
        try await forgetUsers(in: page)
    }

    /// Destroys, in the shared vault and here, the keys of the users `records` forget.
    func forgetUsers(in records: [RecordedEvent]) async throws {
        let forgotten = records.filter { $0.type == UserForgotten.eventType }.compactMap {
            UserId(String($0.stream.rawValue.dropFirst("user-".count)))
        }
        guard !forgotten.isEmpty else { return }
        for user in forgotten { try await ofRecord.destroyKey(owner: KeyVault.ownerBytes(user)) }
        try engine.withLock { $0 }?.forgetUsersForgottenElsewhere(forgotten)
    }

    /// Copies into `log` what the log of record holds beyond it, then every new commit, until the task is cancelled; throws
    /// when the log of record cannot be read or the replica diverges (`ReplicaService` retries the first, stops on the second).
    public func follow(_ log: EventLog) async throws {
        try await log.replicate(from: ofRecord, beforeCopying: beforeCopying)
    }

    /// Copies this node's own commit into its replica as soon as it is made (no read back from PostgreSQL). When that fails,
    /// nothing is lost: the copier reads the records back, and forgets their users, as it does for other nodes' commits.
    func copyOwnCommit(_ records: [RecordedEvent], into log: EventLog) async {
        do {
            try await forgetUsers(in: records)
            try await log.copy(records, mayBeAhead: true)
        } catch {
            options.logger.warning(
                "copying this node's own commit failed; the copier will bring it",
                metadata: ["error": "\(error)", "first.position": "\(records.first?.position ?? 0)"])
        }
    }

    /// Copies `log` up to the log of record's head as it is now; `progress` is told the head after each page.
    func catchUp(_ log: EventLog, progress: (@Sendable (UInt64, UInt64) -> Void)? = nil) async throws {
        let target = try await ofRecord.head().position
        try await log.replicate(from: ofRecord, through: target, beforeCopying: beforeCopying) { progress?($0, target) }
    }

    /// Keeps the replica copying and the registry told, until the group shuts down. A log of record that cannot be read is
    /// retried; a replica that diverges stops the node (its read models would be wrong).
    struct ReplicaService: Service {
        let link: ClusterLink
        let log: EventLog

        func run() async throws {
            let logger = link.options.logger
            let reporter = Task {
                while !Task.isCancelled {
                    do {
                        try await link.ofRecord.report(
                            node: link.options.nodeName, address: link.options.address, replicaHead: log.headPosition,
                            startedAt: link.startedAt)
                    } catch {
                        // The log of record warns once when it stops answering, and once when it answers again.
                        logger.debug("could not report this node to the cluster", metadata: ["error": "\(error)"])
                    }
                    do { try await Task.sleep(for: .seconds(1)) } catch { return }  // cancelled: the node stops
                }
            }
            defer { reporter.cancel() }
            try await cancelWhenGracefulShutdown { try await link.keepCopying(into: log) }
        }
    }

    /// Copies from the log of record into `log` until the task is cancelled: while the log of record does not answer
    /// (failing over, or this node cut off from it) the replica keeps what it has and serves it, and copying resumes once
    /// it answers; a replica that diverges throws (its read models would be wrong).
    public func keepCopying(into log: EventLog) async throws {
        while !Task.isCancelled {
            do {
                try await follow(log)
            } catch let error as EventLogError {
                if case .replicaDiverged = error {
                    options.logger.critical("the replica differs from the log of record; stopping", metadata: ["error": "\(error)"])
                    throw error
                }
                if Task.isCancelled { return }
                options.logger.debug("copying from the log of record failed; retrying", metadata: ["error": "\(error)"])
                do { try await Task.sleep(for: .seconds(1)) } catch { return }  // cancelled: the node stops
            }
        }
    }

    /// A PostgreSQL advisory lock, `id`, held on one connection of the log of record.
    struct Lease: SingleRunnerLease {
        let ofRecord: PostgresLog
        let id: Int64
        func whileHeld(_ body: @escaping @Sendable () async -> Void) async throws -> Bool {
            try await ofRecord.whileHoldingLease(id, body)
        }
    }
}

/// The key vault every node shares, in PostgreSQL, each key wrapped (AES-GCM) under a master key derived from the
/// cluster's vault secret; each node keeps its own copy in `keys/` and fetches what other nodes made before copying the
/// records sealed with it (a key is published before the first append that uses it). Destroying a key destroys the
/// shared row too; every node destroys its copy when the `UserForgotten` reaches its replica.
final class SharedVault: Sendable {
    let local: KeyVault
    let ofRecord: PostgresLog
    let master: SymmetricKey
    private let seen = Atomic<Int64>(0)

    init(local: KeyVault, ofRecord: PostgresLog, secret: String) {
        self.local = local
        self.ofRecord = ofRecord
        master = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Array(secret.utf8)), info: Array("emporium-shared-vault-v1".utf8), outputByteCount: 32)
    }

    static let pseudonymKeyName = "email-index"

    /// Takes the cluster's shop key (or gives it this node's, when it is the first) and every key stored so far.
    func join() async throws {
        let proposed = try wrap(try local.pseudonymKeyBytes(), as: Self.pseudonymKeyName)
        let shared = try unwrap(try await ofRecord.shopKey(Self.pseudonymKeyName, proposing: proposed), as: Self.pseudonymKeyName)
        if shared != (try local.pseudonymKeyBytes()) { try local.adoptPseudonymKey(shared) }
        try await publishNewKeys()
        try await fetchNewKeys()
    }

    /// Publishes every key and every destroyed id of the local vault (moving a shop into a cluster).
    func publishEverything() async throws {
        let contents = try local.contents()
        var keys: [(owner: [UInt8], wrapped: [UInt8])] = []
        for (id, key) in contents.keys {
            guard let idBytes = Data(base64Encoded: id), let keyBytes = Data(base64Encoded: key),
                let owner = KeyVault.owner(fromBytes: Array(idBytes))
            else { throw VaultError("the local vault holds a damaged entry") }
            keys.append((Array(idBytes), try wrap(Array(keyBytes), as: owner.description)))
        }
        for start in stride(from: 0, to: keys.count, by: 1_000) {
            try await ofRecord.publishKeys(Array(keys[start..<min(start + 1_000, keys.count)]))
        }
        for id in contents.destroyed {
            guard let idBytes = Data(base64Encoded: id) else { throw VaultError("the local vault holds a damaged entry") }
            try await ofRecord.destroyKey(owner: Array(idBytes))
        }
    }

    /// Publishes the keys this node made since the last call (before the events sealed with them are appended).
    @Sendable func publishNewKeys() async throws {
        let made = local.takeNewKeys()
        guard !made.isEmpty else { return }
        do {
            try await ofRecord.publishKeys(
                try made.map { made in
                    let owner = KeyVault.ownerBytes(made.owner)
                    return (owner, try wrap(made.key, as: made.owner.description))
                })
        } catch {
            local.returnNewKeys(made)  // published before the next append instead: no event sealed with them is appended first
            throw error
        }
    }

    /// Stores here the keys other nodes published and destroys those they destroyed.
    func fetchNewKeys() async throws {
        for key in try await ofRecord.keys(after: seen.load(ordering: .acquiring)) {
            guard let owner = KeyVault.owner(fromBytes: key.owner) else { continue }
            if let wrapped = key.wrapped {
                try local.adopt(key: try unwrap(wrapped, as: owner.description), for: owner)
            } else {
                try local.destroyKey(for: owner)
            }
            seen.store(key.sequence, ordering: .releasing)
        }
    }

    private func wrap(_ key: [UInt8], as name: String) throws -> [UInt8] {
        guard let combined = try AES.GCM.seal(key, using: master, authenticating: Array(name.utf8)).combined else {
            throw VaultError("AES-GCM gave no combined form")
        }
        return Array(combined)
    }

    private func unwrap(_ wrapped: [UInt8], as name: String) throws -> [UInt8] {
        do {
            return Array(try AES.GCM.open(AES.GCM.SealedBox(combined: wrapped), using: master, authenticating: Array(name.utf8)))
        } catch {
            throw VaultError(
                "a key in the shared vault does not open with this node's vault secret (\(name)); every node needs the same secret")
        }
    }
}

extension Shop {
    /// Copies the shop in `directory` (log and key vault) into an empty PostgreSQL log of record, checking every record
    /// comes out identical there; the result is the head both now share. `progress` is told the position copied. A log of
    /// record that holds the beginning of this shop's log already (a migrate that stopped part way) is copied on from
    /// its head; one that holds anything else is refused and left as it is.
    public static func migrate(
        directory: ShopDirectory, to endpoint: PostgresEndpoint, vaultSecret: String, progress: (@Sendable (UInt64, UInt64) -> Void)? = nil
    ) async throws -> LogHead {
        var logOptions = EventLog.Options()
        logOptions.readOnly = true
        let log = try directory.openLog(logOptions)
        defer { log.close() }
        let vault = try directory.openVault(readOnly: false)
        defer { vault.close() }
        let ofRecord = try await PostgresLog.connect(endpoint)
        do {
            let head = try log.head()
            let existing = try await ofRecord.head()
            // A migrate that stopped part way (interrupted, or PostgreSQL out of reach for longer than a page may take)
            // left this shop's first records there: the hash chain says so when the record at its head has its hash.
            let held = existing.position == 0 ? nil : try log.read(from: existing.position, limit: 1).first
            guard existing.position == 0 || held?.hash == existing.hash else {
                throw ShopOpenError(
                    .unopenable,
                    "\(endpoint.redacted) already holds a log (\(existing.position) events) that is not the beginning of this shop's; migrate into an empty database"
                )
            }
            let shared = SharedVault(local: vault, ofRecord: ofRecord, secret: vaultSecret)
            try await shared.join()
            try await shared.publishEverything()
            var next = existing.position + 1
            while next <= head.position {
                let page = try log.read(from: next, limit: LogLimits.readPageEventsMax)
                guard let last = page.last else { break }
                try await ofRecord.copy(page)
                next = last.position + 1
                progress?(last.position, head.position)
            }
            let copied = try await ofRecord.head()
            guard copied == head else {
                throw EventLogError.replicaDiverged(
                    position: copied.position, reason: "the PostgreSQL head is not the local head after the copy")
            }
            await ofRecord.close()
            return copied
        } catch {
            await ofRecord.close()
            throw error
        }
    }
}

/// Where a node's PostgreSQL log hands the records of its own commits, once the replica is ready to take them.
final class CommitHandoff: Sendable {
    private let handler = Mutex<(@Sendable ([RecordedEvent]) async -> Void)?>(nil)

    func start(_ handler: @escaping @Sendable ([RecordedEvent]) async -> Void) { self.handler.withLock { $0 = handler } }

    func hand(_ records: [RecordedEvent]) async { await handler.withLock { $0 }?(records) }
}
