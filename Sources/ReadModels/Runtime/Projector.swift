import Commerce
import EventCodec
import EventStore
import Foundation
import LMDB
import Logging
import Synchronization

/// Where one projection stands.
public struct ProjectionStatus: Codable, Sendable, Hashable {
    public struct Rebuild: Codable, Sendable, Hashable {
        public var checkpoint: UInt64
        public var target: UInt64
    }

    public var name: String
    public var schemaVersion: Int
    /// The last event the model in memory holds (what queries answer from).
    public var checkpoint: UInt64
    /// The last event the stored model holds (behind `checkpoint` for at most `storeIntervalMax` while busy).
    public var storedCheckpoint: UInt64
    public var head: UInt64
    public var lag: UInt64
    /// Rows of the stored model.
    public var rows: Int
    /// Bytes of the stored model's LMDB pages.
    public var modelBytes: Int
    /// Set while a rebuild runs beside the serving model.
    public var rebuild: Rebuild?
    /// The last error folding met, while it retries (the read models fold together, so it is every model's); none once a fold succeeds.
    public var lastError: String?
    /// Where the model's background work was last done, if it has any (the recommender's factor model: the log
    /// position it was trained at).
    public var trainedAt: UInt64? = nil
    /// Set while that work runs, or is asked for and not started yet.
    public var training: Bool? = nil
}

public struct ProjectionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Work asked of a projector after `close()` (it touches nothing).
struct ProjectorClosed: Error, CustomStringConvertible {
    var description: String { "the read models are closed" }
}

/// Runs the projections beside the writer. Every projection's model lives in
/// memory for queries and in `<data>/projections` (LMDB) on disk; each batch
/// of events is written, with the checkpoint, in one transaction, so after a
/// crash the stored model is exactly the fold of the log up to its
/// checkpoint. A rebuild folds the log into the projection's other slot
/// while the current model keeps serving, and takes over once it has caught up.
public final class Projector: @unchecked Sendable {
    public struct Options: Sendable {
        /// Events per transaction of a serving model (its catch-up holds queries for one batch's fold).
        /// Live batches are as small as what has arrived; long ones write each changed row once per batch.
        public var batchEventsMax = 250_000
        /// Events per transaction of a rebuild (a model folded beside the serving one, which nobody queries)
        /// when no follower is running (the CLI): fewer, longer batches encode and write each row fewer times.
        /// While serving, a rebuild uses `batchEventsMax`: each of its batches holds back fresh events
        /// for the serving models for as long as it takes to fold (about 2.5 s per million events here).
        public var rebuildBatchEventsMax = 1_000_000
        /// Batches at least this long (rebuilds, catch-ups) are folded one lane of projections per core,
        /// encoded on every core, and written while the next batch folds.
        public var longBatchEventsMin = 5_000
        /// A serving model's batches start at least this far apart: under a stream of commands
        /// each batch then gathers this long's events, and rows they share (a day's sales, a
        /// goods' counters) are encoded and written once per batch rather than once per commit.
        /// After a quiet spell the next event is folded at once; `?after=` waits at most this much longer.
        public var followIntervalMin = Duration.milliseconds(20)
        /// While commands keep arriving, a serving model's short batches are folded into memory
        /// (where queries read them) and stored at most this far apart, all in one transaction:
        /// a goods' or a customer's row changed by every batch is encoded once a second, not fifty
        /// times. The store catches up whenever the follower finds nothing new, and before anything
        /// reads or switches it; a crash costs re-folding at most this long's events on the next start.
        public var storeIntervalMax = Duration.seconds(1)
        /// The model is derived from the log, so losing the newest
        /// transactions to a power cut costs only a re-fold; fsync is skipped.
        public var durable = false
        /// A stored model that cannot be read is folded again from 0 (and named
        /// in `repaired`); `verify` turns this off to report the damage instead.
        public var rebuildDamaged = true
        /// The longest pause before folding again after failures in a row (the first pause is a second).
        public var retryPauseMax = Duration.seconds(30)
        /// Where the projector says what went wrong (a failed batch, a model repaired at open, a failed store).
        public var logger = Logger(label: "emporium.projections", factory: { _ in SwiftLogNoOpLogHandler() })
        public init() {}
    }

    /// What the stored model says about a projection: the serving slot, and each slot's checkpoint and shape.
    struct Meta: Codable, Equatable, Sendable {
        var active: Int
        var checkpoints: [UInt64]
        var schemaVersions: [Int]
    }

    /// One model being folded: the serving one, or a rebuild's.
    final class Participant: @unchecked Sendable {
        let type: any Projection.Type
        let projection: any Projection
        let slot: Int
        let database: Database
        var checkpoint: UInt64
        /// Time spent in `apply` during the last long fold, per event of that fold (ns; 0 until timed):
        /// what lanes are balanced by.
        var foldCost = 0.0
        /// Held while the model changes or a query reads it.
        let lock = NSLock()
        let tables: [UInt8: any StoredTable]

        init(type: any Projection.Type, slot: Int, database: Database, checkpoint: UInt64) {
            self.type = type
            self.projection = type.init()
            self.slot = slot
            self.database = database
            self.checkpoint = checkpoint
            var tables: [UInt8: any StoredTable] = [:]
            for table in projection.storedTables {
                precondition(tables[table.prefix] == nil, "\(type.name) has two tables with prefix \(table.prefix)")
                tables[table.prefix] = table
            }
            self.tables = tables
        }

