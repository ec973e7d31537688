import Foundation
import LMDB
import Synchronization

/// The single owner of write transactions (group commit).
///
/// It takes every append waiting at that moment, applies them one by one in
/// one LMDB transaction and commits it durably; only then are the callers
/// answered. An append that fails its checks writes nothing and fails alone;
/// a storage failure fails the whole batch, and nothing of it is kept.
///
/// With a redo file (`redo`), the commit's records are written there while LMDB
/// flushes its data pages, and the callers are answered once both are durable:
/// one flush of waiting instead of LMDB's two in series (see `RedoLog`).
final class Writer: @unchecked Sendable {
    /// Everything below is touched only on the writer thread.
    private struct State {
        var head: LogHead
        var nextNumber: [LogSchema.NameKind: UInt64]
    }

    private struct NameKey: Hashable {
        let kind: LogSchema.NameKind
        let name: String
    }

    static let cachedNamesMax = 200_000
    static let cachedChainHeadsMax = 200_000

    private let environment: Environment
    private let schema: LogSchema
    private let clock: any LogClock
    private let queue: AppendQueue
    private let onCommit: @Sendable (LogHead) -> Void
    private var state: State
    private var names: [NameKey: UInt64] = [:]
    /// The last name looked up of each kind (indexed by `linkIndex`): an append's events
    /// mostly share their actor and type, and a string comparison is cheaper than hashing.
    private var recentNames: [(name: String, number: UInt64)?] = [nil, nil, nil]
    private struct CachedHead {
        var head: ChainHead
        /// Changed by the transaction being built, not yet written to it.
        var dirty: Bool
    }

    /// Chain heads as of the transaction being built (committed ones, plus this transaction's).
    private var heads: [ChainKey: CachedHead] = [:]
    /// The chains whose cached heads are dirty: written once, just before the transaction commits.
    private var dirtyHeads: [ChainKey] = []
    let statistics: WriterStatistics
    /// Set before the writer thread starts when commits wait for one flush (LMDB opened with MDB_NOMETASYNC).
    var redo: RedoLog?
    /// The records of the transaction being built, for the redo file.
    private var redoEntry = RedoLog.Builder()
    private let probe: (@Sendable (CommitStage, UInt64) -> Void)?

    init(
        environment: Environment, schema: LogSchema, clock: any LogClock, queue: AppendQueue,
        observer: (@Sendable (CommitSample) -> Void)? = nil,
        probe: (@Sendable (CommitStage, UInt64) -> Void)? = nil,
        onCommit: @escaping @Sendable (LogHead) -> Void
    ) throws {
        self.statistics = WriterStatistics(observer: observer)
        self.probe = probe
        self.environment = environment
        self.schema = schema
        self.clock = clock
        self.queue = queue
        self.onCommit = onCommit
        self.state = try environment.read { txn in
            var next: [LogSchema.NameKind: UInt64] = [:]
            for kind in LogSchema.NameKind.allCases {
                next[kind] = try txn.get(schema.meta, key: kind.counterKey).map { Key.readU64($0) } ?? 1
            }
            return State(head: try LogQueries(schema: schema, txn: txn).head(), nextNumber: next)
        }
    }

    var head: LogHead { state.head }

    /// The writer thread's loop; returns when the queue is closed and drained.
    func run() {
        while let batch = queue.nextBatch(maxEvents: LogLimits.eventsPerCommitMax) {
            process(batch)
        }
        redo?.close()
    }

    /// Rounds of taking late arrivals into a transaction before it commits.
    static let topUpRoundsMax = 4

