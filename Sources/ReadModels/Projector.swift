import Commerce
import EventStore
import Logging
import Foundation
import Synchronization
import LMDB

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
}

public struct ProjectionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
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
    private let state = NSLock()

    /// Wall time spent folding events and committing models (encoding, then writing), for benchmarks.
    public struct PhaseTimes: Sendable {
        public var folding: UInt64 = 0
        public var committing: UInt64 = 0
        public var encoding: UInt64 = 0
    }

    private let phaseTimes = Mutex(PhaseTimes())
    public var phaseNanoseconds: PhaseTimes { phaseTimes.withLock { $0 } }
    private var live: [String: Participant] = [:]
    private var shadows: [String: Participant] = [:]
    private var metas: [String: Meta] = [:]
    private let watches: [String: HeadWatch]
    private let decoder = EventCodec.decoder(opening: nil)
    private let worker = DispatchQueue(label: "emporium.projector")
    /// Where a long batch's rows are written while the next batch folds (see `commit`).
    private let writer = DispatchQueue(label: "emporium.projector.write")
    /// The long batch being written, if any. Folding, committing and rebuild control run on one
    /// thread at a time (the worker queue when serving, the caller's thread for the CLI), and
    /// only that thread starts or finishes a write.
    private var writing: BatchWrite?
    /// Models folded further than they are stored (short serving batches while the follower is busy; see `storeIntervalMax`).
    private var unstored: [Participant] = []
    private var follower: Task<Void, Never>?
    /// Bumped when there is work the log's head does not announce (a rebuild started): wakes the follower.
    private let wakeups = HeadWatch(head: 0)
    /// Each model's checkpoint when it was loaded (or reloaded), for `foldedEvents`.
    private let checkpointsAtOpen = Mutex<[String: UInt64]>([:])
    private var lastFailure: String?
    private var repaired: [String] = []

    /// Models found damaged at open and folded again from 0 (with why).
    public var repairedModels: [String] { state.withLock { repaired } }

    public init(directory: String, log: EventLog, projections: [any Projection.Type] = Projections.all, options: Options = Options()) throws {
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
            do { try finishWrite() } catch { logger.error("storing the last folded batch failed; it is folded again at the next start", metadata: ["error": "\(error)"]) }
        }
        do {
            try finishWrite()  // a CLI caller's last batch
            try saveSearchLog()
        } catch {
            logger.error("storing the read models at close failed; they catch up from the log at the next start", metadata: ["error": "\(error)"])
        }
        environment.close()
    }

    func saveSearchLog() throws {
        let changes = searchLog.takeChanges()
        guard !changes.isEmpty else { return }
        try environment.write { transaction in
            for (query, count) in changes { try transaction.put(searchLogDatabase, key: Array(query.utf8), value: try BinaryPayload.encode(count)) }
        }
    }

    public var names: [String] { state.withLock { live.keys.sorted() } }

    /// Loads a projection's serving model, or starts it empty when its stored shape is not the current one.
    private func open(_ type: any Projection.Type) throws {
        let databases = try databases(of: type.name)
        var stored = try environment.read { transaction -> Meta? in
            guard let bytes = try transaction.get(meta, key: Array(type.name.utf8)) else { return nil }
            return try BinaryPayload.decode(Meta.self, from: bytes)
        } ?? Meta(active: 0, checkpoints: [0, 0], schemaVersions: [type.schemaVersion, type.schemaVersion])
        if stored.schemaVersions[stored.active] != type.schemaVersion {
            // A model of another shape cannot be read by this code: fold it again from the start.
            stored.checkpoints[stored.active] = 0
            stored.schemaVersions[stored.active] = type.schemaVersion
            let reset = stored
            try environment.write { transaction in
                try transaction.clear(databases[reset.active])
                try transaction.put(meta, key: Array(type.name.utf8), value: try BinaryPayload.encode(reset))
            }
        }
        var participant = Participant(type: type, slot: stored.active, database: databases[stored.active], checkpoint: stored.checkpoints[stored.active])
        do {
            try load(participant)
        } catch where options.rebuildDamaged {
            stored.checkpoints[stored.active] = 0
            let reset = stored
            try environment.write { transaction in
                try transaction.clear(databases[reset.active])
                try transaction.put(meta, key: Array(type.name.utf8), value: try BinaryPayload.encode(reset))
            }
            participant = Participant(type: type, slot: stored.active, database: databases[stored.active], checkpoint: 0)
            state.withLock { repaired.append("\(type.name): \(error)") }
            options.logger.warning("a stored read model could not be read; it is folded again from the start",
                                   metadata: ["projection": "\(type.name)", "error": "\(error)"])
        }
        participant.projection.didLoad()
        state.withLock {
            live[type.name] = participant
            metas[type.name] = stored
        }
        watches[type.name]?.publish(participant.checkpoint)
        checkpointsAtOpen.withLock { $0[type.name] = participant.checkpoint }
    }

    /// Reads a participant's stored rows into its tables.
    private func load(_ participant: Participant) throws {
        let type = participant.type
        try environment.read { transaction in
            try transaction.withCursor(participant.database) { cursor in
                var entry = try cursor.first()
                while let (key, value) = entry {
                    guard let prefix = key.first, let table = participant.tables[prefix] else {
                        throw ProjectionError("\(type.name) holds a row of unknown table \(key.first ?? 0); rebuild it")
                    }
                    do {
                        try table.load(key: UnsafeRawBufferPointer(rebasing: key.dropFirst()), value: value)
                    } catch {
                        throw ProjectionError("\(type.name) holds a row that does not decode (\(error)); rebuild it")
                    }
                    entry = try cursor.next()
                }
            }
        }
    }

    private func databases(of name: String) throws -> [Database] {
        guard let databases = slots[name] else { throw ProjectionError("no projection named \(LogLimits.shown(name)); known: \(slots.keys.sorted().joined(separator: ", "))") }
        return databases
    }

    // MARK: Reading

    /// Runs `body` on the serving model of `type`, holding it still.
    public func read<P: Projection, R>(_ type: P.Type, _ body: (P) throws -> R) throws -> R {
        guard let participant = state.withLock({ live[type.name] }), let projection = participant.projection as? P else {
            throw ProjectionError("the projector does not run \(type.name)")
        }
        return try participant.lock.withLock { try body(projection) }
    }

    /// The serving model's checkpoint.
    public func checkpoint(_ name: String) -> UInt64 { watches[name]?.head ?? 0 }

    /// Events each serving model has folded since the projector was opened (its checkpoint's advance): the fold rate, for metrics.
    public var foldedEvents: [String: UInt64] {
        Dictionary(uniqueKeysWithValues: watches.map { name, watch in
            let opened = checkpointsAtOpen.withLock { $0[name] ?? 0 }
            return (name, watch.head > opened ? watch.head - opened : 0)
        })
    }

    /// Waits until `name` has folded every event up to `position`; false when `timeout` passes first.
    public func wait(_ name: String, reaches position: UInt64, timeout: Duration) async -> Bool {
        guard let watch = watches[name] else { return false }
        if watch.head >= position { return true }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    if await watch.wait(after: position - 1) >= position { return true }
                }
                return false
            }
            group.addTask {
                // Cancelled when the position was reached first: either way this task's answer is "not in time".
                do { try await Task.sleep(for: timeout) } catch { return false }
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    public func status() throws -> [ProjectionStatus] {
        let head = log.headPosition
        let (serving, building, stored) = state.withLock { (live, shadows, metas) }
        return try serving.keys.sorted().compactMap { name in
            guard let participant = serving[name] else { return nil }
            let bytes = try environment.read { try $0.storedBytes(participant.database) }
            let checkpoint = participant.lock.withLock { participant.checkpoint }
            return ProjectionStatus(name: name, schemaVersion: participant.type.schemaVersion, checkpoint: checkpoint,
                                    storedCheckpoint: stored[name]?.checkpoints[participant.slot] ?? 0, head: head,
                                    lag: head > checkpoint ? head - checkpoint : 0, rows: participant.lock.withLock { participant.rows },
                                    modelBytes: bytes,
                                    rebuild: building[name].map { .init(checkpoint: $0.checkpoint, target: head) })
        }
    }

    /// The last error the follower met (it retries), for /health.
    public var failure: String? { state.withLock { lastFailure } }

    // MARK: Folding

    /// Folds every projection (and any rebuild) up to the head as it is now.
    /// `progress` gets (position, head) after each batch.
    public func catchUp(progress: ((UInt64, UInt64) -> Void)? = nil) throws {
        let head = try log.head().position
        while try step(through: head) {
            progress?(lowestCheckpoint, head)
        }
        try finishWrite()
    }

    /// The checkpoint of the model (or rebuild) furthest behind.
    private var lowestCheckpoint: UInt64 {
        state.withLock { (Array(live.values) + Array(shadows.values)).map(\.checkpoint).min() ?? 0 }
    }

    /// Starts folding new events as they are committed, until `stop()` (tests and tools; a server runs `ProjectorService`).
    public func start() {
        let task = Task.detached { [self] in await follow(logger: options.logger) }
        state.withLock { follower = task }
    }

    /// Folds new events as they are committed, until the calling task is
    /// cancelled. A failed batch is logged, the models are reloaded from what
    /// is stored, and folding resumes after a pause that doubles with each
    /// failure in a row (1 s up to `Options.retryPauseMax`): a storage error is
    /// retried, never spun on, and never ends the follower.
    public func follow(logger: Logger) async {
        let clock = ContinuousClock()
        var lastStep = clock.now - options.followIntervalMin
        var lastStore = clock.now
        var pause = Duration.seconds(1)
        while !Task.isCancelled {
            let kicked = wakeups.head
            let lowest = lowestCheckpoint
            do {
                if lowest >= log.headPosition {
                    // Nothing new: store what was folded but not stored yet, then wait for new events
                    // (or for a rebuild started while everything was caught up).
                    try await onWorker { try self.finishWrite() }
                    lastStore = clock.now
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { _ = await self.log.waitForHead(after: lowest) }
                        group.addTask { _ = await self.wakeups.wait(after: kicked) }
                        await group.next()
                        group.cancelAll()
                    }
                }
                if Task.isCancelled { break }
                let due = lastStep + options.followIntervalMin
                if clock.now < due {
                    do { try await Task.sleep(until: due, clock: clock) } catch { break }  // cancelled: stopped while waiting for its turn
                }
                lastStep = clock.now
                let head = log.headPosition
                let storing = clock.now - lastStore >= options.storeIntervalMax
                try await onWorker {
                    try self.step(through: head, storing: storing)
                    if storing { try self.finishWrite() }
                }
                if storing { lastStore = clock.now }
                if state.withLock({ lastFailure != nil }) { logger.notice("read models fold again", metadata: ["log.position": "\(head)"]) }
                state.withLock { lastFailure = nil }
                pause = .seconds(1)
            } catch {
                state.withLock { lastFailure = "\(error)" }
                logger.error("folding the read models failed; reloading them from storage and retrying",
                             metadata: ["error": "\(error)", "retry.seconds": "\(pause.components.seconds)"])
                do { try await Task.sleep(for: pause) } catch { break }
                pause = min(pause * 2, options.retryPauseMax)
                do {
                    try await onWorker { try self.reload() }
                } catch {
                    logger.error("reloading the read models failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// After a failed batch the models in memory may hold events their
    /// checkpoints do not: drop them (and any rebuild) and load the stored ones again.
    func reload() throws {
        unstored.removeAll()  // they may hold part of the batch that failed: fold them again from what is stored
        try? waitForWrite()  // its failure is why we reload
        let types = state.withLock { () -> [any Projection.Type] in
            shadows.removeAll()
            return live.values.map(\.type)
        }
        for type in types { try open(type) }
    }

    public func stop() {
        let task = state.withLock { () -> Task<Void, Never>? in
            defer { follower = nil }
            return follower
        }
        task?.cancel()
    }

    private func onWorker<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { continuation in
            worker.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Starts rebuilding `name` from position 0 into its other slot. The
    /// serving model answers queries until the rebuild catches up.
    public func startRebuild(_ name: String) throws {
        // On the worker queue: while serving, the follower folds there, and only one thread may own
        // the store's writes (an admin request arrives on an HTTP thread).
        try worker.sync { try beginRebuild(name) }
        wakeups.publish(wakeups.head + 1)  // a follower waiting for new events has work now
    }

    private func beginRebuild(_ name: String) throws {
        try finishWrite()
        guard let type = Projections.named(name) ?? state.withLock({ live[name]?.type }) else { throw ProjectionError("no projection named \(LogLimits.shown(name))") }
        let databases = try databases(of: name)
        try state.withLock {
            guard shadows[name] == nil else { throw ProjectionError("\(name) is already being rebuilt") }
            guard let serving = live[name] else { throw ProjectionError("the projector does not run \(name)") }
            let slot = 1 - serving.slot
            var stored = metas[name] ?? Meta(active: serving.slot, checkpoints: [0, 0], schemaVersions: [type.schemaVersion, type.schemaVersion])
            stored.checkpoints[slot] = 0
            stored.schemaVersions[slot] = type.schemaVersion
            let updated = stored
            try environment.write { transaction in
                try transaction.clear(databases[slot])
                try transaction.put(meta, key: Array(name.utf8), value: try BinaryPayload.encode(updated))
            }
            metas[name] = updated
            shadows[name] = Participant(type: type, slot: slot, database: databases[slot], checkpoint: 0)
        }
    }

    /// Rebuilds `name` up to the head and waits for it to take over (the CLI's form; `progress` gets (position, head)).
    public func rebuild(_ name: String, progress: ((UInt64, UInt64) -> Void)? = nil) throws {
        try rebuild([name], progress: progress)
    }

    /// Rebuilds several models together (one scan of the log, a lane per core) and waits for them to take over.
    public func rebuild(_ names: [String], progress: ((UInt64, UInt64) -> Void)? = nil) throws {
        for name in names { try startRebuild(name) }
        let head = try log.head().position
        while true {
            let (position, rebuilding) = state.withLock {
                (names.map { shadows[$0]?.checkpoint ?? live[$0]?.checkpoint ?? head }.min() ?? head, names.contains { shadows[$0] != nil })
            }
            progress?(position, head)
            guard rebuilding || position < head else { return try finishWrite() }
            try step(through: head)
        }
    }

    /// One batch for every group of models at the same checkpoint (serving
    /// models first, so a rebuild never holds back fresh events). Returns
    /// false when everything was already at `head`.
    /// `storing: false` (the follower between stores) leaves a serving model's short batch in memory only.
    @discardableResult
    func step(through head: UInt64, storing: Bool = true) throws -> Bool {
        let participants = state.withLock { Array(live.values) + Array(shadows.values) }
        let groups = Dictionary(grouping: participants.filter { $0.checkpoint < head }, by: \.checkpoint)
        guard !groups.isEmpty else { return false }
        for (checkpoint, group) in groups.sorted(by: { $0.key > $1.key }) {
            let rebuilding = state.withLock { follower == nil && group.allSatisfy { shadows[$0.name] === $0 } }
            let through = min(head, checkpoint + UInt64(rebuilding ? options.rebuildBatchEventsMax : options.batchEventsMax))
            let started = DispatchTime.now().uptimeNanoseconds
            try fold(group, from: checkpoint + 1, through: through)
            let folded = DispatchTime.now().uptimeNanoseconds
            try commit(group, at: through, onEveryCore: through - checkpoint >= UInt64(options.longBatchEventsMin), storing: storing)
            phaseTimes.withLock { $0.folding += folded - started; $0.committing += DispatchTime.now().uptimeNanoseconds - folded }
        }
        try promoteCaughtUpRebuilds()
        try saveSearchLog()
        return true
    }

    private func fold(_ group: [Participant], from: UInt64, through: UInt64) throws {
        for participant in group { participant.lock.lock() }
        defer { for participant in group { participant.lock.unlock() } }
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        guard group.count > 1, cores > 1, through - from + 1 >= UInt64(options.longBatchEventsMin) else {
            try fold(lane: group, from: from, through: through, decoder: decoder)
            return
        }
        // Each lane scans the range itself and decodes only what its projections read: nothing is shared but the log.
        // Heaviest first onto the lightest lane, by the cost timed in the last long fold (or the guess before one).
        var lanes = [[Participant]](repeating: [], count: min(cores, group.count))
        var weights = [Double](repeating: 0, count: lanes.count)
        let timed = group.allSatisfy { $0.foldCost > 0 }
        func cost(_ participant: Participant) -> Double { timed ? participant.foldCost : participant.type.foldCostGuess }
        for participant in group.sorted(by: { (cost($0), $0.name) > (cost($1), $1.name) }) {
            let lightest = weights.indices.min { weights[$0] < weights[$1] } ?? 0
            lanes[lightest].append(participant)
            weights[lightest] += cost(participant)
        }
        let failures = LaneFailures(count: lanes.count)
        let assigned = lanes
        DispatchQueue.concurrentPerform(iterations: assigned.count) { index in
            do {
                try fold(lane: assigned[index], from: from, through: through, decoder: EventCodec.decoder(opening: nil))
            } catch {
                failures.record(error, at: index)
            }
        }
        if let failure = failures.first { throw failure }
    }

    /// Long folds time each projection's `apply` (two clock reads per event and projection) to balance the next one.
    private func fold(lane: [Participant], from: UInt64, through: UInt64, decoder: JSONDecoder) throws {
        let timing = through - from + 1 >= UInt64(options.longBatchEventsMin)
        var spent = [UInt64](repeating: 0, count: lane.count)
        // Which of the lane's participants read each type, looked up once per event.
        var readers: [String: [Int]] = [:]
        for (index, participant) in lane.enumerated() {
            for type in participant.type.eventTypes { readers[type, default: []].append(index) }
        }
        try log.scanViews(from: from, through: through, selecting: { _ in true }) { record in
            let type = record.type
            guard let indices = readers[type], let stream = StreamId(utf8: record.streamBytes) else { return true }
            let event: DomainEvent
            do {
                event = try EventCodec.decode(type: type, schemaVersion: Int(record.schemaVersion), payload: record.payload, using: decoder)
            } catch {
                throw ProjectionError("event \(record.position) (\(type) in \(record.stream)) does not decode: \(error)")
            }
            let projected = ProjectedEvent(position: record.position, stream: stream, event: event)
            for index in indices {
                let participant = lane[index]
                guard timing else {
                    participant.projection.apply(projected)
                    continue
                }
                let started = DispatchTime.now().uptimeNanoseconds
                participant.projection.apply(projected)
                spent[index] += DispatchTime.now().uptimeNanoseconds - started
            }
            return true
        }
        if timing {
            for (index, participant) in lane.enumerated() { participant.foldCost = max(1, Double(spent[index])) / Double(through - from + 1) }
        }
    }

    /// Marks the group folded through `position` (queries see it at once) and stores it, with
    /// every model folded but not stored, unless this is a serving model's short batch and the
    /// caller is between stores (`storing: false`; see `Options.storeIntervalMax`).
    ///
    /// `onEveryCore`: encode the tables in parallel (long batches); a live batch of a few events is not worth the hand-off.
    /// A long batch is then written on the writer queue while the caller folds the next one (the write
    /// is single-threaded and used to leave a core idle): its rows are already bytes, so the models may
    /// change meanwhile. The next commit, and anything that reads or switches the store, waits for it
    /// first (`finishWrite`); if it failed, that wait throws and the caller reloads the stored models.
    private func commit(_ group: [Participant], at position: UInt64, onEveryCore: Bool, storing: Bool) throws {
        for participant in group {
            participant.lock.withLock { participant.checkpoint = position }
            // Queries read the models in memory, which hold the batch already.
            if state.withLock({ live[participant.name] === participant }) { watches[participant.name]?.publish(position) }
        }
        let serving = state.withLock { group.allSatisfy { live[$0.name] === $0 } }
        for participant in group where !unstored.contains(where: { $0 === participant }) { unstored.append(participant) }
        guard storing || onEveryCore || !serving else { return }
        try store(onEveryCore: onEveryCore)
    }

    /// Writes every model folded further than it is stored, at its checkpoint, in one transaction.
    private func store(onEveryCore: Bool) throws {
        try waitForWrite()
        let group = unstored
        unstored.removeAll()
        guard !group.isEmpty else { return }
        // A model and its rebuild may share this group: one meta per name carries both slots' checkpoints.
        let updates = try state.withLock {
            try group.reduce(into: [String: Meta]()) { updates, participant in
                guard var stored = updates[participant.name] ?? metas[participant.name] else {
                    throw ProjectionError("no stored state for \(participant.name)")
                }
                stored.checkpoints[participant.slot] = participant.checkpoint
                updates[participant.name] = stored
            }
        }
        // Encoding runs first (on every core for long batches); the one write transaction then only puts sorted rows.
        let encodingStarted = DispatchTime.now().uptimeNanoseconds
        let tables = group.flatMap { participant in participant.tables.keys.sorted().compactMap { prefix in participant.tables[prefix].map { (participant.database, $0) } } }
        let writes: [[([UInt8], [UInt8]?)]]
        if onEveryCore {
            let encoded = EncodedWrites(count: tables.count)
            let sources = UncheckedTables(tables.map(\.1))  // each table is encoded by one thread only, while the fold is paused
            DispatchQueue.concurrentPerform(iterations: tables.count) { index in
                do { encoded.set(index, try sources.tables[index].pendingWrites()) } catch { encoded.fail(error) }
            }
            writes = try encoded.result()
        } else {
            writes = try tables.map { try $0.1.pendingWrites() }
        }
        phaseTimes.withLock { $0.encoding += DispatchTime.now().uptimeNanoseconds - encodingStarted }
        let batch = BatchWrite(databases: tables.map(\.0), writes: writes, metas: updates)
        for participant in group {
            for table in participant.tables.values { table.committed() }  // the changes are in `batch` now
        }
        if onEveryCore {
            writing = batch
            writer.async { [environment, meta] in batch.run(environment: environment, meta: meta) }
        } else {
            batch.run(environment: environment, meta: meta)
            try finish(batch)
        }
    }

    /// Waits for the long batch being written, then stores what is folded but not stored (in this
    /// thread: nothing is left being written); rethrows a failure.
    func finishWrite() throws {
        try store(onEveryCore: false)
    }

    /// Waits for the long batch being written, if any; rethrows its failure.
    private func waitForWrite() throws {
        guard let batch = writing else { return }
        writing = nil
        batch.done.wait()
        try finish(batch)
    }

    private func finish(_ batch: BatchWrite) throws {
        if let failure = batch.failure { throw failure }
        state.withLock { metas.merge(batch.metas) { _, new in new } }
    }

    /// A rebuild at its serving model's checkpoint takes over: one write switches the slot.
    private func promoteCaughtUpRebuilds() throws {
        let ready = state.withLock { shadows.values.filter { shadow in (live[shadow.name]?.checkpoint ?? 0) <= shadow.checkpoint } }
        if !ready.isEmpty { try finishWrite() }  // switch only to a slot whose rows are stored
        for shadow in ready {
            guard var stored = state.withLock({ metas[shadow.name] }) else { continue }
            stored.active = shadow.slot
            let updated = stored
            try environment.write { transaction in
                try transaction.put(meta, key: Array(shadow.name.utf8), value: try BinaryPayload.encode(updated))
            }
            // Its query structures were kept up to date while it folded (deriving them again from the rows
            // added the recommender's co-purchases a second time); only warm them.
            shadow.lock.withLock { shadow.projection.warm() }
            let retired = state.withLock { () -> Participant? in
                metas[shadow.name] = updated
                shadows[shadow.name] = nil
                return live.updateValue(shadow, forKey: shadow.name)
            }
            watches[shadow.name]?.publish(shadow.checkpoint)
            // Freeing the replaced model (every row, index and graph: about 1.5 s for the four models of the
            // bench shop) is left to another thread; nothing waits for it.
            if let retired { Self.retirement.async { withExtendedLifetime(retired) {} } }
        }
    }

    private static let retirement = DispatchQueue(label: "emporium.projector.retired", qos: .utility)

    // MARK: Checking

    /// Folds `name` afresh up to its serving checkpoint, in memory, and
    /// compares every stored row byte for byte; returns the keys that differ.
    public func differencesFromRebuild(_ name: String) throws -> [String] {
        guard let serving = state.withLock({ live[name] }) else { throw ProjectionError("no projection named \(LogLimits.shown(name))") }
        let fresh = Participant(type: serving.type, slot: serving.slot, database: serving.database, checkpoint: 0)
        var next: UInt64 = 1
        let target = serving.checkpoint
        while next <= target {
            let through = min(target, next + UInt64(options.batchEventsMax) - 1)
            try fold([fresh], from: next, through: through)
            next = through + 1
        }
        var expected: [[UInt8]: [UInt8]] = [:]
        for table in fresh.tables.values { expected.merge(try table.storedRows()) { first, _ in first } }
        let stored = try storedRows(of: serving.database)
        let keys = Set(expected.keys).union(stored.keys)
        return keys.filter { expected[$0] != stored[$0] }.map { key in
            "\(key.first ?? 0):" + String(decoding: key.dropFirst(), as: UTF8.self)
        }.sorted()
    }

    /// Every stored row of a slot, by key.
    func storedRows(of database: Database) throws -> [[UInt8]: [UInt8]] {
        try finishWrite()
        return try environment.read { transaction in
            try transaction.withCursor(database) { cursor in
                var rows: [[UInt8]: [UInt8]] = [:]
                var entry = try cursor.first()
                while let (key, value) = entry {
                    rows[Array(key)] = Array(value)
                    entry = try cursor.next()
                }
                return rows
            }
        }
    }

    /// The serving slot's database (for tests that damage a stored model).
    func servingDatabase(_ name: String) -> Database? { state.withLock { live[name]?.database } }

    /// The serving slot's stored rows (for tests comparing two projectors byte for byte).
    public func storedModel(_ name: String) throws -> [[UInt8]: [UInt8]] {
        guard let serving = state.withLock({ live[name] }) else { throw ProjectionError("no projection named \(LogLimits.shown(name))") }
        return try storedRows(of: serving.database)
    }
}

/// A table that can say how many rows it holds, whatever its row type.
protocol CountedTable { var rowCount: Int { get } }
extension Table: CountedTable { var rowCount: Int { count } }

/// One batch's encoded rows and checkpoints, written in one transaction.
final class BatchWrite: @unchecked Sendable {
    let databases: [Database]
    let writes: [[([UInt8], [UInt8]?)]]
    let metas: [String: Projector.Meta]
    let done = DispatchSemaphore(value: 0)
    /// Set before `done` is signalled, read after.
    private(set) var failure: (any Error)?

    init(databases: [Database], writes: [[([UInt8], [UInt8]?)]], metas: [String: Projector.Meta]) {
        self.databases = databases
        self.writes = writes
        self.metas = metas
    }

    func run(environment: Environment, meta: Database) {
        defer { done.signal() }
        do {
            try environment.write { transaction in
                for (database, rows) in zip(databases, writes) {
                    for (key, value) in rows {
                        if let value { try transaction.put(database, key: key, value: value) } else { _ = try transaction.delete(database, key: key) }
                    }
                }
                for (name, stored) in metas { try transaction.put(meta, key: Array(name.utf8), value: try BinaryPayload.encode(stored)) }
            }
        } catch {
            failure = error
        }
    }
}

/// Tables handed to the encoding threads (one thread per table).
struct UncheckedTables: @unchecked Sendable {
    let tables: [any StoredTable]
    init(_ tables: [any StoredTable]) { self.tables = tables }
}

/// Rows encoded by several threads, one slot per table.
final class EncodedWrites: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [[([UInt8], [UInt8]?)]]
    private var failure: (any Error)?

    init(count: Int) { slots = Array(repeating: [], count: count) }

    func set(_ index: Int, _ writes: [([UInt8], [UInt8]?)]) { lock.withLock { slots[index] = writes } }
    func fail(_ error: any Error) { lock.withLock { failure = failure ?? error } }

    func result() throws -> [[([UInt8], [UInt8]?)]] {
        try lock.withLock {
            if let failure { throw failure }
            return slots
        }
    }
}

/// The first error of a parallel fold's lanes.
final class LaneFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [(any Error)?]

    init(count: Int) { errors = Array(repeating: nil, count: count) }

    func record(_ error: any Error, at index: Int) { lock.withLock { errors[index] = error } }

    var first: (any Error)? { lock.withLock { errors.compactMap { $0 }.first } }
}
