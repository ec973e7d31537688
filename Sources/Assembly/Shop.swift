import CommandEngine
import EventStore
import History
import Logging
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

    /// Opens (creating what is missing) the shop in `directory`.
    public init(directory: ShopDirectory, options: Options) throws(ShopOpenError) {
        self.directory = directory
        var logOptions = options.log
        logOptions.clock = options.engine.clock
        log = try directory.openLog(logOptions)
        do {
            vault = try directory.openVault(readOnly: logOptions.readOnly, randomBytes: options.keyRandomBytes)
            snapshots =
                options.snapshots ? try directory.openSnapshots(readOnly: logOptions.readOnly, interval: options.snapshotInterval) : nil
        } catch {
            log.close()
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

    /// The background work a serving shop runs: the read models' follower and the unpaid-order sweeper.
    public func services(expirySweep interval: Duration, projectionsLogger: Logger, expiryLogger: Logger) -> [any Service] {
        var services: [any Service] = []
        if let projector { services.append(ProjectorService(projector: projector, logger: projectionsLogger)) }
        services.append(OrderExpiryService(expiry: OrderExpiry(engine: engine), interval: interval, logger: expiryLogger))
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