    private func process(_ first: [AppendQueue.Pending]) {
        let before = state
        var batch = first
        var outcomes: [Result<AppendResult, EventLogError>] = []
        var attempts = 0
        var redoBegun = false
        let started = DispatchTime.now().uptimeNanoseconds
        var built = started
        do {
            if heads.count >= Self.cachedChainHeadsMax { heads.removeAll(keepingCapacity: true) }
            if names.count >= Self.cachedNamesMax { forgetNames() }
            try environment.write { txn in
                if attempts > 0 { forgetUncommitted(restoring: before) }
                attempts += 1
                dirtyHeads.removeAll(keepingCapacity: true)
                outcomes.removeAll(keepingCapacity: true)
                redoEntry.reset()
                let queries = LogQueries(schema: schema, txn: txn)
                var applied = 0
                var events = 0
                for round in 0...Self.topUpRoundsMax {
                    if round > 0 {
                        let more = queue.takeMore(maxEvents: LogLimits.eventsPerCommitMax - events)
                        if more.isEmpty { break }
                        batch += more
                    }
                    while applied < batch.count {
                        outcomes.append(try apply(batch[applied], queries: queries))
                        events += batch[applied].eventCount
                        applied += 1
                    }
                }
                try flushDirtyHeads(txn)
                if let redo, !redoEntry.isEmpty {
                    redo.begin(&redoEntry)  // flushed while LMDB flushes
                    redoBegun = true
                }
                probe?(.redoBegun, state.head.position)
                built = DispatchTime.now().uptimeNanoseconds
            }
        } catch {
            forgetUncommitted(restoring: before)
            var failure =
                (error as? LMDBError).map(EventLogError.storage) ?? (error as? Divergence)?.error ?? (error as? EventLogError) ?? .closed
            if redoBegun, let redo {
                // The failed commit's records must never be re-applied; if they cannot be struck out, say so.
                do { try redo.cancel() } catch { failure = error }
            }
            statistics.recordFailure(failure)
            for pending in batch { pending.continuation.resume(throwing: failure) }
            return
        }
        probe?(.lmdbCommitted, state.head.position)
        if redoBegun, let redo, let failure = finishRedo(redo) {
            // LMDB has the commit (readers see it) but it is not known to be durable.
            statistics.recordFailure(failure)
            if state.head != before.head { onCommit(state.head) }
            for pending in batch { pending.continuation.resume(throwing: failure) }
            return
        }
        probe?(.durable, state.head.position)
        let committed = DispatchTime.now().uptimeNanoseconds
        statistics.recordCommit(
            appends: batch.count, events: Int(state.head.position - before.head.position),
            buildNanoseconds: Int(built - started), commitNanoseconds: Int(committed - built))
        // Publish the head first: a caller that reads `headPosition` after its append returns sees its own events.
        if state.head != before.head { onCommit(state.head) }
        for (pending, outcome) in zip(batch, outcomes) { pending.continuation.resume(with: outcome) }
    }

    /// Waits for the redo entry of the commit LMDB just made. When it could not be written, LMDB's meta page is flushed
    /// instead (the commit is then durable without it); nil when the commit is durable.
    private func finishRedo(_ redo: RedoLog) -> EventLogError? {
        do {
            try redo.finish()
        } catch {
            do { try environment.sync() } catch { return .storage(error) }
        }
        redo.committed()
        return nil
    }

    /// Re-applies the records of the redo file past the head (the commits a power loss took from LMDB), each placed
    /// exactly as an append is and checked to come out as the very record the redo file holds, so positions, chain and
    /// hashes are verified; an entry reaching past the head must hold the stored records below it. Then flushes LMDB,
    /// meta page included. Returns how many records were applied; an entry that does not continue this log throws.
    /// Entries wholly at or below the head restore nothing and are left to `verify` (`redo_mismatch`), so that a stale
    /// entry never keeps a sound log from opening.
    func recover(_ entries: [RedoLog.Entry]) throws(EventLogError) -> Int {
        let before = state
        let records = entries.filter { $0.lastPosition > before.head.position }.sorted { $0.firstPosition < $1.firstPosition }
            .flatMap(\.records)
        guard !records.isEmpty else { return 0 }
        do {
            // Records at or below the head are compared with the stored ones; the others are placed.
            try environment.write { txn in
                _ = try copy(records, mayBeAhead: false, queries: LogQueries(schema: schema, txn: txn))
                try flushDirtyHeads(txn)
            }
            try environment.sync()
        } catch {
            forgetUncommitted(restoring: before)
            switch error {
            case let divergence as Divergence:
                if case .replicaDiverged(let position, let reason) = divergence.error {
                    throw .redoUnusable(reason: "the record at position \(position) does not continue the log (\(reason))")
                }
                throw .redoUnusable(reason: "\(divergence.error)")
            case let error as LMDBError: throw .storage(error)
            default: throw .redoUnusable(reason: "\(error)")
            }
        }
        return Int(state.head.position - before.head.position)
    }

    /// One append's outcome. A rejection (an `EventLogError`, thrown before
    /// anything was written) fails only this append; a storage error is thrown
    /// on and aborts the whole transaction (a full map grows and the batch reruns).
    private func apply(_ pending: AppendQueue.Pending, queries: LogQueries) throws -> Result<AppendResult, EventLogError> {
        if !pending.copies.isEmpty {
            return .success(try copy(pending.copies, mayBeAhead: pending.copiesMayBeAhead, queries: queries))
        }
        do {
            return .success(try apply(pending.appends, queries: queries))
        } catch let rejection as EventLogError {
            return .failure(rejection)
        }
    }

