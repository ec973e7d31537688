import Foundation
import LMDB
import Synchronization

/// The append-only event log of a shop, stored in LMDB.
///
/// Appends are atomic across streams, checked against an expected version per
/// stream, idempotent by event id, and answered only once durable. Concurrent
/// appends are group-committed by one writer thread. Reads run on LMDB
/// snapshots and never block the writer.
public final class EventLog: Sendable {
    public struct Options: Sendable {
        public var clock: any LogClock = SystemClock()
        /// `false` skips fsync (MDB_NOSYNC): for throwaway data only.
        public var durable = true
        /// How a durable commit reaches the disk.
        public var durableCommit = DurableCommit.oneFlush
        public var initialMapSizeBytes = 256 << 20
        public var maxMapSizeBytes = 1 << 40
        public var readOnly = false
        /// Told of every durable commit, on the writer's thread (metrics): keep it short.
        public var onCommit: (@Sendable (CommitSample) -> Void)?
        /// Told of each stage of every commit, on the writer's thread (crash tests stop the process there).
        package var commitProbe: (@Sendable (CommitStage, UInt64) -> Void)?
        public init() {}
    }

    /// How a durable commit reaches the disk. Both survive a crash or a power loss with every acknowledged append.
    public enum DurableCommit: String, Sendable, CaseIterable {
        /// LMDB flushes its data pages while the commit's records are flushed to the redo file; the meta page is
        /// written without waiting (MDB_NOMETASYNC) and becomes durable with the next commit. One flush of waiting.
        case oneFlush = "one-flush"
        /// LMDB's own durable commit: the data pages are flushed, then the meta page is written through an O_DSYNC
        /// descriptor. Two flushes in series.
        case twoFlushes = "two-flushes"
    }

    let environment: Environment
    let schema: LogSchema
    let headWatch: HeadWatch
    private let queue = AppendQueue()
    private let writerFinished = DispatchSemaphore(value: 0)
    private let closed = Mutex(false)
    /// Set on a node of a cluster: appends go there, and this log holds copies of its records.
    private let ofRecord = Mutex<Upstream?>(nil)

    private struct Upstream: Sendable {
        let log: any LogBackend
        let beforeForwarding: (@Sendable () async throws -> Void)?
    }
    /// Commits, appends and events written since the log was opened.
    public let writerStatistics: WriterStatistics
    public let directory: String
    public let isReadOnly: Bool
    /// Records re-applied from the redo file when the log was opened (the newest commits before a power loss).
    public let recoveredFromRedo: Int

