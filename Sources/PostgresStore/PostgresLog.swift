import EventStore
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// The event log kept in PostgreSQL: the log of record when a shop runs on
/// more than one machine. It keeps every promise the LMDB log keeps, with the
/// same record bytes and the same hash chain, so the same history exports
/// byte for byte from either.
///
/// Appenders on every node are serialized by one row, the log head, locked
/// `FOR UPDATE` in each append transaction: positions and chain hashes are
/// assigned under the lock, so they follow commit order, and a reader that
/// resumes after position N never misses a lower position committed later
/// (the gap a sequence taken at insert leaves: the lock is held until commit,
/// so position N+1 cannot commit before N). Each node group-commits every
/// append waiting on it into one transaction, as the LMDB writer does.
/// `LISTEN/NOTIFY` wakes followers; they also poll, in case a notification is lost.
public final class PostgresLog: LogBackend, Sendable {
    public struct Options: Sendable {
        /// Stamps `recordedAt` (never before the head's, so the time stays strictly increasing across nodes).
        public var clock: any LogClock = SystemClock()
        public var logger = Logger(label: "emporium.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        /// How often a follower re-reads the head when no notification came (and counts who else listens: `othersListen`).
        public var pollInterval = Duration.milliseconds(500)
        /// Connections this node keeps to PostgreSQL (its writer connection besides).
        public var connectionsMax = 8
        /// How many one-statement append transactions this node sends before the first of them is answered: each is placed
        /// on what the ones before it will have written, and PostgreSQL runs it as soon as they commit, so the node places,
        /// sends and answers while PostgreSQL writes. 1 sends one at a time.
        public var pipelineDepth = 2
        /// How long, at most, the next batch waits for the appenders a write just answered to come back while the write
        /// behind it is still in PostgreSQL's hands (so PostgreSQL is busy meanwhile): it is sent once it is as large as
        /// the batch answered, once that write is answered, or when this runs out. Without it, the next batch leaves
        /// with whoever came first, and the appenders just answered wait for the one after it. Zero sends at once.
        public var gatherWindow = Duration.microseconds(300)
        /// How long a request to PostgreSQL may take, a connection included, before it is given up as `unavailable`
        /// (PostgreSQL failing over, or this node cut off from it): an append waits at most this long in the queue and
        /// as long again for its commit. PostgreSQL ends a transaction left idle this long too, so a node cut off in the
        /// middle of one does not hold the log head locked for the others.
        public var answerTimeout = Duration.seconds(5)
        /// How long connecting may take (the schema created or checked under the migration lock, the head read): longer
        /// than a request, since a node starting beside others may wait for their migration, and bounded all the same.
        public var startTimeout = Duration.seconds(30)
        /// The start timeout as applied: never shorter than a request's.
        var startBound: Duration { max(startTimeout, answerTimeout) }
        /// How many positions the head may move past the chains' mark before this node brings the streams', actors' and
        /// types' chains up to it (`keepChains`), outside the head's lock. The fewer, the fewer records a write that reads the
        /// chains under the lock (placed again by PostgreSQL, or decided in a transaction) keeps first; the more, the
        /// fewer times a chain's row is moved (once per keeping that finds it extended). In `tools/bench-log-ab.sh` against
        /// the build that moved every row in every write: 1.02× the events/s at 512, 1.17× at 4,096.
        public var chainsKeptEvery: UInt64 = 4_096
        /// How many records one transaction of a start's upkeep moves or counts at most: rewriting a log of record of an
        /// older layout (`Schema.rewriteStep`) and bringing the chains up to the head (each step within the start timeout).
        public var upkeepStep: Int64 = 100_000
        /// How many streams' chains a node keeps knowing, and as many actors' and types': those written last (at least
        /// half as many; `KnownChains`). An append to a stream the node no longer knows, with an expected version, is
        /// decided under the head's lock while the node knows the head exactly (otherwise the write is placed again by
        /// PostgreSQL, which checks that version); one to an actor's chain it no longer knows is placed again. About
        /// 180 bytes a chain (`tools/bench-log-ab.sh`'s bench in a shop's shape peaked at 80 MB with 100,000, 92 MB with
        /// 200,000, 128 MB with 400,000).
        public var chainsKnownMax = 2 * KnownChains<String>.defaultGenerationMax
        /// Tests only: each append transaction sleeps this long in PostgreSQL after writing its rows and before
        /// committing, holding the head locked (a slow commit, to show no reader skips an event that commits late).
        package var holdBeforeCommit: Duration?
        /// Told of every transaction this node committed, with its records, before the appenders are answered (a node
        /// copies its own commits into its replica at once instead of reading them back).
        public var onCommit: (@Sendable ([RecordedEvent]) async -> Void)?
        public init() {}
    }

    public let endpoint: PostgresEndpoint
    let options: Options
    /// The connection pool, renewed when PostgreSQL answers again after a failover (see `poll`).
    private let pool: Mutex<Pool>
    private let configuration: PostgresClient.Configuration
    var client: PostgresClient { pool.withLock { $0.client } }

    private struct Pool {
        let client: PostgresClient
        let runner: Task<Void, Never>
        /// Counts renewals: a failure on a pool since replaced says nothing of PostgreSQL now.
        let generation: Int

        init(_ configuration: PostgresClient.Configuration, logger: Logger, generation: Int = 0) {
            let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
            self.client = client
            self.generation = generation
            runner = Task { await client.run() }
        }
    }
    private let watcher: Mutex<Task<Void, Never>?> = Mutex(nil)
    private let headWatch = HeadWatch(head: 0)
    /// Whether a session other than this log's own listener listens for commits (another node, or a tool following the
    /// log): only then does a write notify (`AppendPlan.notifies`). A node is told of its own commits by their answers, and
    /// a notification no one else hears is paid all the same: queued and signalled by the writer under the head's lock,
    /// read by the listener's backend, sent and decoded (without it, `tools/bench-log-ab.sh`: 1.16× the events/s of a
    /// node alone). Counted when the log connects and at every poll; true whenever a listener says it `joined` meanwhile.
    private let othersListen = Atomic<Bool>(true)
    /// Whether this node's writes notify at commit now (`othersListen`).
    var notifiesCommits: Bool { othersListen.load(ordering: .acquiring) }
    /// The backend of this log's listening connection (0 while it has none), left out when the listeners are counted.
    private let listenerBackend = Atomic<Int32>(0)
    private let committer: Committer
    /// Appends waiting for the commit loop to take them (tests see a batch whole before letting it go).
    var appendsWaiting: Int { committer.waitingCount }
    private let statistics = Mutex(CommitStatistics())

    /// Commits this node made and the events in them (events per PostgreSQL transaction, for the benchmarks).
    public struct CommitStatistics: Sendable {
        public var transactions = 0
        public var events = 0
        public var appends = 0
        /// Of `transactions`, those made in one statement on what the node knew (no read, no BEGIN/COMMIT).
        public var oneStatementTransactions = 0
        /// Of `oneStatementTransactions`, those sent while a write before them was not answered yet.
        public var pipelinedTransactions = 0
        /// One-statement writes sent (committed or not) whose batch was placed as its appends came, while the write ahead
        /// was in PostgreSQL's hands (`gatherPlacing`).
        public var placedWhileGathering = 0
        /// One-statement writes sent that did not commit (a stream had moved under them, an event id was stored already,
        /// or the link failed): their batches were decided again under the lock.
        public var failedOneStatementWrites = 0
        /// Of `oneStatementTransactions`, those PostgreSQL placed again on a head that had moved (another node's commit,
        /// or a write of this node placed again or refused ahead of them).
        public var rebasedWrites = 0
        /// Appends decided under the lock because they were refused on what the node knew (an expected version not the one
        /// it knew the stream at: a stream another node extended, or one it no longer knows), the rest of their batches
        /// sent in one statement.
        public var refusedOnWhatWasKnown = 0
        /// Writer connections opened (the first, and one after each write lost with its connection).
        public var writerConnections = 0
        /// Times the node let its writes in flight end before sending the next, so as to know the head exactly again after
        /// PostgreSQL placed one of them again (`Pacing`).
        public var drains = 0
        /// Times the node, inexact for good, found it had the log to itself again and let go of what it knew, to know the
        /// head exactly again from its next write, decided under the lock (`Pacing.landed`).
        public var relearned = 0
        /// Writes placed again by PostgreSQL that also answered every chain written since their plan's start (asked while
        /// the node could know the head exactly again: `Pacing.asksChains`), each answer a read of those writes' names
        /// under the head's lock.
        public var chainsAnswered = 0
    }

    public var commitStatistics: CommitStatistics { statistics.withLock { $0 } }

    /// The commit statistics as `/metrics` counters: how often this node's writes were placed again by PostgreSQL
    /// (another node committed under them) and what that cost is what an operator sizes a cluster by.
    public var counters: [LogCounter] {
        let statistics = commitStatistics
        return [
            LogCounter("transactions", statistics.transactions), LogCounter("events", statistics.events),
            LogCounter("appends", statistics.appends), LogCounter("one_statement_writes", statistics.oneStatementTransactions),
            LogCounter("writes_placed_again", statistics.rebasedWrites),
            LogCounter("writes_decided_again_under_lock", statistics.failedOneStatementWrites),
            LogCounter("drains", statistics.drains), LogCounter("relearned", statistics.relearned),
            LogCounter("chains_answered", statistics.chainsAnswered), LogCounter("writer_connections", statistics.writerConnections),
            LogCounter("appends_refused_on_what_was_known", statistics.refusedOnWhatWasKnown),
        ]
    }

    /// Connects, creates the schema when it is missing, and starts following the head.
    public static func connect(_ endpoint: PostgresEndpoint, options: Options = Options()) async throws -> PostgresLog {
        let log = PostgresLog(endpoint: endpoint, options: options)
        do {
            try await log.migrate()
            log.headWatch.publish(try await log.head().position)
            log.othersListen.store(await log.othersListening(), ordering: .releasing)
            log.startWatching()
            return log
        } catch {
            await log.close()
            throw EventLogError.unavailable("\(endpoint.redacted): \(String(reflecting: error))")
        }
    }