    /// A copy that does not come out as the log of record's record: thrown past `apply`'s rejections, so the whole
    /// transaction is abandoned and nothing of the diverging copy is kept.
    private struct Divergence: Error {
        let error: EventLogError
    }

    /// Copies records of the log of record at their own positions, each through the same placement an append gets (so
    /// versions, links and the hash are computed here, not trusted), and checks each comes out identical.
    /// Records the replica holds already (the node's own commit copied first, then met again by the copier) are checked
    /// against the stored ones and skipped.
    private func copy(_ records: [RecordedEvent], mayBeAhead: Bool, queries: LogQueries) throws -> AppendResult {
        var positions: [UInt64] = []
        for record in records {
            if record.position <= state.head.position {
                guard try queries.event(at: record.position)?.hash == record.hash else {
                    throw Divergence(error: .replicaDiverged(position: record.position, reason: "the replica's record there differs"))
                }
                continue
            }
            guard record.position == state.head.position + 1 else {
                if mayBeAhead { break }
                throw Divergence(error: .replicaDiverged(position: record.position, reason: "the replica's head is \(state.head.position)"))
            }
            let proposed = ProposedEvent(
                eventId: record.eventId, type: record.type, schemaVersion: record.schemaVersion, payload: record.payload,
                metadata: record.metadata, recordedAt: record.recordedAt)
            let expected: ExpectedVersion = record.version == 1 ? .noStream : .exact(record.version - 1)
            let placed: AppendResult
            do {
                placed = try apply([StreamAppend(stream: record.stream, expected: expected, events: [proposed])], queries: queries)
            } catch let rejection as EventLogError {
                throw Divergence(error: .replicaDiverged(position: record.position, reason: "\(rejection)"))
            }
            guard !placed.wasAlreadyStored, placed.positions == [record.position], state.head.hash == record.hash,
                state.head.recordedAt == record.recordedAt
            else {
                throw Divergence(error: .replicaDiverged(position: record.position, reason: "the copied record's hash or time differs"))
            }
            positions.append(record.position)
        }
        return AppendResult(positions: positions, streams: [], wasAlreadyStored: false)
    }

    /// Caches may hold numbers and heads of a transaction that did not commit.
    private func forgetUncommitted(restoring saved: State) {
        state = saved
        forgetNames()
        heads.removeAll(keepingCapacity: true)
        dirtyHeads.removeAll(keepingCapacity: true)
    }

    private func flushDirtyHeads(_ txn: Transaction) throws {
        dirtyHeads.sort()
        for chain in dirtyHeads {
            guard let index = heads.index(forKey: chain) else { preconditionFailure("a dirty chain head left the cache") }
            try txn.put(schema.chains, key: chain.headKey, value: heads.values[index].head.bytes)
            heads.values[index].dirty = false
        }
        dirtyHeads.removeAll(keepingCapacity: true)
    }

    // MARK: One append

    private struct StreamPlan {
        let append: StreamAppend
        let number: UInt64?
        let currentVersion: UInt64?
    }

    /// Checks everything first and writes only when every check passed, so a
    /// thrown `EventLogError` means this append wrote nothing.
    private func apply(_ appends: [StreamAppend], queries: LogQueries) throws -> AppendResult {
        if let stored = try alreadyStored(appends, queries: queries) { return stored }
        var plans: [StreamPlan] = []
        plans.reserveCapacity(appends.count)
        for append in appends {
            let number = try lookupNumber(.stream, append.stream.rawValue, queries: queries)
            let current = try number.flatMap { try chainHead(ChainKey(kind: .stream, number: $0), queries: queries)?.count }
            guard append.expected.isSatisfied(byCurrent: current) else {
                throw EventLogError.wrongExpectedVersion(stream: append.stream, expected: append.expected, current: current)
            }
            plans.append(StreamPlan(append: append, number: number, currentVersion: current))
        }
        var positions: [UInt64] = []
        var results: [StreamAppendResult] = []
        for plan in plans {
            results.append(try write(plan, queries: queries, positions: &positions))
        }
        return AppendResult(positions: positions, streams: results, wasAlreadyStored: false)
    }