    /// Opens (creating when absent) the log in `directory`.
    public init(directory: String, options: Options = Options()) throws {
        var environmentOptions = EnvironmentOptions()
        environmentOptions.durable = options.durable
        environmentOptions.initialMapSizeBytes = options.initialMapSizeBytes
        environmentOptions.maxMapSizeBytes = options.maxMapSizeBytes
        environmentOptions.readOnly = options.readOnly
        let oneFlush = options.durable && options.durableCommit == .oneFlush && !options.readOnly
        environmentOptions.metaSync = !oneFlush
        if !options.readOnly {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let environment = try Environment(directory: directory, options: environmentOptions)
        let schema = try LogSchema(environment: environment)
        try Self.checkFormat(environment: environment, schema: schema, readOnly: options.readOnly)
        let headWatch = HeadWatch(head: 0)
        var writer: Writer?
        var entries: [RedoLog.Entry] = []
        if !options.readOnly {
            let opened = try Writer(
                environment: environment, schema: schema, clock: options.clock, queue: queue, observer: options.onCommit,
                probe: options.commitProbe
            ) { head in
                headWatch.publish(head.position)
            }
            // Commits a power loss took from LMDB come back from the redo file, before anything else is read or written.
            entries = try RedoLog.entries(in: directory)
            self.recoveredFromRedo = try opened.recover(entries)
            writer = opened
        } else {
            self.recoveredFromRedo = 0
        }
        let head = try environment.read { try LogQueries(schema: schema, txn: $0).head() }
        headWatch.publish(head.position)
        if head.position > 0 {
            try environment.read { txn in  // the newest record must decode and carry its own hash
                _ = try LogQueries(schema: schema, txn: txn).event(at: head.position, verifyHash: true)
            }
        }
        // The last step that may fail: its flusher thread stops only when the writer thread ends.
        if oneFlush { writer?.redo = try RedoLog(directory: directory, after: entries) }
        self.environment = environment
        self.schema = schema
        self.directory = directory
        self.isReadOnly = options.readOnly
        self.headWatch = headWatch
        guard let writer else {
            self.writerStatistics = WriterStatistics(observer: nil)
            return
        }
        self.writerStatistics = writer.statistics
        let finished = writerFinished
        let thread = Thread {
            writer.run()
            finished.signal()
        }
        thread.name = "emporium.log.writer"
        thread.start()
    }

    private static func checkFormat(environment: Environment, schema: LogSchema, readOnly: Bool) throws {
        let stored = try environment.read { txn in try txn.get(schema.meta, key: LogSchema.formatKey).map { Key.readU64($0) } }
        if let stored {
            guard stored == LogSchema.formatVersion else {
                throw EventLogError.invalidField(field: "format", reason: "log format \(stored) is not \(LogSchema.formatVersion)")
            }
        } else if !readOnly {
            try environment.write { txn in try txn.put(schema.meta, key: LogSchema.formatKey, value: Key.u64(LogSchema.formatVersion)) }
        }
    }

    deinit { closeNow() }

    /// Stops taking appends, writes those already queued, wakes subscribers and closes the file.
    public func close() { closeNow() }

    private func closeNow() {
        let wasClosed = closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        queue.close()
        if !isReadOnly { writerFinished.wait() }
        headWatch.close()
        environment.close()
    }

    // MARK: Appending

    /// Appends to one or more streams atomically. Returns once the events are durable.
    public func append(_ appends: [StreamAppend]) async throws -> AppendResult {
        guard !isReadOnly else { throw EventLogError.closed }
        if let upstream = ofRecord.withLock({ $0 }) {
            try await upstream.beforeForwarding?()
            return try await forward(appends, to: upstream.log)
        }
        let eventCount = try Self.validate(appends)
        return try await withCheckedThrowingContinuation { continuation in
            queue.submit(AppendQueue.Pending(appends: appends, eventCount: eventCount, continuation: continuation))
        }
    }

    public func append(to stream: StreamName, expected: ExpectedVersion, events: [ProposedEvent]) async throws -> AppendResult {
        try await append([StreamAppend(stream: stream, expected: expected, events: events)])
    }

    /// Rejects, before anything is queued, an append that can never be written.
    package static func validate(_ appends: [StreamAppend]) throws(EventLogError) -> Int {
        // Duplicates are looked for only where there can be any (most appends are one event to one stream).
        let (manyStreams, manyEvents) = (appends.count > 1, appends.count > 1 || (appends.first?.events.count ?? 0) > 1)
        var streams = Set<StreamName>()
        var ids = Set<UUID>()
        var events = 0
        var bytes = 0
        for append in appends {
            guard !manyStreams || streams.insert(append.stream).inserted else { throw .duplicateStreamInAppend(stream: append.stream) }
            guard !append.events.isEmpty else { throw .emptyAppend }
            for event in append.events {
                guard !manyEvents || ids.insert(event.eventId).inserted else { throw .duplicateEventInAppend(eventId: event.eventId) }
                try LogLimits.checkName(event.type, field: "type", maxBytes: LogLimits.typeNameBytesMax)
                try LogLimits.checkName(event.metadata.actor, field: "actor", maxBytes: LogLimits.actorBytesMax)
                if let key = event.metadata.idempotencyKey {
                    try LogLimits.checkName(key, field: "idempotencyKey", maxBytes: LogLimits.idempotencyKeyBytesMax)
                }
                let size = RecordCodec.encodedSize(of: event, stream: append.stream)
                guard size <= LogLimits.eventBytesMax else {
                    throw .eventTooLarge(eventId: event.eventId, bytes: size, limitBytes: LogLimits.eventBytesMax)
                }
                events += 1
                bytes += size
            }
        }
        guard events > 0 else { throw .emptyAppend }
        guard events <= LogLimits.eventsPerAppendMax, bytes <= LogLimits.appendBytesMax else {
            throw .appendTooLarge(events: events, bytes: bytes)
        }
        return events
    }

    // MARK: A replica of the log of record

    /// The log this one copies and appends to, when the shop's log of record is elsewhere (PostgreSQL).
    public var logOfRecord: (any LogBackend)? { ofRecord.withLock { $0?.log } }

    /// From now on appends go to `log`, the log of record, and this log takes only copies of its records
    /// (`replicate(from:)`). An append returns once its events are copied here, so the caller reads its own writes.
    /// `beforeForwarding` runs before each append is sent (a node publishes the keys its events are sealed with).
    public func forwardAppends(to log: any LogBackend, beforeForwarding: (@Sendable () async throws -> Void)? = nil) {
        ofRecord.withLock { $0 = Upstream(log: log, beforeForwarding: beforeForwarding) }
    }

    /// How long a forwarded append waits for its events to be copied back before it reports the replica as lagging.
    public static let copyWaitMax = Duration.seconds(30)

    private func forward(_ appends: [StreamAppend], to upstream: any LogBackend) async throws -> AppendResult {
        let result: AppendResult
        do {
            result = try await upstream.append(appends)
        } catch let error as EventLogError {
            // A conflict means this node decided on stale states: catch up with the log of record before the caller
            // reloads and retries, or every retry would meet the same conflict.
            if case .wrongExpectedVersion = error { try await waitForCopies(through: try await upstream.head().position) }
            throw error
        }
        try await waitForCopies(through: result.positions.max() ?? 0)
        return result
    }

    /// Returns once the records through `position` are copied here; throws `unavailable` after `copyWaitMax`.
    public func waitForCopies(through position: UInt64, timeout: Duration = EventLog.copyWaitMax) async throws {
        guard headWatch.head < position else { return }
        let watch = headWatch
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while watch.head < position {
                    _ = await watch.wait(after: watch.head)
                    if self.closed.withLock({ $0 }) { throw EventLogError.closed }
                    try Task.checkCancellation()
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw EventLogError.unavailable("the replica is at \(watch.head), still short of position \(position) after \(timeout)")
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Writes records of the log of record at their own positions, each placed as an append would be and checked to come
    /// out identical (position, version, links, time and hash); returns once they are durable. A diverging record fails the
    /// whole call and nothing of it is kept.
    /// Records at or below the head are checked against the stored ones and skipped; with `mayBeAhead` (a node copying its
    /// own commit as soon as it is made) records beyond the position after the head are left for `replicate` to bring.
    public func copy(_ records: [RecordedEvent], mayBeAhead: Bool = false) async throws {
        guard !isReadOnly else { throw EventLogError.closed }
        guard !records.isEmpty else { return }
        _ = try await withCheckedThrowingContinuation { continuation in
            queue.submit(
                AppendQueue.Pending(
                    appends: [], copies: records, copiesMayBeAhead: mayBeAhead, eventCount: records.count, continuation: continuation))
        }
    }

    /// Copies what `upstream` holds beyond this log's head, then each new commit as it lands, until `last` is copied or the task is cancelled
    /// (returns) or reading `upstream` fails or a copy diverges (throws). `beforeCopying` sees each page first (a node fetches
    /// the keys its records are sealed with); `progress` is told the head after each page.
    ///
    /// `upstream` is read only when it may hold more than is here: after a short page (all it had) the next read waits
    /// until its head is heard beyond this log's, and a head heard that is already here (a node's own commit, copied
    /// into its replica before the log of record's head moves) is waited past, not read.
    public func replicate(
        from upstream: any LogBackend, through last: UInt64? = nil,
        beforeCopying: (@Sendable ([RecordedEvent]) async throws -> Void)? = nil,
        progress: (@Sendable (UInt64) -> Void)? = nil
    ) async throws {
        // The chain makes the head's hash stand for everything before it: when it agrees, the whole prefix does.
        let local = try head()
        if local.position > 0 {
            let theirs = try await upstream.event(at: local.position)
            guard let theirs, theirs.hash == local.hash else {
                throw EventLogError.replicaDiverged(
                    position: local.position,
                    reason: theirs == nil ? "the log of record ends before it" : "the replica's record there is not the log of record's")
            }
        }
        var caughtUp = false  // the last read found all upstream had: read again once its head is heard beyond ours
        while !Task.isCancelled {
            let head = headWatch.head
            if let last, head >= last { return }
            if caughtUp {
                let heard = try await upstream.waitForHead(after: head)
                // Heard of nothing beyond what is here by now (a node's own commit): wait again. Heard of more, or
                // returned without moving (upstream closed, or the task cancelled): read, which says why.
                caughtUp = heard > head && heard <= headWatch.head
                continue
            }
            let page = try await upstream.read(from: head + 1, limit: LogLimits.readPageEventsMax)
            caughtUp = page.count < LogLimits.readPageEventsMax
            guard !page.isEmpty else { continue }
            try await beforeCopying?(page)
            try await copy(page)
            progress?(headWatch.head)
        }
    }

    // MARK: Reading

    func query<R>(_ body: (LogQueries) throws -> R) throws -> R {
        do {
            return try environment.read { try body(LogQueries(schema: schema, txn: $0)) }
        } catch let error as LMDBError {
            throw error.kind == .closed ? EventLogError.closed : EventLogError.storage(error)
        }
    }

    /// The last committed record.
    public func head() throws -> LogHead { try query { try $0.head() } }

    /// Position of the last committed record (0 for an empty log), without a transaction.
    public var headPosition: UInt64 { headWatch.head }

    /// Returns once the committed head is beyond `position` (or the log is closed, or the task cancelled).
    public func waitForHead(after position: UInt64) async -> UInt64 { await headWatch.wait(after: position) }

    /// The events of `stream` from `version` on (or, backward, from `version` down), at most `limit`.
    /// Without a version a forward read starts at the first event and a backward read at the last.
    public func readStream(
        _ stream: StreamName, from version: UInt64? = nil, backward: Bool = false,
        limit: Int = LogLimits.readPageEventsMax
    ) throws -> [RecordedEvent] {
        let start = version ?? (backward ? UInt64.max : 1)
        return try query { try $0.stream(stream, from: start, backward: backward, limit: min(limit, LogLimits.readPageEventsMax)) }
    }

    /// The last version of `stream`, or nil when it does not exist.
    public func streamVersion(_ stream: StreamName) throws -> UInt64? {
        try query { queries in try queries.chain(.stream, named: stream.rawValue)?.1.count }
    }

    /// Events from `position` on, in order, at most `limit`.
    public func read(from position: UInt64, limit: Int = LogLimits.readPageEventsMax) throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        _ = try query { queries in
            var names = RecentNames.forScan()
            return try queries.scan(from: position, limit: min(limit, LogLimits.readPageEventsMax), names: &names) {
                events.append($0); return true
            }
        }
        return events
    }

    /// Visits every event from `position` through `last` (default: the head when the scan starts),
    /// a chunk of `LogLimits.scanChunkEvents` per snapshot. `body` returns false to stop early.
    public func scan(
        from position: UInt64 = 1, through last: UInt64? = nil, verifyHash: Bool = false,
        _ body: (RecordedEvent) throws -> Bool
    ) throws {
        let end = try last ?? head().position
        var next = max(position, 1)
        var going = true
        var names = RecentNames.forScan()
        while going, next <= end {
            let chunk = Int(min(UInt64(LogLimits.scanChunkEvents), end - next + 1))
            let visited = try query { queries in
                try queries.scan(from: next, limit: chunk, verifyHash: verifyHash, names: &names) { event in
                    going = try body(event)
                    return going
                }
            }
            guard visited > 0 else { break }
            next += UInt64(visited)
        }
    }

    /// Visits, in order, the events from `position` through `last` whose stream `select` accepts; records of
    /// other streams are skipped without being decoded (so several threads can each take a share of the streams).
    /// `progress` gets the last position visited after each chunk.
    /// Each selected record is handed over as a `RecordView` read in place (the payload is not copied; it is
    /// valid only inside `body`): the form for folding a whole log.
    public func scanViews(
        from position: UInt64 = 1, through last: UInt64, selecting select: (UnsafeRawBufferPointer) -> Bool,
        progress: ((UInt64) -> Void)? = nil, _ body: (RecordView) throws -> Bool
    ) throws {
        var next = max(position, 1)
        var going = true
        while going, next <= last {
            let chunk = Int(min(UInt64(LogLimits.scanChunkEvents), last - next + 1))
            let visited = try query { queries in
                try queries.scan(from: next, limit: chunk, selecting: select) { bytes, at in
                    going = try body(try RecordCodec.view(bytes, position: at))
                    return going
                }
            }
            guard visited > 0 else { break }
            next += UInt64(visited)
            progress?(next - 1)
        }
    }

    public func event(at position: UInt64) throws -> RecordedEvent? { try query { try $0.event(at: position) } }

    public func event(id: UUID) throws -> RecordedEvent? {
        try query { queries in try queries.position(ofEventId: id).flatMap { try queries.event(at: $0) } }
    }

    /// Events written by `actor`, from `position` on, at most `limit`.
    public func events(byActor actor: String, from position: UInt64 = 1, limit: Int = 100) throws -> [RecordedEvent] {
        try chained(.actor, actor, from: position, limit: limit)
    }

    /// Events of `type`, from `position` on, at most `limit`.
    public func events(ofType type: String, from position: UInt64 = 1, limit: Int = 100) throws -> [RecordedEvent] {
        try chained(.type, type, from: position, limit: limit)
    }

    /// Events of one correlation (an HTTP request, a CLI run), from `position` on, at most `limit`.
    public func events(correlatedWith id: UUID, from position: UInt64 = 1, limit: Int = 100) throws -> [RecordedEvent] {
        try query { queries in
            try queries.requireEvents(
                at: queries.indexedPositions(
                    schema.byCorrelation, prefix: Key.uuid(id), from: position,
                    limit: min(limit, LogLimits.readPageEventsMax)))
        }
    }

    private func chained(_ kind: LogSchema.NameKind, _ name: String, from position: UInt64, limit: Int) throws -> [RecordedEvent] {
        try query { queries in
            guard let (chain, head) = try queries.chain(kind, named: name) else { return [] }
            return try queries.requireEvents(
                at: queries.chainPositions(
                    chain, head: head, fromPosition: position,
                    limit: min(limit, LogLimits.readPageEventsMax)))
        }
    }

    /// The first position recorded at or after `time`, or nil when every event is older.
    public func position(atOrAfter time: Timestamp) throws -> UInt64? {
        try query { queries in try queries.position(atOrAfter: time, head: try queries.head().position) }
    }

    /// The last position recorded at or before `time` (0 when none).
    public func position(atOrBefore time: Timestamp) throws -> UInt64 {
        guard time.nanosecondsSinceEpoch < Int64.max else { return try head().position }
        let after = try position(atOrAfter: Timestamp(nanosecondsSinceEpoch: time.nanosecondsSinceEpoch + 1))
        if let after { return after - 1 }
        return try head().position
    }

    /// Live events from `position` on: first the stored ones, then each new commit as it lands.
    public func subscribe(from position: UInt64 = 1, where filter: (@Sendable (RecordedEvent) -> Bool)? = nil) -> LogSubscription {
        LogSubscription(log: self, from: max(position, 1), filter: filter)
    }

    /// Flushes everything committed to disk (for a log opened with `durable = false`).
    /// Reads the newest record and checks its hash: the cheap check `/health` makes (a full check is `verify`).
    public func checkHead() throws {
        try query { queries in
            let head = try queries.head()
            if head.position > 0 { _ = try queries.event(at: head.position, verifyHash: true) }
        }
    }

    public func sync() throws {
        do { try environment.sync() } catch { throw EventLogError.storage(error) }
    }

    /// Bytes used by the data file.
    public var storedBytes: Int { environment.usedBytes() }
}
