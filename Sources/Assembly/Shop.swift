import CommandEngine
import EventStore
import History
import Logging
import PostgresStore
import ReadModels
import ServiceLifecycle

/// The composition root: a shop's data directory opened once (log, keys,
/// snapshots, read models) and the engine, the projector and the audit desk
/// built over it. `emporium serve`, the CLI, the tests and the benchmarks all
/// open shops through it, and close them in one order: the read models store
/// what they folded, then the vault and the snapshots close, the log last.
public final class Shop: Sendable {
    public struct Options: Sendable {
        /// The engine's secrets, policy, clock and ids. Its clock also stamps the log.
        public var engine: Engine.Configuration
        /// The log's options (map size, fsync, commit observer); its clock is the engine's.
        public var log = EventLog.Options()
        /// Keep aggregate snapshots (`snapshots/`).
        public var snapshots = true
        public var snapshotInterval = SnapshotStore.defaultInterval
        /// Open the read models (`projections/`); nil: a shop without them.
        public var projections: Projector.Options? = Projector.Options()
        /// Where the vault's new keys come from (seeded in fixtures).
        public var keyRandomBytes: @Sendable (Int) -> [UInt8] = KeyVault.systemRandomBytes

        public init(engine: Engine.Configuration) { self.engine = engine }
    }

    public let directory: ShopDirectory
    public let log: EventLog
    public let vault: KeyVault
    public let snapshots: SnapshotStore?
    public let engine: Engine
    public let projector: Projector?

    /// Set on a node of a cluster (`open(directory:options:cluster:)`): the log of record and the shared vault.
    public let cluster: ClusterLink?

    /// Opens (creating what is missing) the shop in `directory`, its log of record the local LMDB log.
    public convenience init(directory: ShopDirectory, options: Options) throws(ShopOpenError) {
        var logOptions = options.log
        logOptions.clock = options.engine.clock
        let log = try directory.openLog(logOptions)
        let vault: KeyVault
        do {
            vault = try directory.openVault(readOnly: logOptions.readOnly, randomBytes: options.keyRandomBytes)
        } catch {
            log.close()
            throw error
        }
        try self.init(directory: directory, options: options, log: log, vault: vault, cluster: nil)
    }

    /// Opens a node of a shop whose log of record is PostgreSQL: the local log in `directory` becomes its replica (caught up
    /// here, verified record by record, before anything is built on it), appends go to PostgreSQL, and the vault is shared.
    public static func open(
        directory: ShopDirectory, options: Options, cluster: ClusterOptions,
        progress: (@Sendable (_ copied: UInt64, _ of: UInt64) -> Void)? = nil
    ) async throws -> Shop {
        var logOptions = options.log
        logOptions.clock = options.engine.clock
        // The replica's copies skip fsync: the log of record holds them durably, and a replica that lost its last
        // copies in a power cut copies them again (its head is checked against the log of record before it follows).
        logOptions.durable = false
        let log = try directory.openLog(logOptions)
        let vault: KeyVault
        do {
            vault = try directory.openVault(readOnly: false, randomBytes: options.keyRandomBytes)
        } catch {
            log.close()
            throw error
        }
        let committed = CommitHandoff()
        var postgres = PostgresLog.Options()
        postgres.clock = options.engine.clock
        postgres.logger = cluster.logger
        postgres.connectionsMax = cluster.connectionsMax
        postgres.chainsKnownMax = cluster.chainsKnownMax
        postgres.answerTimeout = cluster.answerTimeout
        postgres.startTimeout = cluster.startTimeout
        // The node's own commits go into its replica at once, without being read back; the copier brings the rest.
        postgres.onCommit = { records in await committed.hand(records) }
        let ofRecord: PostgresLog
        do {
            ofRecord = try await PostgresLog.connect(cluster.logOfRecord, options: postgres)
        } catch {
            vault.close()
            log.close()
            throw error
        }
        let link = ClusterLink(
            ofRecord: ofRecord, vault: SharedVault(local: vault, ofRecord: ofRecord, secret: cluster.vaultSecret), options: cluster,
            startedAt: options.engine.clock.now())
        do {
            try await link.vault.join()
            try await link.catchUp(log, progress: progress)
            committed.start { records in await link.copyOwnCommit(records, into: log) }
            log.forwardAppends(to: ofRecord, beforeForwarding: link.vault.publishNewKeys)
            let shop = try Shop(directory: directory, options: options, log: log, vault: vault, cluster: link)
            link.attach(shop.engine)
            return shop
        } catch {
            vault.close()
            log.close()
            await ofRecord.close()
            throw error
        }
    }

    private init(directory: ShopDirectory, options: Options, log: EventLog, vault: KeyVault, cluster: ClusterLink?) throws(ShopOpenError) {
        self.directory = directory
        self.log = log
        self.vault = vault
        self.cluster = cluster
        let readOnly = options.log.readOnly
        do {
            snapshots = options.snapshots ? try directory.openSnapshots(readOnly: readOnly, interval: options.snapshotInterval) : nil
        } catch {
            Self.close(log: log, vault: vault, snapshots: nil)
            throw error
        }
        do {
            engine = try Engine(log: log, vault: vault, snapshots: snapshots, configuration: options.engine)
        } catch {
            Self.close(log: log, vault: vault, snapshots: snapshots)
            guard let refusal = error as? EngineError else {
                throw ShopOpenError(.unopenable, "cannot start the engine on \(directory.path): \(error)")
            }
            throw ShopOpenError(.refused(refusal), refusal.message)
        }
        if let projections = options.projections {
            let (log, vault, snapshots) = (log, vault, snapshots)
            do {
                projector = try directory.openProjector(log: log, options: projections)
            } catch {
                Self.close(log: log, vault: vault, snapshots: snapshots)
                throw error
            }
        } else {
            projector = nil
        }
    }

    /// History and the event feed, for the HTTP edge.
    public var audit: AuditDesk { AuditDesk(log: log, opener: vault) }

    /// The background work a serving shop runs: the read models' follower, the unpaid-order sweeper and webhook delivery.
    public func services(
        expirySweep interval: Duration, projectionsLogger: Logger, expiryLogger: Logger, webhookLogger: Logger,
        webhooks: WebhookDispatcher.Settings = WebhookDispatcher.Settings(), webhookInterval: Duration = .seconds(1)
    ) -> [any Service] {
        var services: [any Service] = []
        if let cluster { services.append(ClusterLink.ReplicaService(link: cluster, log: log)) }
        if let projector { services.append(ProjectorService(projector: projector, logger: projectionsLogger)) }
        services.append(
            OrderExpiryService(
                expiry: OrderExpiry(engine: engine), interval: interval, logger: expiryLogger,
                lease: cluster.map { ClusterLink.Lease(ofRecord: $0.ofRecord, id: ClusterLink.expiryLease) }))
        services.append(
            WebhookService(
                dispatcher: WebhookDispatcher(engine: engine, transport: HTTPWebhookTransport(logger: webhookLogger), settings: webhooks),
                interval: webhookInterval, logger: webhookLogger,
                lease: cluster.map { ClusterLink.Lease(ofRecord: $0.ofRecord, id: ClusterLink.webhookLease) }))
        return services
    }

    /// Closes every part, in order. Use no part after this.
    public func close() {
        projector?.close()
        Self.close(log: log, vault: vault, snapshots: snapshots)
    }

    private static func close(log: EventLog, vault: KeyVault, snapshots: SnapshotStore?) {
        vault.close()
        snapshots?.close()
        log.close()
    }
}