    private func write(_ plan: StreamPlan, queries: LogQueries, positions: inout [UInt64]) throws -> StreamAppendResult {
        let txn = queries.txn
        let stream = ChainKey(kind: .stream, number: try plan.number ?? assignNumber(.stream, plan.append.stream.rawValue, txn: txn))
        var version: UInt64 = plan.currentVersion ?? 0
        for event in plan.append.events {
            let position = state.head.position + 1
            let actor = ChainKey(kind: .actor, number: try number(.actor, event.metadata.actor, queries: queries))
            let type = ChainKey(kind: .type, number: try number(.type, event.type, queries: queries))
            let links = ChainLinks(
                stream: try extend(stream, to: position, queries: queries),
                actor: try extend(actor, to: position, queries: queries),
                type: try extend(type, to: position, queries: queries))
            version += 1
            let now = event.recordedAt ?? clock.now()
            let recordedAt = state.head.recordedAt.map { max(now, Timestamp(nanosecondsSinceEpoch: $0.nanosecondsSinceEpoch + 1)) } ?? now
            let placement = RecordCodec.Placement(
                position: position, version: version, recordedAt: recordedAt,
                previousHash: state.head.hash, links: links)
            let hash = try Key.withU64(position) { positionKey in
                // The record is encoded and hashed in the page LMDB reserved for it.
                let hash = try txn.put(
                    schema.events, key: positionKey, reserving: RecordCodec.encodedSize(of: event, stream: plan.append.stream),
                    flags: .append
                ) { record in
                    let hash = RecordCodec.encode(event, stream: plan.append.stream, placement: placement, into: record)
                    if redo != nil { redoEntry.append(UnsafeRawBufferPointer(record), position: position, hash: hash) }
                    return hash
                }
                try Key.withUUID(event.eventId) { try txn.put(schema.eventIds, key: $0, value: positionKey, flags: .noOverwrite) }
                try Key.withUUIDPosition(event.metadata.correlationId, position) {
                    try txn.put(schema.byCorrelation, key: $0, value: UnsafeRawBufferPointer(start: nil, count: 0))
                }
                return hash
            }
            state.head = LogHead(position: position, hash: hash, recordedAt: recordedAt)
            positions.append(position)
        }
        return StreamAppendResult(stream: plan.append.stream, firstVersion: (plan.currentVersion ?? 0) + 1, lastVersion: version)
    }

    /// Adds the event at `position` to a chain and returns the position it
    /// follows (0 for a new chain). The head moves in memory and is written at
    /// commit; the first event of every block gets an anchor now.
    private func extend(_ chain: ChainKey, to position: UInt64, queries: LogQueries) throws -> UInt64 {
        // One hash lookup for a cached head: it is read and replaced in place.
        let cachedIndex = heads.index(forKey: chain)
        let cached = cachedIndex.map { heads.values[$0] }
        let head = try cached?.head ?? queries.chainHead(chain) ?? ChainHead(count: 0, last: 0)
        let ordinal = head.count + 1
        if (ordinal - 1) % LogSchema.chainBlockEvents == 0 {
            try queries.txn.put(schema.chains, key: chain.anchorKey(block: ChainHead.block(ofOrdinal: ordinal)), value: Key.u64(position))
        }
        let extended = CachedHead(head: ChainHead(count: ordinal, last: position), dirty: true)
        if let cachedIndex {
            heads.values[cachedIndex] = extended
        } else {
            heads[chain] = extended
        }
        if cached?.dirty != true { dirtyHeads.append(chain) }
        return head.last
    }

    private func chainHead(_ chain: ChainKey, queries: LogQueries) throws -> ChainHead? {
        if let cached = heads[chain] { return cached.head }
        let head = try queries.chainHead(chain)
        if let head { heads[chain] = CachedHead(head: head, dirty: false) }
        return head
    }

    /// When every event id is stored already, the stored result (a retry); when only some are, a rejection.
    private func alreadyStored(_ appends: [StreamAppend], queries: LogQueries) throws -> AppendResult? {
        var positions: [UInt64] = []
        var storedId: UUID?
        var anyMissing = false
        for event in appends.lazy.flatMap(\.events) {
            if let position = try queries.position(ofEventId: event.eventId) {
                positions.append(position)
                storedId = storedId ?? event.eventId
            } else {
                anyMissing = true
            }
        }
        guard let storedId else { return nil }
        if anyMissing { throw EventLogError.partiallyStored(eventId: storedId) }
        var streams: [StreamAppendResult] = []
        for event in try queries.requireEvents(at: positions) {
            if let last = streams.indices.last, streams[last].stream == event.stream {
                streams[last].lastVersion = event.version
            } else {
                streams.append(StreamAppendResult(stream: event.stream, firstVersion: event.version, lastVersion: event.version))
            }
        }
        return AppendResult(positions: positions, streams: streams, wasAlreadyStored: true)
    }