    private init(endpoint: PostgresEndpoint, options: Options) {
        self.endpoint = endpoint
        self.options = options
        var configuration = PostgresClient.Configuration(
            host: endpoint.host, port: endpoint.port, username: endpoint.user, password: endpoint.password,
            database: endpoint.database, tls: .disable)
        configuration.options.maximumConnections = options.connectionsMax
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = options.answerTimeout
        // No JIT: the log's statements are short, and the write's estimates (set-returning functions over arrays) would
        // cross its threshold and compile the write anew for a quarter of a second each time.
        configuration.options.additionalStartupParameters = [
            ("idle_in_transaction_session_timeout", "\(options.answerTimeout.wholeMilliseconds)"), ("jit", "off"),
        ]
        self.configuration = configuration
        pool = Mutex(Pool(configuration, logger: options.logger))
        committer = Committer()
    }

    /// Stops following and closes every connection.
    public func close() async {
        watcher.withLock { $0?.cancel() }
        headWatch.close()
        let running = keeping.withLock { keeping in
            keeping.closed = true
            return keeping.task
        }
        await running?.value  // bounded, as every request is
        writer.withLock { $0 }?.close()
        let runner = pool.withLock { $0.runner }
        runner.cancel()
        // Bounded too: a connection stuck in postgres-nio (a transaction PostgreSQL ended under it) must not hold a node's
        // shutdown, or a failed connect, for ever; the pool's connections are being closed either way.
        let bound = max(options.answerTimeout, Self.closeTimeout)
        do {
            try await Self.within(bound, closing: ConnectionInUse()) { await runner.value }
        } catch {
            options.logger.warning(
                "the connection pool did not close in time; leaving it to close behind",
                metadata: ["waited": "\(bound)", "error": "\(error)"])
        }
    }

    static let closeTimeout = Duration.seconds(5)

    /// A fresh pool in place of one that spent the outage failing to connect: postgres-nio's pool backs off between
    /// attempts (100 ms growing by a quarter each time, to a minute), so after a ten-second failover its next attempt
    /// may be seconds away. Requests on the old pool fail and are retried by their callers.
    /// Returns the old pool's runner, which ends once every connection of it is closed.
    @discardableResult
    func renewPool() -> Task<Void, Never> {
        let old = pool.withLock { pool in
            defer { pool = Pool(configuration, logger: options.logger, generation: pool.generation + 1) }
            return pool.runner
        }
        old.cancel()
        return old
    }

    // MARK: Schema

    /// The tables, created once by whichever node comes first (under an advisory lock, so two nodes starting together do not race).
    /// Within the start timeout: a transaction PostgreSQL ended under it (its idle-in-transaction timeout, on a node too
    /// slow between two statements) left postgres-nio's `withTransaction` waiting for ever, and a node starting with it.
    /// A log of record whose schema is newer than this build's is refused, and left as it is: its functions replaced by
    /// older ones (`CREATE OR REPLACE`) would write what its newer nodes do not expect.
    func migrate() async throws {
        let logger = options.logger
        try await bounded(within: options.startBound) { connection in
            try await self.startTransaction(on: connection) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
                try await connection.query(PostgresQuery(unsafeSQL: Schema.versionTable), logger: logger)
                let rows = try await connection.query("SELECT version FROM emporium_schema", logger: logger)
                for try await version in rows.decode(Int32.self) where version > Schema.version {
                    throw EventLogError.unavailable(
                        "the log of record's schema is version \(version), newer than this build's (\(Schema.version)): run this node with the build its other nodes run"
                    )
                }
                for statement in Schema.statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                try await connection.query(
                    """
                    INSERT INTO emporium_schema (singleton, version) VALUES (true, \(Schema.version))
                    ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version
                    """, logger: logger)
                try await connection.query(PostgresQuery(unsafeSQL: Schema.rewriteBegins), logger: logger)
            }
        }
        try await rewriteRowsPerEvent()
        let step = options.upkeepStep
        var kept: Int64?
        repeat {
            kept = try await bounded(within: options.startBound) { connection in
                let rows = try await connection.query(
                    Self.query("SELECT emporium_keep_chains(true, $1::bigint)", [step]), logger: logger)
                for try await mark in rows.decode(Int64?.self) { return mark }
                return nil
            }
            if let kept { logger.info("the chains of the log of record kept up to \(kept)") }
        } while kept != nil
    }

    /// Rewrites a log of record of schema version 2 (a row per event) one row per write, `upkeepStep` records a
    /// transaction, each under the migration's lock, until the old table is empty and dropped.
    private func rewriteRowsPerEvent() async throws {
        let (logger, most) = (options.logger, options.upkeepStep)
        var moved = 0
        while true {
            let step = try await bounded(within: options.startBound) { connection in
                try await self.startTransaction(on: connection) { connection in
                    try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
                    var exists = false
                    for try await found in try await connection.query(
                        "SELECT to_regclass('emporium_events') IS NOT NULL", logger: logger
                    ).decode(Bool.self) { exists = found }
                    guard exists else { return 0 }
                    var count = 0
                    for try await moved in try await connection.query(
                        Self.query(Schema.rewriteStep, [most]), logger: logger
                    ).decode(Int64.self) { count = Int(moved) }
                    if count == 0 { try await connection.query("DROP TABLE emporium_events", logger: logger) }
                    return count
                }
            }
            guard step > 0 else { break }
            moved += step
            logger.info("rewriting the log of record one row per write (schema version \(Schema.version)): \(moved) records moved")
        }
    }

    /// `body` in a transaction whose session PostgreSQL lets sit idle between two statements for the start timeout rather
    /// than the answer timeout (`idle_in_transaction_session_timeout`, set for the session before BEGIN and reset after):
    /// the start's transactions (migrating, rewriting, copying a page) run many statements, a node that starts on a loaded
    /// machine may be slow between two of them, and the whole is bounded by the start timeout already. With the answer
    /// timeout, PostgreSQL ended such a session under the migration of a node given 400 ms, and postgres-nio's
    /// `withTransaction` then waited out the start timeout: the node failed to start.
    private func startTransaction<R: Sendable>(
        on connection: PostgresConnection, _ body: (PostgresConnection) async throws -> R
    ) async throws -> R {
        let logger = options.logger
        try await connection.query(
            PostgresQuery(unsafeSQL: "SET idle_in_transaction_session_timeout = \(options.startBound.wholeMilliseconds)"),
            logger: logger)
        let result: R
        do {
            result = try await connection.withTransaction(logger: logger) { try await body($0) }
        } catch {
            // Back to the answer timeout for the pool's next request; a connection that closed under the transaction
            // is not asked (a query on it may never be answered).
            if !connection.isClosed {
                do {
                    try await connection.query("RESET idle_in_transaction_session_timeout", logger: logger)
                } catch let reset {
                    logger.warning(
                        "resetting a session's idle timeout after a failed start transaction failed; it keeps the start timeout",
                        metadata: ["error": "\(reset)", "transaction.error": "\(error)"])
                }
            }
            throw error
        }
        try await connection.query("RESET idle_in_transaction_session_timeout", logger: logger)
        return result
    }

    package static let migrationLock: Int64 = 0x656d_706f_7269_756d  // "emporium"
    /// The shared advisory lock every listening connection holds while it listens (the two-key form, apart from the
    /// one-key locks above): how the writers of a log of record count who would hear a notification.
    static let listeningLock: (Int32, Int32) = (0x656d_706f, 0x6c69_7374)  // "empo", "list"
    /// What a listener says on the channel when it starts, so that every writer notifies from then on.
    static let joinedPayload = "joined"

    // MARK: Appending

    public func append(_ appends: [StreamAppend]) async throws -> AppendResult {
        let eventCount = try EventLog.validate(appends)
        // Known to be out of reach for longer than a request may take: refused at once, not after another timeout (the
        // follower's poll finds out when PostgreSQL answers again).
        if let silent = reachability.unansweredFor(), silent > options.answerTimeout {
            throw EventLogError.unavailable("PostgreSQL has not answered for \(silent.components.seconds) s; nothing was appended")
        }
        let result = try await withCheckedThrowingContinuation { continuation in
            let pending = Pending(appends: appends, eventCount: eventCount, continuation: continuation, queuedAt: .now)
            if committer.submit(pending) { Task { await self.commitLoop() } }
        }
        return result
    }

    struct Pending: Sendable {
        let appends: [StreamAppend]
        let eventCount: Int
        let continuation: CheckedContinuation<AppendResult, any Error>
        let queuedAt: ContinuousClock.Instant
    }

    /// Appends waiting for the next transaction; one commit loop runs while there are any.
    final class Committer: Sendable {
        private struct State {
            var waiting: [Pending] = []
            var running = false
            /// The loop, asleep until enough appends wait or a write of it is answered.
            var sleeper: CheckedContinuation<Void, Never>?
            /// How many waiting appends wake the sleeping loop (nil: none do, it waits for an answer).
            var wakingCount: Int?
            /// Woken while it was not asleep: its next sleep returns at once.
            var woken = false
        }

        private let state = Mutex(State())

        var waitingCount: Int { state.withLock { $0.waiting.count } }

        /// Queues `pending`; true when the caller must start the commit loop. Wakes the loop only when it sleeps until as
        /// many appends wait as now do: an append that comes while the loop can do nothing with it (its writes in flight
        /// are as many as it sends at once, or it gathers a larger batch) does not wake it for nothing.
        func submit(_ pending: Pending) -> Bool {
            let (start, sleeper) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
                state.waiting.append(pending)
                guard state.running else {
                    state.running = true
                    return (true, nil)
                }
                guard let count = state.wakingCount, state.waiting.count >= count, let sleeper = state.sleeper else { return (false, nil) }
                state.sleeper = nil
                return (false, sleeper)
            }
            sleeper?.resume()
            return start
        }