        var name: String { type.name }
        var rows: Int { projection.storedTables.reduce(0) { $0 + (($1 as? any CountedTable)?.rowCount ?? 0) } }
    }

    public let log: EventLog
    public let options: Options
    /// Searches people made, for popular-query suggestions; saved with each batch and on `close()`.
    public let searchLog: SearchLog
    let environment: Environment
    let meta: Database
    let searchLogDatabase: Database
    let slots: [String: [Database]]
    let state = NSLock()

    /// Wall time spent folding events and committing models (encoding, then writing), for benchmarks.
    public struct PhaseTimes: Sendable {
        public var folding: UInt64 = 0
        public var committing: UInt64 = 0
        public var encoding: UInt64 = 0
        /// Background work done on the caller's thread (the recommender's training at the end of a rebuild or catch-up).
        public var background: UInt64 = 0
    }

    let phaseTimes = Mutex(PhaseTimes())
    public var phaseNanoseconds: PhaseTimes { phaseTimes.withLock { $0 } }
    var live: [String: Participant] = [:]
    var shadows: [String: Participant] = [:]
    var metas: [String: Meta] = [:]
    let watches: [String: HeadWatch]
    let decoder = EventCodec.decoder(opening: nil)
    let worker = DispatchQueue(label: "emporium.projector")
    /// Set on the worker queue by `close()`: work queued there after it (a follower that was past its last check for
    /// cancellation, a rebuild asked for meanwhile) finds the store closed and touches nothing.
    let closedForWork = Atomic<Bool>(false)
    /// Where a long batch's rows are written while the next batch folds (see `commit`).
    let writer = DispatchQueue(label: "emporium.projector.write")
    /// The long batch being written, if any. Folding, committing and rebuild control run on one
    /// thread at a time (the worker queue when serving, the caller's thread for the CLI), and
    /// only that thread starts or finishes a write.
    var writing: BatchWrite?
    /// Models folded further than they are stored (short serving batches while the follower is busy; see `storeIntervalMax`).
    var unstored: [Participant] = []
    var follower: Task<Void, Never>?
    /// Bumped when there is work the log's head does not announce (a rebuild started): wakes the follower.
    let wakeups = HeadWatch(head: 0)
    /// Each model's checkpoint when it was loaded (or reloaded), for `foldedEvents`.
    let checkpointsAtOpen = Mutex<[String: UInt64]>([:])
    var lastFailure: String?
    var repaired: [String] = []

    /// Models found damaged at open and folded again from 0 (with why).
    public var repairedModels: [String] { state.withLock { repaired } }

    public init(directory: String, log: EventLog, projections: [any Projection.Type] = Projections.all, options: Options = Options()) throws
    {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var environmentOptions = EnvironmentOptions()
        environmentOptions.durable = options.durable
        environmentOptions.maxDatabases = UInt32(2 * projections.count + 3)
        // Address space, not disk: a rebuild's one big transaction would otherwise grow a small map
        // several times, and each growth runs the whole transaction again.
        environmentOptions.initialMapSizeBytes = 2 << 30
        environmentOptions.writeMap = !options.durable
        let environment = try Environment(directory: directory, options: environmentOptions)
        self.environment = environment
        self.log = log
        self.options = options
        self.meta = try environment.openDatabase("meta")
        let searchLogDatabase = try environment.openDatabase("searchlog")
        self.searchLogDatabase = searchLogDatabase
        let searchLog = SearchLog()
        self.searchLog = searchLog
        try environment.read { transaction in
            try transaction.withCursor(searchLogDatabase) { cursor in
                var entry = try cursor.first()
                while let (key, value) = entry {
                    searchLog.load(String(decoding: key, as: UTF8.self), count: try BinaryPayload.decode(Int.self, from: value))
                    entry = try cursor.next()
                }
            }
        }
        var slots: [String: [Database]] = [:]
        for type in projections {
            slots[type.name] = [try environment.openDatabase("\(type.name).0"), try environment.openDatabase("\(type.name).1")]
        }
        self.slots = slots
        self.watches = Dictionary(uniqueKeysWithValues: projections.map { ($0.name, HeadWatch(head: 0)) })
        for type in projections { try open(type) }
    }

    deinit {
        follower?.cancel()
        writing?.done.wait()  // never close the store under a transaction being written
        environment.close()
    }

    /// Stops following, saves the search log and closes the store.
    public func close() {
        stop()
        let logger = options.logger
        worker.sync {
            closedForWork.store(true, ordering: .releasing)
            do { try finishWrite() } catch {
                logger.error("storing the last folded batch failed; it is folded again at the next start", metadata: ["error": "\(error)"])
            }
        }
        do {
            try finishWrite()  // a CLI caller's last batch
            try saveSearchLog()
        } catch {
            logger.error(
                "storing the read models at close failed; they catch up from the log at the next start", metadata: ["error": "\(error)"])
        }
        environment.close()
    }

    func saveSearchLog() throws {
        let changes = searchLog.takeChanges()
        guard !changes.isEmpty else { return }
        try environment.write { transaction in
            for (query, count) in changes {
                try transaction.put(searchLogDatabase, key: Array(query.utf8), value: try BinaryPayload.encode(count))
            }
        }
    }

    public var names: [String] { state.withLock { live.keys.sorted() } }
}