    /// The number of a name, assigned now if the name is new.
    private func number(_ kind: LogSchema.NameKind, _ name: String, queries: LogQueries) throws -> UInt64 {
        try lookupNumber(kind, name, queries: queries) ?? assignNumber(kind, name, txn: queries.txn)
    }

    private func lookupNumber(_ kind: LogSchema.NameKind, _ name: String, queries: LogQueries) throws -> UInt64? {
        if let recent = recentNames[kind.linkIndex], recent.name == name { return recent.number }
        let key = NameKey(kind: kind, name: name)
        if let cached = names[key] {
            recentNames[kind.linkIndex] = (name, cached)
            return cached
        }
        guard let number = try queries.number(of: kind, name) else { return nil }
        remember(key, number)
        return number
    }

    private func assignNumber(_ kind: LogSchema.NameKind, _ name: String, txn: Transaction) throws -> UInt64 {
        let number = state.nextNumber[kind] ?? 1
        state.nextNumber[kind] = number + 1
        try txn.put(schema.names, key: Key.name(kind, name), value: Key.u64(number), flags: .noOverwrite)
        try txn.put(schema.meta, key: kind.counterKey, value: Key.u64(number + 1))
        remember(NameKey(kind: kind, name: name), number)
        return number
    }

    private func remember(_ key: NameKey, _ number: UInt64) {
        names[key] = number
        recentNames[key.kind.linkIndex] = (key.name, number)
    }

    private func forgetNames() {
        names.removeAll(keepingCapacity: true)
        recentNames = [nil, nil, nil]
    }
}

/// The moments of a commit a crash test stops a process at.
package enum CommitStage: String, Sendable, CaseIterable {
    /// The transaction is built and its redo entry is being flushed; LMDB has not committed.
    case redoBegun = "redo-begun"
    /// LMDB committed (its data pages flushed); the redo entry may still be in flight.
    case lmdbCommitted = "lmdb-committed"
    /// Both are durable; the callers are about to be answered.
    case durable
}

/// One durable commit, as the writer reports it to an observer (metrics).
public struct CommitSample: Sendable {
    /// Appends answered by the commit (successful or rejected).
    public var appends: Int
    public var events: Int
    /// Applying the appends inside the write transaction.
    public var buildNanoseconds: Int
    /// `mdb_txn_commit`: writing the pages and waiting for fsync.
    public var commitNanoseconds: Int
}

/// Counters of the writer's work, for metrics and benchmarks.
public final class WriterStatistics: Sendable {
    private let observer: (@Sendable (CommitSample) -> Void)?
    private let failure = Mutex<String?>(nil)
    private let commitsCount = Atomic<Int>(0)
    private let appendsCount = Atomic<Int>(0)
    private let eventsCount = Atomic<Int>(0)
    private let buildTotal = Atomic<Int>(0)
    private let commitTotal = Atomic<Int>(0)

    init(observer: (@Sendable (CommitSample) -> Void)?) { self.observer = observer }

    func recordCommit(appends: Int, events: Int, buildNanoseconds: Int, commitNanoseconds: Int) {
        observer?(CommitSample(appends: appends, events: events, buildNanoseconds: buildNanoseconds, commitNanoseconds: commitNanoseconds))
        if failure.withLock({ $0 != nil }) { failure.withLock { $0 = nil } }
        commitsCount.add(1, ordering: .relaxed)
        appendsCount.add(appends, ordering: .relaxed)
        eventsCount.add(events, ordering: .relaxed)
        buildTotal.add(buildNanoseconds, ordering: .relaxed)
        commitTotal.add(commitNanoseconds, ordering: .relaxed)
    }

    func recordFailure(_ error: EventLogError) { failure.withLock { $0 = "\(error)" } }

    /// Why the last write transaction failed, until one succeeds again (a storage error: disk full, I/O).
    public var lastFailure: String? { failure.withLock { $0 } }

    /// Time spent applying appends inside write transactions (CPU work).
    public var buildNanoseconds: Int { buildTotal.load(ordering: .relaxed) }
    /// Time spent in `mdb_txn_commit`: writing pages and waiting for fsync.
    public var commitNanoseconds: Int { commitTotal.load(ordering: .relaxed) }

    /// Durable LMDB transactions committed since the log was opened.
    public var commits: Int { commitsCount.load(ordering: .relaxed) }
    /// Appends answered by those commits (successful or rejected).
    public var appends: Int { appendsCount.load(ordering: .relaxed) }
    public var events: Int { eventsCount.load(ordering: .relaxed) }
}