        /// Returns once `wake` is called (at once, if it was since the last sleep) or, when `waitingCount` is given, once
        /// that many appends wait (at once, if they do).
        func sleep(untilWaiting waitingCount: Int?) async {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state in
                    if state.woken {
                        state.woken = false
                        return true
                    }
                    if let waitingCount, state.waiting.count >= waitingCount { return true }
                    state.sleeper = continuation
                    state.wakingCount = waitingCount
                    return false
                }
                if now { continuation.resume() }
            }
        }

        func wake() {
            let sleeper = state.withLock { state in
                defer { state.sleeper = nil }
                if state.sleeper == nil { state.woken = true }
                return state.sleeper
            }
            sleeper?.resume()
        }

        /// The next batch (at most `eventsMax` events, at least one append), or nil: then, when `ending`, the loop ends
        /// (the next append starts another); otherwise it goes on (it has writes in flight to wait for). Appends that waited
        /// longer than `waitMax` (the commits before them hung: PostgreSQL is failing over, or out of reach) are answered
        /// `unavailable` without being sent: their callers retry, and nothing of them is committed behind their backs.
        func take(eventsMax: Int, waitMax: Duration, ending: Bool, atLeastOne: Bool = true) -> [Pending]? {
            let now = ContinuousClock.now
            let (batch, expired) = state.withLock { state -> ([Pending]?, [Pending]) in
                // Queued in order: the expired ones are a prefix (usually empty: one comparison).
                let stale = state.waiting.prefix { now - $0.queuedAt > waitMax }.count
                let expired = Array(state.waiting.prefix(stale))
                state.waiting.removeFirst(stale)
                guard !state.waiting.isEmpty else {
                    if ending { state.running = false }
                    return (nil, expired)
                }
                var events = 0
                var count = 0
                for pending in state.waiting {
                    if count > 0 || !atLeastOne, events + pending.eventCount > eventsMax { break }
                    events += pending.eventCount
                    count += 1
                }
                guard count > 0 else { return (nil, expired) }
                guard count < state.waiting.count else {
                    // All of them (most often): the queue handed over as it is, not copied append by append.
                    defer { state.waiting = [] }
                    return (state.waiting, expired)
                }
                defer { state.waiting.removeFirst(count) }
                return (Array(state.waiting.prefix(count)), expired)
            }
            for pending in expired {
                pending.continuation.resume(
                    throwing: EventLogError.unavailable("the log of record took no append for \(waitMax); nothing was appended"))
            }
            return batch
        }
    }

    /// Sends batches as they come, up to `pipelineDepth` one-statement writes at once, and answers each in order as it
    /// commits; the appends of a batch that cannot be placed on what the node knows (refused on it, or all of them when
    /// nothing is known) wait for every write before them and are decided again under the lock, and so is a batch
    /// PostgreSQL would not place again (a stream of it moved under it).
    private func commitLoop() async {
        let deepest = max(options.pipelineDepth, 1)
        var writing: [Write] = []  // oldest first
        var pacing = pacingKept.withLock { $0 }
        while true {
            var answered = 0
            while let first = writing.first, first.isAnswered {
                answered += first.batch.count
                await finish(&writing, keeping: writing.count - 1, pacing: &pacing)
            }
            let (exact, regainable) = cache.withLock { ($0?.exact ?? true, $0?.coveredSinceExact ?? true) }
            let depth = pacing.depth(deepest, knowsTheHeadExactly: exact, regainable: regainable)
            if writing.isEmpty {
                pacing.placedInexactly = 0
            } else if pacing.mustDrain(knowsTheHeadExactly: exact, regainable: regainable) {
                // Nothing sent until the writes in flight are answered: the last of them tells the head exactly.
                if writing[0].isAnswered { continue }
                if !pacing.draining {
                    pacing.draining = true
                    statistics.withLock { $0.drains += 1 }
                }
                await committer.sleep(untilWaiting: nil)
                continue
            }
            pacing.draining = false
            if answered > 0, !writing.isEmpty, writing.count < depth {
                if let (batch, plan, results) = await gatherPlacing(as: answered, whileWaitingFor: writing[0]) {
                    let sent = await send(
                        batch, placed: plan, results: results, behind: writing.count,
                        askingChains: pacing.asksChains(regainable: regainable))
                    if sent.write != nil { statistics.withLock { $0.placedWhileGathering += 1 } }
                    await go(on: sent, writing: &writing, pacing: &pacing)
                    continue
                }
            }
            if answered > 0, writing.isEmpty, pacing.sendsOneAtATime(knowsTheHeadExactly: exact, regainable: regainable) {
                // Its next write waits for the other nodes' under the head's lock all the same: the appenders just
                // answered come back meanwhile and go in it, rather than in a write of their own placed again after it.
                await gather(as: answered, whileWaitingFor: nil)
            }
            if writing.count < depth {
                // Kept before a take that may end the loop: the next loop (started by the next append) goes on from it.
                if writing.isEmpty { pacingKept.withLock { $0 = pacing } }
                let batch = committer.take(eventsMax: LogLimits.eventsPerCommitMax, waitMax: options.answerTimeout, ending: writing.isEmpty)
                if let batch {
                    let sent = await send(batch, behind: writing.count, askingChains: pacing.asksChains(regainable: regainable))
                    await go(on: sent, writing: &writing, pacing: &pacing)
                    continue
                }
                if writing.isEmpty { return }
            }
            // The gathering may have ended on the answer of the write ahead, its wake taken by the gathering's own sleep:
            // looked at again, or its appenders would wait for the next append to come (or for ever, in a quiet shop).
            if writing[0].isAnswered { continue }
            // With as many writes in flight as are sent at once, only an answer wakes the loop (not every append that comes).
            await committer.sleep(untilWaiting: writing.count < depth ? 1 : nil)
        }
    }

    /// Keeps the write `sent` among those in flight and decides the appends it left under the lock, after every write in
    /// flight is answered.
    private func go(on sent: Sent, writing: inout [Write], pacing: inout Pacing) async {
        if let write = sent.write {
            pacing.sent(behind: write.pipelined, exactly: write.plan.exact)
            writing.append(write)
        }
        guard !sent.locked.isEmpty else { return }
        await finish(&writing, keeping: 0, pacing: &pacing)
        await commitLockedAndAnswer(sent.locked)
    }

    /// Gathers the next batch while the write ahead is in PostgreSQL's hands, placing its appends as they come, a few at a
    /// time, so that once it is whole it goes out at once: until `count` appends are placed, `ahead` is answered
    /// (PostgreSQL would then have nothing to do), or `gatherWindow` has passed. Placing 32 events took a tenth of the
    /// turn between a write's answer and the next write's sending, which with 64 appenders bounds a node (README,
    /// "placed as they come"). Nil when nothing came, or when nothing can be placed on what the node knows (the batch is
    /// then taken and decided as before); the batch, its plan and each append's result otherwise (an append refused on
    /// what the node knows ends the gathering: the others are sent, and it is decided again under the lock).
    private func gatherPlacing(
        as count: Int, whileWaitingFor ahead: Write
    ) async -> ([Pending], AppendPlan, [Result<AppendResult, EventLogError>])? {
        guard options.gatherWindow > .zero, options.holdBeforeCommit == nil, reachability.isReachable,
            var plan = cache.withLock({ $0.map { AppendPlan(cached: $0.head, exact: $0.exact) } })
        else {
            await gather(as: count, whileWaitingFor: ahead)
            return nil
        }
        var batch: [Pending] = []
        var results: [Result<AppendResult, EventLogError>] = []
        var events = 0
        let deadline = ContinuousClock.now + options.gatherWindow
        let timer = windowTimer()
        defer { timer.cancel() }
        var refused = false
        while true {
            if let taken = committer.take(
                eventsMax: LogLimits.eventsPerCommitMax - events, waitMax: options.answerTimeout, ending: false, atLeastOne: batch.isEmpty)
            {
                // The loop alone changes what the node knows, and it is here: the chains looked up are the plan's start's.
                cache.withLock { cache in
                    if let cache { plan.know(taken.flatMap(\.appends), streams: cache.streams, names: cache.names) }
                }
                batch += taken
                events += taken.reduce(0) { $0 + $1.eventCount }
                let placed = Self.place(taken, on: &plan, clock: options.clock)
                refused = refused || placed.contains { if case .failure = $0 { true } else { false } }
                results += placed
            } else if !batch.isEmpty, committer.waitingCount > 0 {
                break  // the next does not fit in this batch: it goes in the next
            }
            guard batch.count < count, !refused, events < LogLimits.eventsPerCommitMax, !ahead.isAnswered,
                ContinuousClock.now < deadline
            else { break }
            await committer.sleep(untilWaiting: min(Self.placedAtOnce, count - batch.count))
        }
        return batch.isEmpty ? nil : (batch, plan, results)
    }

    /// When the commit loop lets its writes in flight end before sending another. A write sent on what the node knows
    /// while the one ahead of it is in flight is placed on what that one will write; once PostgreSQL placed one of them
    /// again (another node committed under it), the node no longer knows the head exactly while any is in flight, and every
    /// write it sends meanwhile is placed again too (`emporium_rebase`, several times the cost of a write as placed): under
    /// a steady load, for as long as the load lasts. So the loop lets them end first, and knows the head again. Where
    /// other nodes keep committing, the next write is placed again all the same and the wait is lost: the first write sent
    /// with none in flight says which it is. Placed again, the loop waits only after twice as many writes placed inexactly
    /// as before (up to `inexactMost`), and sends one write at a time meanwhile (`depth`); written as placed, it waits at
    /// once the next time.
    struct Pacing {
        /// Writes sent inexactly behind others before the loop waits.
        var allowance = 0
        /// Writes sent inexactly behind others since the node last knew the head exactly with nothing in flight.
        var placedInexactly = 0
        /// Whether the loop is waiting for its writes in flight to end (counted once in `drains`).
        var draining = false
        static let inexactMost = 64

        /// Whether the loop waits for its writes in flight before sending another, the node knowing the head `exact`ly or
        /// not, and able to know it exactly again by letting its writes end or not (`regainable`: every answer since it
        /// last knew it exactly covered the chains written since, `Cache.coveredSinceExact`). Inexact for good, every write
        /// is placed again by PostgreSQL, and waiting would not make the node exact again.
        func mustDrain(knowsTheHeadExactly exact: Bool, regainable: Bool) -> Bool {
            !exact && regainable && placedInexactly >= allowance
        }

        /// How many writes the loop keeps in flight: one while other nodes keep committing (its writes are placed again
        /// by PostgreSQL all the same, one after another under the head's lock, so a second in flight only splits the
        /// node's appends into two smaller writes) or while the node is inexact for good (the same holds), `deepest`
        /// otherwise.
        func depth(_ deepest: Int, knowsTheHeadExactly exact: Bool, regainable: Bool) -> Int {
            sendsOneAtATime(knowsTheHeadExactly: exact, regainable: regainable) ? 1 : deepest
        }

        /// Whether other nodes keep committing, or the node is inexact for good: its writes are then placed again by
        /// PostgreSQL one after another under the head's lock, behind the other nodes' (`depth`).
        func sendsOneAtATime(knowsTheHeadExactly exact: Bool, regainable: Bool) -> Bool {
            allowance > 0 || (!exact && !regainable)
        }

        /// Whether a write placed again should answer every chain written since its plan's start, so that the node keeps
        /// what it knew of the others (`Cache.rebased`): not once a second write sent with none ahead was placed again
        /// (other nodes keep committing: its next write is placed again all the same), nor while the node is inexact for
        /// good (not `regainable`: `Cache.rebased` keeps nothing of such an answer but what the write moved, and only a
        /// write decided under the lock makes the node exact again). Either way the answer would cost PostgreSQL under the
        /// head's lock for nothing: with three busy nodes it was a third of `emporium_rebase`'s time (README, "Forty-second
        /// session").
        func asksChains(regainable: Bool) -> Bool { allowance <= 1 && regainable }

        /// A write sent (`behind` others in flight), placed `exactly` on what the node knew or not.
        mutating func sent(behind: Bool, exactly: Bool) {
            if behind, !exactly { placedInexactly += 1 }
        }

        /// A write answered: one sent exactly with none ahead of it says whether other nodes commit meanwhile.
        mutating func answered(behind: Bool, exactly: Bool, placedAgain: Bool) {
            guard !behind, exactly else { return }
            allowance = placedAgain ? min(2 * allowance + 1, Self.inexactMost) : 0
        }

        /// Where the node's last write answered ended, and how many writes PostgreSQL placed again, in a row, began right
        /// after it (no other node committed between them) while the node was inexact for good.
        var lastEnd: UInt64?
        var aloneInARow = 0
        /// Writes placed again in a row with no other node's between them before a node inexact for good lets go of what
        /// it knows (in a busy cluster the head passes from node to node, and a node's next write seldom follows its own).
        static let aloneToRelearn = 4

        /// A write answered, its rows at `first...last`, placed again by PostgreSQL or not, the node `regainable` or not
        /// (`mustDrain`): whether the node should let go of what it knows. Inexact for good, every write of it is placed
        /// again by PostgreSQL, at several times the cost of a write as placed, and no answer makes it exact again; once
        /// its writes follow one another with nothing between, it has the log to itself: its next write, decided under the
        /// lock, tells it the head exactly (and it learns the chains again as its writes meet them).
        mutating func landed(first: UInt64, last: UInt64, placedAgain: Bool, regainable: Bool) -> Bool {
            defer { lastEnd = last }
            guard placedAgain, !regainable, let lastEnd, first == lastEnd + 1 else {
                aloneInARow = 0
                return false
            }
            aloneInARow += 1
            guard aloneInARow >= Self.aloneToRelearn else { return false }
            aloneInARow = 0
            return true
        }
    }

    /// The pacing as the last commit loop left it: a loop ends once no append waits and nothing is in flight, and the next
    /// append starts another, which goes on from it. Started afresh, a quiet node (a loop per append) learned nothing:
    /// each of its writes, placed again after the busy nodes' writes, asked PostgreSQL for every chain written since its
    /// last (~1 ms under the head's lock for 440 positions behind, a quarter of what another node appending every 10 ms
    /// cost a busy one: README, "Forty-third session"); and the relearning, which counts writes that follow one another
    /// (`landed`), counted only within one loop.
    private let pacingKept = Mutex(Pacing())

    /// Appends placed at once while a batch is gathered: each wake of the loop costs a task switch.
    static let placedAtOnce = 8

    /// A task that wakes the loop at the end of the gather window (cancelled once the gathering ends before it).
    private func windowTimer() -> Task<Void, Never> {
        let committer = committer
        return Task { [window = options.gatherWindow] in
            do {
                try await Task.sleep(for: window)
                committer.wake()
            } catch {
                // Cancelled: the gathering ended before the window did, and nothing is left to wake.
            }
        }
    }

    /// Waits, at most `gatherWindow`, until `count` appends are waiting or `ahead` (if any) is answered (PostgreSQL would
    /// then have nothing to do). Woken once that many appends wait, and by the answer; a timer wakes it at the end.
    private func gather(as count: Int, whileWaitingFor ahead: Write?) async {
        guard options.gatherWindow > .zero, committer.waitingCount < count else { return }
        let deadline = ContinuousClock.now + options.gatherWindow
        let timer = windowTimer()
        defer { timer.cancel() }
        while committer.waitingCount < count, ahead?.isAnswered != true, ContinuousClock.now < deadline {
            await committer.sleep(untilWaiting: count)
        }
    }

    /// A one-statement write sent and not answered yet: the batch, what each of its appends placed, and the write.
    private struct Write {
        let batch: [Pending]
        let plan: AppendPlan
        let results: [Result<AppendResult, EventLogError>]
        /// PostgreSQL's answer, once it is in (`answered` says when, set on the connection's thread).
        let reply: PipelinedConnection.Reply
        let writer: PipelinedConnection
        let answered: Answered
        /// Sent while a write before it was in flight.
        let pipelined: Bool

        final class Answered: Sendable {
            let flag = Atomic<Bool>(false)
        }

        var isAnswered: Bool { answered.flag.load(ordering: .acquiring) }
    }

    /// What this node knew after its last commit, and what it will know once the writes in flight commit (each write
    /// updates it when it is sent): the head it wrote and the chains it read or moved then. A write placed on it is written
    /// as placed only while the head is still that one (`AppendPlan.sendIfCurrent` checks, under the lock) and the node
    /// knows it `exact`ly; otherwise PostgreSQL places it again, or refuses it when a stream moved under it.
    struct Cache {
        var head: LogHead
        /// Whether `names` and `streams` are what the log held at `head` (a write sent on them is then written as placed
        /// when `head` is still the head). Not so once a write of this node was placed again by PostgreSQL, or refused,
        /// while others were in flight behind it: then every write is placed again until none is in flight.
        var exact = true
        /// Streams' chains (a stream's version and its newest position). Kept when the head moves under the node: a stream
        /// another node extended since is caught by its `(stream, version)` index, or by `emporium_rebase`'s check.
        var streams: KnownChains<String>
        /// Actors' and types' chains: nothing in the log catches one another node extended since, so they hold only while
        /// `exact`.
        var names: KnownChains<AppendPlan.ChainKey>
        /// Whether every write placed again since the node last knew the head exactly answered the chains written since its
        /// plan's start (`rebased`): then `streams` and `names` are right again once the last of them is answered, but for
        /// the chains of writes still in flight, which their answers set right. Once not, only a write decided under the
        /// lock makes the node exact again (`remember`).
        var coveredSinceExact = true

        /// Keeps what a committed plan knew, merging it into what the node knew when it started where they did.
        mutating func merge(_ plan: AppendPlan) {
            head = plan.head
            for (key, chain) in plan.chains {
                let known = AppendPlan.Chain(count: chain.count, last: chain.last)
                if key.isStream { streams[key.name] = known } else { names[key] = known }
            }
        }

        /// After `plan` was refused: the streams it placed may never have been written (forgotten), and the node no longer
        /// knows what the log holds at any head until a write tells it again.
        mutating func refused(_ plan: AppendPlan) {
            for key in plan.chains.keys where key.isStream { streams[key.name] = nil }
            exact = false
            coveredSinceExact = false
        }

        /// After `plan` was placed again by PostgreSQL, its rows `shift` positions further, ending at `head`, with the
        /// actor and type chains it moved at `names` (and, when `covered`, every chain, streams' included, the records
        /// after the plan's start extend): its streams' newest positions moved with it (unless a write behind it placed them
        /// since). When no write is in flight behind it (`last`) and each write placed again since the node last knew the
        /// head exactly answered `covered`, the node knows exactly what the log held at `head` again (a chain no record
        /// since extended is as it knew it). Otherwise it does not: another node may have extended a stream it knows, and a
        /// write placed as it knows it would repeat a version; its writes are placed again by PostgreSQL, which checks
        /// every stream (`emporium_rebase`), until a write decided under the lock tells it again.
        mutating func rebased(
            _ plan: AppendPlan, shift: Int64, head: LogHead, names: [AppendPlan.ChainKey: AppendPlan.Chain], covered: Bool,
            last: Bool
        ) {
            for (key, chain) in plan.chains where key.isStream && streams[key.name]?.count == chain.count {
                streams[key.name] = AppendPlan.Chain(count: chain.count, last: UInt64(bitPattern: Int64(bitPattern: chain.last) &+ shift))
            }
            coveredSinceExact = coveredSinceExact && covered
            if coveredSinceExact {
                for (key, chain) in names {
                    if key.isStream { streams[key.name] = chain } else { self.names[key] = chain }
                }
            }
            guard last, coveredSinceExact else {
                if last { self.names = KnownChains(names.filter { !$0.key.isStream }, generationMax: self.names.generationMax) }
                exact = false
                return
            }
            self.head = head
            exact = true
        }
    }

    private let cache = Mutex<Cache?>(nil)

    /// Sends `batch` in one statement on the writer, placed on what this node knows (the writes in flight included): the
    /// appends accepted on that knowledge; those refused, or the whole batch when the node knows nothing, are to be
    /// decided under the lock. Another node's commit since (heard of or not) needs no look here: the statement finds the
    /// head is not the plan's start, and PostgreSQL places the write again.
    private func send(_ batch: [Pending], behind ahead: Int, askingChains: Bool) async -> Sent {
        guard options.holdBeforeCommit == nil, reachability.isReachable,
            var plan = cache.withLock({ cache in
                cache.map {
                    AppendPlan(cached: $0.head, exact: $0.exact, streams: $0.streams, names: $0.names, for: batch.flatMap(\.appends))
                }
            })
        else { return Sent(write: nil, locked: batch) }
        let results = Self.place(batch, on: &plan, clock: options.clock)
        return await send(batch, placed: plan, results: results, behind: ahead, askingChains: askingChains)
    }

    /// What became of a batch: the one-statement write sent, if any, and the appends to decide under the lock once the
    /// writes in flight are answered.
    private struct Sent {
        let write: Write?
        let locked: [Pending]
    }

    /// Sends the appends of `batch` that `plan` placed (`results`: each append's) in one statement. Those it refused on
    /// what the node knows (an expected version of a stream the node no longer knows, or knows another node extended) are
    /// left to be decided under the lock, after the others: concurrent appends, answered as committed in that order. It
    /// places none of them, so the others stand without them. When nothing is placed or the log is out of reach, the
    /// whole batch is.
    private func send(
        _ batch: [Pending], placed plan: AppendPlan, results: [Result<AppendResult, EventLogError>], behind ahead: Int,
        askingChains: Bool
    ) async -> Sent {
        var plan = plan
        var placed = batch
        var placedResults = results
        var refused: [Pending] = []
        if results.contains(where: { if case .failure = $0 { true } else { false } }) {
            (placed, placedResults) = ([], [])
            for (pending, result) in zip(batch, results) {
                if case .success = result {
                    placed.append(pending)
                    placedResults.append(result)
                } else {
                    refused.append(pending)
                }
            }
            statistics.withLock { $0.refusedOnWhatWasKnown += refused.count }
        }
        guard reachability.isReachable, !plan.rows.isEmpty, let writer = await connectedWriter() else {
            return Sent(write: nil, locked: batch)
        }
        plan.notifies = othersListen.load(ordering: .acquiring)
        // Queued on the connection before this returns: in the order placed.
        let sent = plan.sendIfCurrent(on: writer, askingChains: askingChains)
        remember(plan, locked: false)  // the write on its way meanwhile
        let answered = Write.Answered()
        let committer = committer
        // Marked and the loop woken on the connection's thread, as the answer comes: not through a task of its own.
        sent.whenAnswered {
            answered.flag.store(true, ordering: .releasing)
            committer.wake()
        }
        let write = Write(
            batch: placed, plan: plan, results: placedResults, reply: sent, writer: writer, answered: answered, pipelined: ahead > 0)
        return Sent(write: write, locked: refused)
    }

    /// Waits for the oldest writes in flight until `keeping` are left, answering each that committed (as placed, or placed
    /// again by PostgreSQL). When one did not, its streams are forgotten and every write in flight waited for; the batches
    /// that did not commit are then decided again, in order, in one transaction under the lock.
    private func finish(_ writing: inout [Write], keeping: Int, pacing: inout Pacing) async {
        var failed: [Pending] = []
        while writing.count > max(keeping, 0) || (!failed.isEmpty && !writing.isEmpty) {
            let write = writing.removeFirst()
            guard let written = await written(write.reply, events: write.plan.rows.count, on: write.writer) else {
                cache.withLock { $0?.refused(write.plan) }
                statistics.withLock { $0.failedOneStatementWrites += 1 }
                failed += write.batch
                continue
            }
            pacing.answered(behind: write.pipelined, exactly: write.plan.exact, placedAgain: written.rebased != nil)
            // Only a write placed again asks (every other answer merely marks where it ended).
            let regainable = written.rebased == nil || cache.withLock { $0?.coveredSinceExact ?? true }
            let relearns = pacing.landed(
                first: written.first, last: written.first + UInt64(write.plan.rows.count) - 1, placedAgain: written.rebased != nil,
                regainable: regainable)
            statistics.withLock {
                $0.transactions += 1
                $0.oneStatementTransactions += 1
                $0.pipelinedTransactions += write.pipelined ? 1 : 0
                $0.rebasedWrites += written.rebased == nil ? 0 : 1
                $0.appends += write.batch.count
                $0.events += write.plan.rows.count
            }
            guard let rebased = written.rebased else {
                // After a write that failed the replica would see a gap: the copier brings these records instead.
                let records = options.onCommit == nil || !failed.isEmpty ? [] : write.plan.rows.map(\.recorded)
                await answer(write.batch, with: write.results, head: write.plan.head, records: records)
                continue
            }
            // Placed again: every position moved by as much, nothing else the appenders are told (the versions are the
            // ones placed). The node's replica gets the records from the copier.
            let shift = Int64(bitPattern: written.first &- write.plan.rows[0].position)
            cache.withLock {
                if relearns, writing.isEmpty {
                    $0 = nil  // the next write is decided under the lock, and the node knows the head exactly again
                } else {
                    $0?.rebased(
                        write.plan, shift: shift, head: rebased.head, names: rebased.names, covered: rebased.covered, last: writing.isEmpty)
                }
            }
            statistics.withLock {
                $0.relearned += relearns && writing.isEmpty ? 1 : 0
                $0.chainsAnswered += rebased.covered ? 1 : 0
            }
            let results = write.results.map { result in
                result.map { placed in
                    AppendResult(
                        positions: placed.positions.map { UInt64(bitPattern: Int64(bitPattern: $0) &+ shift) }, streams: placed.streams,
                        wasAlreadyStored: placed.wasAlreadyStored)
                }
            }
            await answer(write.batch, with: results, head: rebased.head, records: [])
        }
        if !failed.isEmpty { await commitLockedAndAnswer(failed) }
    }

    /// Hands `records` to the replica, publishes the head and answers the appenders.
    private func answer(
        _ batch: [Pending], with outcomes: [Result<AppendResult, EventLogError>], head: LogHead, records: [RecordedEvent]
    ) async {
        if let onCommit = options.onCommit, !records.isEmpty { await onCommit(records) }
        if head.position > headWatch.head { headWatch.publish(head.position) }
        for (pending, outcome) in zip(batch, outcomes) { pending.continuation.resume(with: outcome) }
        keepChainsWhenDue(head: head.position)
    }

    // MARK: The chains' keeper

    /// Whether a keeping is running on this node, the head the last one was started for, and whether the log is closed
    /// (none starts then).
    private let keeping = Mutex<(task: Task<Void, Never>?, head: UInt64, closed: Bool)>((nil, 0, false))

    /// Brings the chains up to the head in the background once it has moved `chainsKeptEvery` positions past where this
    /// node last did (one at a time; a failure is logged and left to the next commit). A keeping that ends looks again:
    /// the commits made while it ran started none.
    private func keepChainsWhenDue(head: UInt64) {
        keeping.withLock { keeping in
            guard !keeping.closed, keeping.task == nil, head >= keeping.head + options.chainsKeptEvery else { return }
            keeping.head = head
            keeping.task = Task {
                do {
                    let kept = try await self.keepChains()
                    self.keeping.withLock {
                        $0.task = nil
                        $0.head = max($0.head, kept ?? 0)
                    }
                    self.keepChainsWhenDue(head: self.headWatch.head)
                } catch {
                    self.options.logger.warning("keeping the chains failed; the next commit tries again", metadata: ["error": "\(error)"])
                    self.keeping.withLock { $0.task = nil }
                }
            }
        }
    }

    /// Brings every stream's, actor's and type's chain row up to the head and moves the chains' mark there
    /// (`emporium_keep_chains`), in a transaction of its own that does not take the head's lock, so appends go on
    /// meanwhile. Nil when another keeping holds the mark (on this node or another, or a write under the head's lock) or
    /// nothing is past it; otherwise the new mark.
    @discardableResult
    public func keepChains() async throws -> UInt64? {
        let logger = options.logger
        return try await bounded { connection in
            let rows = try await connection.query("SELECT emporium_keep_chains(false)", logger: logger)
            var mark: UInt64?
            for try await position in rows.decode(Int64?.self) { mark = position.map(UInt64.init) }
            return mark
        }
    }

    /// Commits `batch` under the lock and answers it; a transaction that fails fails every append of it.
    private func commitLockedAndAnswer(_ batch: [Pending]) async {
        do {
            let (outcomes, head, records) = try await commitLocked(batch)
            await answer(batch, with: outcomes, head: head, records: records)
        } catch {
            let failure = (error as? EventLogError) ?? .unavailable(String(reflecting: error))
            options.logger.error("an append transaction failed", metadata: ["error": "\(failure)", "appends": "\(batch.count)"])
            for pending in batch { pending.continuation.resume(throwing: failure) }
        }
    }

    /// The connection one-statement writes are sent on, each as soon as it is placed: PostgreSQL runs a connection's
    /// statements in the order they arrive, so each finds the head the one before it wrote, while the node places the
    /// next batch and answers the last; in libpq's pipeline mode, each is on the wire before the ones ahead of it are
    /// answered. Connected (and the statement prepared) when first needed, and again after it was lost.
    private let writer = Mutex<PipelinedConnection?>(nil)

    /// The writer, connected when it is not (nil when that fails: the batch goes to the locked path).
    private func connectedWriter() async -> PipelinedConnection? {
        if let writer = writer.withLock({ $0 }), !writer.isClosed { return writer }
        do {
            // One plan for every write, whatever its size (the statement's shape does not change with it), made once per
            // connection: with no sequential scan, so that a plan made while a table was small (or `emporium_rebase`'s
            // lookups, planned likewise) does not scan it whole once it has grown.
            let connected = try await PipelinedConnection.connect(
                endpoint, settings: [("plan_cache_mode", "force_generic_plan"), ("jit", "off"), ("enable_seqscan", "off")],
                statement: AppendPlan.writeIfCurrentSQL, answerTimeout: options.answerTimeout)
            statistics.withLock { $0.writerConnections += 1 }
            let replaced = writer.withLock { writer in
                defer { writer = connected }
                return writer
            }
            replaced?.close()
            return connected
        } catch {
            options.logger.debug("connecting the writer failed; appending under the lock", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// A connection of its own to the log of record (not the pool's), connecting within `timeout`.
    private func connectionConfiguration(timeout: Duration) -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: endpoint.host, port: endpoint.port, username: endpoint.user, password: endpoint.password,
            database: endpoint.database, tls: .disable)
        configuration.options.connectTimeout = .milliseconds(timeout.wholeMilliseconds)
        return configuration
    }

    /// Whether a write sent on `connection` wrote; a failure (a retried event id, a dropped connection, no answer within
    /// the answer timeout, when the connection is closed) is logged and the batch goes to the locked path, which tells a
    /// retry from a conflict and reports what is wrong.
    private func written(_ sent: PipelinedConnection.Reply, events: Int, on connection: PipelinedConnection) async -> AppendPlan.Written? {
        do {
            // The connection answers within the answer timeout, or fails every write it was given.
            return AppendPlan.Written(try await sent.get(), events: events)
        } catch let error as PipelinedConnection.Refused {
            // Refused by PostgreSQL itself (a retried event id): the write's transaction ended at its Sync and the connection
            // is ready for the next one, its statement prepared; the writes queued behind it go on as they were sent. (An
            // error that ends the session, a shutdown, is followed by the link closing: the next write connects again.)
            options.logger.debug(
                "PostgreSQL refused a one-statement append; deciding again under the lock", metadata: ["error": "\(error)"])
            return nil
        } catch {
            options.logger.debug("a one-statement append failed; deciding again under the lock", metadata: ["error": "\(error)"])
            // A lost link or no answer: the next write starts on a new connection.
            connection.close()
            return nil
        }
    }

    /// Keeps what `plan` will know once it commits, merged into what the node knows (its plan started there): a plan sent
    /// in one statement (`exact` as the node's knowledge was), or one committed under the lock with nothing in flight,
    /// which read what it stands on (`locked`): then the node's knowledge is exact again, the streams it knew kept.
    private func remember(_ plan: AppendPlan, locked: Bool) {
        cache.withLock { cache in
            // In place: the known chains are not copied per commit (they grow to their bound, `chainsKnownMax`).
            // Read field by field: a copy of the whole would make the merge below copy every chain.
            if let head = cache?.head, head == plan.start, let exact = cache?.exact, exact || !locked {
                cache?.merge(plan)
            } else {
                // On a head that moved: the streams known before may have been extended by another node since (a write
                // placed as the node knew them would repeat a version), so when any is kept the node does not know the head
                // exactly, and PostgreSQL checks every stream of its writes (`emporium_rebase`) from then on.
                let generationMax = options.chainsKnownMax / 2
                let kept = cache?.streams ?? KnownChains(generationMax: generationMax)
                var fresh = Cache(
                    head: plan.head, exact: locked && kept.isEmpty, streams: kept, names: KnownChains(generationMax: generationMax))
                fresh.coveredSinceExact = kept.isEmpty
                cache = nil  // the streams kept are then the fresh knowledge's alone, and merged in place
                fresh.merge(plan)
                cache = fresh
            }
        }
    }

    /// Each append of `batch` placed on `plan` in order: its result, or why it is refused (the others go on).
    private static func place(_ batch: [Pending], on plan: inout AppendPlan, clock: any LogClock) -> [Result<AppendResult, EventLogError>] {
        batch.map { pending in
            do throws(EventLogError) {
                return .success(try plan.place(pending.appends, clock: clock))
            } catch {
                return .failure(error)
            }
        }
    }

    /// One transaction for the whole batch: the head locked, every append checked and placed in order, the rows written.
    /// Two round trips while the head is held, each a group of statements sent at once: the lock and the reads (BEGIN
    /// ahead of them), then the write and COMMIT. (Nodes whose knowledge another node's commit made stale all come this
    /// way, so in a cluster it is how long the head is held.)
    private func commitLocked(_ batch: [Pending]) async throws -> ([Result<AppendResult, EventLogError>], LogHead, [RecordedEvent]) {
        let options = options
        let committed = try await bounded { connection in
            let logger = options.logger
            let begun: EventLoopFuture<PostgresQueryResult> = connection.query("BEGIN", logger: logger)
            var committing = false
            do {
                var plan = try await AppendPlan.load(batch.flatMap(\.appends), connection: connection, logger: logger)
                _ = try await begun.get()
                let outcomes = Self.place(batch, on: &plan, clock: options.clock)
                plan.notifies = self.othersListen.load(ordering: .acquiring)
                let wrote = plan.send(connection: connection, logger: logger)
                var held: EventLoopFuture<PostgresQueryResult>?
                if let hold = options.holdBeforeCommit {
                    let seconds = Double(hold.components.seconds) + Double(hold.components.attoseconds) / 1e18
                    held = connection.query("SELECT pg_sleep(\(seconds))", logger: logger)
                }
                let commit: EventLoopFuture<PostgresQueryResult> = connection.query("COMMIT", logger: logger)
                committing = true
                // A write that failed left the transaction aborted: COMMIT then ends it as a rollback.
                try await AppendPlan.written(wrote)
                _ = try await held?.get()
                _ = try await commit.get()
                self.statistics.withLock {
                    $0.transactions += 1
                    $0.appends += batch.count
                    $0.events += plan.rows.count
                }
                return (outcomes, plan, options.onCommit == nil ? [] : plan.rows.map(\.recorded))
            } catch {
                if !committing {
                    do { try await connection.query("ROLLBACK", logger: logger) } catch {
                        logger.debug("rolling back a failed append transaction failed", metadata: ["error": "\(error)"])
                    }
                }
                throw error
            }
        }
        remember(committed.1, locked: true)
        return (committed.0, committed.1.head, committed.2)
    }

    /// Writes records of another log (`emporium migrate`) at their own positions, in one transaction, each placed as an
    /// append is and checked to come out identical (position, version, links, time, hash); a record that does not, or a
    /// log whose head is not one of the records or the position before the first, fails the whole call and nothing of it
    /// is kept. The records up to a head among them are held already (the hash chain says so when the head's hash is the
    /// record's): only those after it are written, so a copy tried again after one whose answer was lost (a timeout while
    /// PostgreSQL committed it) lands once. Within the start timeout, as connecting is: a page of records takes longer than
    /// a request, and a transaction PostgreSQL ended under it must not leave `emporium migrate` waiting for ever.
    public func copy(_ records: [RecordedEvent]) async throws {
        guard let first = records.first else { return }
        let appends = records.map { record in
            StreamAppend(
                stream: record.stream, expected: record.version == 1 ? .noStream : .exact(record.version - 1),
                events: [
                    ProposedEvent(
                        eventId: record.eventId, type: record.type, schemaVersion: record.schemaVersion, payload: record.payload,
                        metadata: record.metadata, recordedAt: record.recordedAt)
                ])
        }
        let (logger, clock) = (options.logger, options.clock)
        let head = try await bounded(within: options.startBound) { connection in
            try await self.startTransaction(on: connection) { connection in
                var plan = try await AppendPlan.load(appends, connection: connection, logger: logger)
                let held = records.prefix { $0.position <= plan.head.position }.count
                guard plan.head.position + 1 >= first.position, held == 0 || records[held - 1].hash == plan.head.hash,
                    held < records.count || records[held - 1].position == plan.head.position
                else {
                    throw EventLogError.replicaDiverged(
                        position: first.position, reason: "the PostgreSQL log's head is \(plan.head.position)")
                }
                guard held < records.count else { return plan.head }
                for (record, append) in zip(records[held...], appends[held...]) {
                    let placed: AppendResult
                    do throws(EventLogError) {
                        placed = try plan.place([append], clock: clock)
                    } catch {
                        throw EventLogError.replicaDiverged(position: record.position, reason: "\(error)")
                    }
                    guard !placed.wasAlreadyStored, placed.positions == [record.position], plan.head.hash == record.hash else {
                        throw EventLogError.replicaDiverged(position: record.position, reason: "the copied record's hash differs")
                    }
                }
                try await plan.write(connection: connection, logger: logger)
                return plan.head
            }
        }
        if head.position > headWatch.head { headWatch.publish(head.position) }
        keepChainsWhenDue(head: head.position)
    }

    // MARK: Reading

    public func head() async throws -> LogHead {
        let logger = options.logger
        return try await bounded { connection in
            let rows = try await connection.query("SELECT position, hash, recorded_at FROM emporium_log_head", logger: logger)
            for try await (position, hash, recordedAt) in rows.decode((Int64, ByteBuffer, Int64?).self) {
                return LogHead(
                    position: UInt64(position), hash: Digest(bytes: Array(hash.readableBytesView)),
                    recordedAt: recordedAt.map(Timestamp.init(nanosecondsSinceEpoch:)))
            }
            return .empty
        }
    }

    /// The head position as this node last learned it (from its own commits, notifications and polls), without a query.
    public var headPosition: UInt64 { headWatch.head }

    /// A stream's events from its newest back to version `stop` (an expression of the newest's `version`), as `walk`'s
    /// rows of `(version, position, record)`: by their back-pointers (`RecordCodec`: the previous position in the stream
    /// at offset 110), from the newest, which is the last of them past the chains' mark or else the one its row names (the
    /// mark, the row and the writes past it read in one snapshot). The version counts the row's records and those past the
    /// mark, or only the latter when the row was begun past the mark (its records are among them). `$1` is the stream's
    /// name. No index of streams' events is kept: each is a row and an index entry per event, and keeping them even behind
    /// the head cost what the write saved on this machine (README, "One row per write").
    static func streamWalk(stop: String) -> String {
        """
        WITH RECURSIVE mark AS (
            SELECT position FROM emporium_chains_mark),
        kept AS (
            SELECT count, last FROM emporium_chains WHERE kind = 0 AND name = $1::text),
        past AS (
            SELECT w.first + u.ord - 1 AS position FROM emporium_writes AS w
            CROSS JOIN LATERAL UNNEST(w.streams) WITH ORDINALITY AS u(s, ord)
            WHERE w.first > (SELECT position FROM mark) AND $1::text = ANY(w.streams) AND u.s = $1::text),
        newest AS (
            SELECT coalesce((SELECT CASE WHEN k.last > (SELECT position FROM mark) THEN 0 ELSE k.count END FROM kept AS k), 0)
                + (SELECT count(*) FROM past) AS version,
                coalesce((SELECT max(position) FROM past), (SELECT last FROM kept)) AS position),
        walk(version, position, record, stop) AS (
            SELECT n.version, n.position, \(recordAt("n")), \(stop) FROM newest AS n WHERE n.version > 0 AND n.version >= \(stop)
            UNION ALL
            SELECT w.version - 1, b.position, \(recordAt("b")), w.stop
            FROM walk AS w CROSS JOIN LATERAL (
                SELECT CAST(CAST('x' || encode(substr(w.record, 111, 8), 'hex') AS bit(64)) AS bigint) AS position) AS b
            WHERE w.version > w.stop)

        """
    }

    /// The first position of the write that holds `position` (an SQL expression), by the writes' primary key.
    static func writeHolding(_ position: String) -> String {
        "coalesce((SELECT max(x.first) FROM emporium_writes AS x WHERE x.first <= \(position)), 1)"
    }

    /// The record at a position of a row of `from` (`$from.position`), out of the write that holds it.
    static func recordAt(_ from: String) -> String {
        """
        (SELECT w.records[\(from).position - w.first + 1] FROM emporium_writes AS w
         WHERE w.first = \(writeHolding("\(from).position")))
        """
    }

    public func streamVersion(_ stream: StreamName) async throws -> UInt64? {
        let logger = options.logger
        return try await bounded { connection in
            let rows = try await connection.query(
                Self.query(Self.streamWalk(stop: "1") + "SELECT nullif(version, 0) FROM newest", [stream.rawValue]), logger: logger)
            for try await version in rows.decode(Int64?.self) { return version.map(UInt64.init) }
            return nil
        }
    }

    public func readStream(_ stream: StreamName, from version: UInt64?, backward: Bool, limit: Int) async throws -> [RecordedEvent] {
        let limit = Int64(min(max(limit, 0), LogLimits.readPageEventsMax))
        guard limit > 0 else { return [] }
        if backward {
            let start = Int64(min(version ?? UInt64(Int64.max), UInt64(Int64.max)))
            return try await records(
                Self.query(
                    Self.streamWalk(stop: "greatest(least($2::bigint, n.version) - $3::bigint + 1, 1)")
                        + "SELECT position, record FROM walk WHERE version <= $2::bigint ORDER BY version DESC LIMIT $3::bigint",
                    [stream.rawValue, start, limit]))
        }
        let start = Int64(min(max(version ?? 1, 1), UInt64(Int64.max)))
        return try await records(
            Self.query(
                Self.streamWalk(stop: "$2::bigint")
                    + "SELECT position, record FROM walk WHERE version - $2::bigint < $3::bigint ORDER BY version LIMIT $3::bigint",
                [stream.rawValue, start, limit]))
    }

    public func read(from position: UInt64, limit: Int) async throws -> [RecordedEvent] {
        let limit = Int64(min(max(limit, 0), LogLimits.readPageEventsMax))
        let start = Int64(min(max(position, 1), UInt64(Int64.max)))
        guard limit > 0 else { return [] }
        return try await records(between: start, and: start + min(limit - 1, Int64.max - start))
    }

    public func event(at position: UInt64) async throws -> RecordedEvent? {
        guard position > 0, position <= UInt64(Int64.max) else { return nil }
        return try await records(between: Int64(position), and: Int64(position)).first
    }

    public func event(id: UUID) async throws -> RecordedEvent? {
        try await records(
            "SELECT i.position, \(unescaped: Self.recordAt("i")) FROM emporium_event_ids AS i WHERE i.event_id = \(id)"
        ).first
    }

    /// The records at positions `start` to `end`, out of the writes that hold them (the first of them may begin before).
    private func records(between start: Int64, and end: Int64) async throws -> [RecordedEvent] {
        try await records(
            Self.query(
                """
                SELECT w.first + u.ord - 1 AS position, u.rec FROM emporium_writes AS w
                CROSS JOIN LATERAL UNNEST(w.records) WITH ORDINALITY AS u(rec, ord)
                WHERE w.first >= \(Self.writeHolding("$1::bigint")) AND w.first <= $2::bigint
                  AND w.first + u.ord - 1 BETWEEN $1::bigint AND $2::bigint
                ORDER BY 1
                """, [start, end]))
    }

    /// The records from `position` on whose name in `column` (`actors` or `types`, unnested beside the records) is `name`:
    /// the writes that hold one, walked in position order from the one that holds `position`.
    private func records(named name: String, in column: String, from position: UInt64, limit: Int) async throws -> [RecordedEvent] {
        let start = Int64(min(max(position, 1), UInt64(Int64.max)))
        return try await records(
            Self.query(
                """
                SELECT w.first + u.ord - 1, u.rec FROM emporium_writes AS w
                CROSS JOIN LATERAL UNNEST(w.\(column), w.records) WITH ORDINALITY AS u(name, rec, ord)
                WHERE w.first >= \(Self.writeHolding("$2::bigint"))
                  AND $1::text = ANY(w.\(column)) AND u.name = $1::text AND w.first + u.ord - 1 >= $2::bigint
                ORDER BY w.first, u.ord LIMIT $3::bigint
                """, [name, start, Int64(min(max(limit, 0), LogLimits.readPageEventsMax))]))
    }

    public func events(byActor actor: String, from position: UInt64, limit: Int) async throws -> [RecordedEvent] {
        try await records(named: actor, in: "actors", from: position, limit: limit)
    }

    public func events(ofType type: String, from position: UInt64, limit: Int) async throws -> [RecordedEvent] {
        try await records(named: type, in: "types", from: position, limit: limit)
    }

    /// The writes walked in position order, each record's correlation id read at its offset (`RecordCodec`: 46).
    public func events(correlatedWith id: UUID, from position: UInt64, limit: Int) async throws -> [RecordedEvent] {
        let start = Int64(min(max(position, 1), UInt64(Int64.max)))
        return try await records(
            Self.query(
                """
                SELECT w.first + u.ord - 1, u.rec FROM emporium_writes AS w
                CROSS JOIN LATERAL UNNEST(w.records) WITH ORDINALITY AS u(rec, ord)
                WHERE w.first >= \(Self.writeHolding("$2::bigint"))
                  AND substr(u.rec, 47, 16) = uuid_send($1::uuid) AND w.first + u.ord - 1 >= $2::bigint
                ORDER BY w.first, u.ord LIMIT $3::bigint
                """, [id, start, Int64(min(max(limit, 0), LogLimits.readPageEventsMax))]))
    }

    /// A binary search over positions for the first write whose newest record is at or after `time` (`recordedAt`
    /// strictly increases with the position, positions are gapless from 1 to the head, and a write's row holds its newest
    /// record's time), each step one lookup by the primary key; then the first of its records at or after `time`.
    public func position(atOrAfter time: Timestamp) async throws -> UInt64? {
        let found = try await records(
            """
            WITH RECURSIVE search(low, high) AS (
                SELECT 1::bigint, position + 1 FROM emporium_log_head
                UNION ALL
                SELECT CASE WHEN w.recorded_at >= \(time.nanosecondsSinceEpoch) THEN s.low ELSE w.last + 1 END,
                       CASE WHEN w.recorded_at >= \(time.nanosecondsSinceEpoch) THEN w.first ELSE s.high END
                FROM search AS s JOIN emporium_writes AS w ON w.first = \(unescaped: Self.writeHolding("(s.low + s.high) / 2"))
                WHERE s.low < s.high)
            SELECT w.first + u.ord - 1, u.rec FROM emporium_writes AS w
            CROSS JOIN LATERAL UNNEST(w.records) WITH ORDINALITY AS u(rec, ord)
            WHERE w.first = (SELECT low FROM search WHERE low >= high)
            ORDER BY u.ord
            """)
        return found.first { $0.recordedAt >= time }?.position
    }

    /// A query of `sql` binding `values` as `$1`, `$2`, … in order.
    static func query(_ sql: String, _ values: [any PostgresDynamicTypeEncodable]) -> PostgresQuery {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values { bindings.append(value) }
        return PostgresQuery(unsafeSQL: sql, binds: bindings)
    }

    public func waitForHead(after position: UInt64) async throws -> UInt64 {
        await headWatch.wait(after: position)
    }

    /// Rows of `(position, record)`, decoded.
    func records(_ query: PostgresQuery) async throws -> [RecordedEvent] {
        let logger = options.logger
        return try await bounded { connection in
            var events: [RecordedEvent] = []
            let rows = try await connection.query(query, logger: logger)
            for try await (position, record) in rows.decode((Int64, ByteBuffer).self) {
                events.append(try Self.decode(record, position: UInt64(position)))
            }
            return events
        }
    }

    static func decode(_ record: ByteBuffer, position: UInt64, verifyHash: Bool = false) throws(EventLogError) -> RecordedEvent {
        var result: Result<RecordedEvent, EventLogError> = .failure(.corruptRecord(position: position, reason: "empty"))
        record.withUnsafeReadableBytes { bytes in
            do throws(EventLogError) {
                result = .success(try RecordCodec.decode(bytes, position: position, verifyHash: verifyHash))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    /// Runs `body` on a connection of its own under the answer timeout (the wait for a connection included); when the
    /// time is up the connection is closed, which ends a request stuck on a link that went dark, and the call throws
    /// `unavailable`. Every failure to reach PostgreSQL is `unavailable`; a refusal thrown inside a transaction is itself.
    func bounded<R: Sendable>(
        within timeout: Duration? = nil, mayRetry: Bool = true, _ body: @escaping @Sendable (PostgresConnection) async throws -> R
    ) async throws -> R {
        let inUse = ConnectionInUse()
        inUse.poolGeneration.store(pool.withLock { $0.generation }, ordering: .relaxed)
        do {
            let value = try await Self.within(timeout ?? options.answerTimeout, closing: inUse) {
                // A connection closed while lent (a request that outlived its timeout is ended so) can be lent again before
                // the pool hears it closed: what is asked of a closing one fails unsent, and of a closed one may never be
                // answered (postgres-nio 1.33), so a closed one is not asked. Either way the request takes the next
                // connection (within its timeout), of the pool as it is then: one closed by the pool's renewal (PostgreSQL
                // answered again after a silence) is followed by one of the new pool, not by the old pool's refusal
                // (`poolShutdown`, which failed the first command after a partition healed). Closed under a request by
                // its own timeout, it ends (the caller has its answer).
                while true {
                    let client = self.pool.withLock { pool in
                        inUse.poolGeneration.store(pool.generation, ordering: .relaxed)
                        return pool.client
                    }
                    do {
                        return try await client.withConnection { connection in
                            guard !connection.isClosed else { throw ClosedConnection() }
                            inUse.lease(connection)
                            defer { inUse.connection.withLock { $0 = nil } }
                            return try await body(connection)
                        }
                    } catch  where Self.closedByThisClient(error) && !inUse.timedOut {
                        try await Task.sleep(for: .milliseconds(1))  // throws once the timeout cancels the request
                        guard !inUse.timedOut else { throw error }
                    }
                }
            }
            answered()
            return value
        } catch {
            guard pool.withLock({ $0.generation }) != inUse.poolGeneration.load(ordering: .relaxed) else { throw noted(error) }
            // The pool was replaced while this waited for a connection: it never ran, so it runs once on the new one.
            if mayRetry, !inUse.wasLeased, !Task.isCancelled { return try await bounded(within: timeout, mayRetry: false, body) }
            throw Self.failure(error)
        }
    }

    /// A connection the pool lent after it was closed.
    struct ClosedConnection: Error {}

    /// Whether a request failed because its connection was closed on this side, not by PostgreSQL or the network: lent
    /// closed, or closed under it (then it may have run: a write's retry finds its event ids stored and answers as stored).
    static func closedByThisClient(_ error: any Error) -> Bool {
        if error is ClosedConnection { return true }
        let cause = (error as? PostgresTransactionError).map { $0.beginError ?? $0.closureError } ?? error
        return (cause as? PSQLError)?.code == .clientClosedConnection
    }

    /// `body`'s answer, or `unavailable` once `timeout` has passed, when the connection in `inUse` is closed (a query does
    /// not heed cancellation; closing its connection fails it) and `body` is cancelled. The caller does not wait for `body`
    /// to end: a request stuck where neither reaches it (a pool that is being replaced) cannot hold the caller, and with it
    /// the node's commit loop, past the timeout.
    static func within<R: Sendable>(
        _ timeout: Duration, closing inUse: ConnectionInUse, _ body: @escaping @Sendable () async throws -> R
    ) async throws -> R {
        let race = Race<R>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation)
                let work = Task {
                    do {
                        race.finish(.success(try await body()))
                    } catch {
                        race.finish(.failure(error))
                    }
                }
                let timer = Task {
                    do { try await Task.sleep(for: timeout) } catch { return }  // cancelled: the answer came first
                    inUse.timeOut()  // before the answer: a request failing from the close below is then not sent again
                    guard race.finish(.failure(EventLogError.unavailable("PostgreSQL did not answer within \(timeout)"))) else { return }
                    inUse.connection.withLock { $0 }?.close().whenComplete { _ in }
                    work.cancel()
                }
                race.onFinish { timer.cancel() }
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    /// The first of a request's answer, its timeout and its caller's cancellation; the others are dropped.
    final class Race<R: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<R, any Error>?
            var outcome: Result<R, any Error>?
            var afterwards: (@Sendable () -> Void)?
        }

        private let state = Mutex(State())

        func start(_ continuation: CheckedContinuation<R, any Error>) {
            let early = state.withLock { state -> Result<R, any Error>? in
                guard let outcome = state.outcome else {
                    state.continuation = continuation
                    return nil
                }
                return outcome
            }
            if let early { continuation.resume(with: early) }  // cancelled before it started
        }

        /// Runs `action` once an outcome is known (at once, if it is).
        func onFinish(_ action: @escaping @Sendable () -> Void) {
            let done = state.withLock { state in
                if state.outcome == nil { state.afterwards = action }
                return state.outcome != nil
            }
            if done { action() }
        }

        /// True when `outcome` is the answer (it came first).
        @discardableResult
        func finish(_ outcome: Result<R, any Error>) -> Bool {
            let (won, continuation, afterwards) = state.withLock { state in
                guard state.outcome == nil else {
                    return (false, nil as CheckedContinuation<R, any Error>?, nil as (@Sendable () -> Void)?)
                }
                state.outcome = outcome
                defer {
                    state.continuation = nil
                    state.afterwards = nil
                }
                return (true, state.continuation, state.afterwards)
            }
            continuation?.resume(with: outcome)
            afterwards?()
            return won
        }
    }

    /// The connection a request runs on, closed when the request takes too long.
    final class ConnectionInUse: Sendable {
        let connection = Mutex<PostgresConnection?>(nil)
        private let leased = Atomic<Bool>(false)
        init(_ connection: PostgresConnection? = nil) { self.connection.withLock { $0 = connection } }

        func lease(_ connection: PostgresConnection) {
            leased.store(true, ordering: .relaxed)
            self.connection.withLock { $0 = connection }
        }

        /// Whether the request got a connection (and so may have run).
        var wasLeased: Bool { leased.load(ordering: .relaxed) }
        /// The generation of the pool the request last asked for a connection (`Pool.generation`).
        let poolGeneration = Atomic<Int>(0)

        private let expired = Atomic<Bool>(false)
        /// Said before the request's connection is closed for taking too long.
        func timeOut() { expired.store(true, ordering: .sequentiallyConsistent) }
        /// Whether the request took too long (its connection closed under it: not a connection to replace).
        var timedOut: Bool { expired.load(ordering: .sequentiallyConsistent) }
    }

    /// Runs `body` with the pool, without a time limit (a full check, a lease held for long), its failures as `bounded`'s.
    /// Its success does not count as PostgreSQL answering: `body` may end well after giving up on a dead connection
    /// (a lease).
    func run<R>(_ body: (PostgresClient) async throws -> R) async throws -> R {
        let (client, generation) = pool.withLock { ($0.client, $0.generation) }
        do {
            return try await body(client)
        } catch {
            // On a pool renewed under it (PostgreSQL answered again after a silence), a lease waiting for a connection
            // fails with the old pool (`poolShutdown`): that says nothing of PostgreSQL, which had just answered. Noted, it
            // made the node think PostgreSQL silent again until its next poll (its writes decided under the lock meanwhile).
            guard pool.withLock({ $0.generation }) == generation else { throw Self.failure(error) }
            throw noted(error)
        }
    }

    /// `error` as the log reports it, noted in `reachability` (a cancelled request, of a node closing, says nothing of it).
    private func noted(_ error: any Error) -> EventLogError {
        let failure = Self.failure(error)
        if error is CancellationError || Task.isCancelled { return failure }
        if case .unavailable(let reason) = failure { unanswered(reason) } else { answered() }
        return failure
    }

    /// `error` as the log reports it: a refusal as itself (thrown inside a transaction, it comes back wrapped, the
    /// transaction rolled back), anything else as `unavailable`.
    static func failure(_ error: any Error) -> EventLogError {
        if let error = error as? EventLogError { return error }
        if let error = error as? PostgresTransactionError, let refusal = error.closureError as? EventLogError { return refusal }
        return .unavailable(String(reflecting: error))
    }

    // MARK: Reachability

    private let contact = Mutex(LogReachability(lastAnswer: .now, failure: nil))

    public var reachability: LogReachability { contact.withLock { $0 } }

    private func answered() {
        let now = ContinuousClock.now
        let wasDown = contact.withLock { contact in
            defer { contact = LogReachability(lastAnswer: now, failure: nil) }
            return contact.failure != nil
        }
        if wasDown { options.logger.notice("PostgreSQL answers again", metadata: ["log": "\(endpoint.redacted)"]) }
    }

    private func unanswered(_ reason: String) {
        let wasUp = contact.withLock { contact in
            defer { contact.failure = reason }
            return contact.failure == nil
        }
        if wasUp { options.logger.warning("PostgreSQL does not answer", metadata: ["log": "\(endpoint.redacted)", "error": "\(reason)"]) }
    }

    // MARK: Following the head

    /// Notifications wake waiters at once; a poll catches what a dropped connection missed.
    private func startWatching() {
        let task = Task { [weak self] in
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [weak self] in await self?.listen() }
                group.addTask { [weak self] in await self?.poll() }
            }
        }
        watcher.withLock { $0 = task }
    }

    private func listen() async {
        let (classKey, objectKey) = Self.listeningLock
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    let rows = try await connection.query(
                        "SELECT pg_backend_pid() FROM (SELECT pg_advisory_lock_shared(\(classKey), \(objectKey))) AS held",
                        logger: options.logger)
                    for try await backend in rows.decode(Int32.self) { listenerBackend.store(backend, ordering: .releasing) }
                    _ = try await connection.query("SELECT pg_notify(\(Schema.channel), \(Self.joinedPayload))", logger: options.logger)
                    var ended: (any Error)?
                    do {
                        try await connection.listen(on: Schema.channel) { notifications in
                            for try await notification in notifications {
                                if let head = UInt64(notification.payload) {
                                    if head > headWatch.head { headWatch.publish(head) }
                                } else if notification.payload == Self.joinedPayload {
                                    othersListen.store(true, ordering: .releasing)
                                }
                            }
                        }
                    } catch {
                        ended = error
                    }
                    listenerBackend.store(0, ordering: .releasing)
                    // Back in the pool, the connection must not count as listening (a lost one let the lock go).
                    do {
                        _ = try await connection.query(
                            "SELECT 1 FROM (SELECT pg_advisory_unlock_shared(\(classKey), \(objectKey))) AS let_go",
                            logger: options.logger)
                    } catch {
                        // A lost connection let the lock go with it; one still up counts as listening until it closes.
                        options.logger.debug("letting the listening lock go failed", metadata: ["error": "\(error)"])
                    }
                    if let ended { throw ended }
                }
            } catch {
                listenerBackend.store(0, ordering: .releasing)
                if Task.isCancelled { return }
                // The log warns once when PostgreSQL stops answering; the poll catches what was missed meanwhile.
                options.logger.debug("listening for new commits failed; retrying", metadata: ["error": "\(error)"])
                do { try await Task.sleep(for: .seconds(1)) } catch { return }
            }
        }
    }

    /// Whether a session other than this log's listener holds the listening lock (`othersListen`); true when PostgreSQL
    /// does not say (a notification too many costs a little, one missing costs a follower its poll's wait).
    private func othersListening() async -> Bool {
        let (classKey, objectKey) = Self.listeningLock
        let own = listenerBackend.load(ordering: .acquiring)
        let logger = options.logger
        do {
            return try await bounded { connection in
                let rows = try await connection.query(
                    """
                    SELECT count(*) FROM pg_locks
                    WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = \(Int64(classKey))::oid
                        AND objid = \(Int64(objectKey))::oid AND pid <> \(own)
                        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    """, logger: logger)
                for try await count in rows.decode(Int64.self) { return count > 0 }
                return true
            }
        } catch {
            logger.debug("counting the listeners failed", metadata: ["error": "\(error)"])
            return true
        }
    }

    private func poll() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: options.pollInterval)
            } catch {
                return  // cancelled: the log is closing
            }
            do {
                let head: UInt64
                let reachable = reachability.isReachable
                if reachable {
                    head = try await self.head().position
                } else {
                    // Asked on a connection of its own, not the pool's (which may be backing off); once PostgreSQL
                    // answers the log counts as answering again, and after a silence longer than a request may take
                    // (a failover, not a blip: renewing closes the connections in use) the pool is renewed.
                    let silence = reachability.unansweredFor() ?? .zero
                    head = try await probe()
                    if silence > options.answerTimeout { renewPool() }
                    answered()
                }
                if head > headWatch.head { headWatch.publish(head) }
                // Not while the pool may be backing off (a probe answered): the next poll counts.
                if reachable { othersListen.store(await othersListening(), ordering: .releasing) }
            } catch {
                options.logger.debug("polling the head failed", metadata: ["error": "\(error)"])
            }
        }
    }

    static let probeTimeout = Duration.seconds(1)

    /// The head position, read on a new connection (closed after), within `probeTimeout`.
    private func probe() async throws -> UInt64 {
        // Short: a probe started while the link was dark must not keep the node refusing for a whole answer timeout
        // after PostgreSQL is back (a healthy server answers a new connection in milliseconds; a slow one is asked again).
        let timeout = min(options.answerTimeout, Self.probeTimeout)
        let configuration = connectionConfiguration(timeout: timeout)
        let inUse = ConnectionInUse()
        let logger = options.logger
        let settings = configuration
        return try await Self.within(timeout, closing: inUse) {
            let connection = try await PostgresConnection.connect(configuration: settings, id: 0, logger: logger)
            inUse.connection.withLock { $0 = connection }
            let answer: Result<UInt64, any Error>
            do {
                let rows = try await connection.query("SELECT position FROM emporium_log_head", logger: logger)
                var head: UInt64?
                for try await position in rows.decode(Int64.self) { head = UInt64(position) }
                answer = head.map { .success($0) } ?? .failure(EventLogError.unavailable("the log head row is missing"))
            } catch {
                answer = .failure(error)
            }
            // Closed before it is let go (postgres-nio requires it).
            do { try await connection.close() } catch { logger.debug("closing a probe connection failed", metadata: ["error": "\(error)"]) }
            return try answer.get()
        }
    }
}
