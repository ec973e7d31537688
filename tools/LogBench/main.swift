import ArgumentParser
import EventStore
import Foundation
import PostgresStore
import Synchronization

/// Durable-append and scan throughput of the LMDB event log.
/// `tools/bench-log.sh` runs it beside PostgreSQL and prints the comparison.
@main
struct LogBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emporium-log-bench",
        abstract: "Measure durable appends and full scans of the Emporium event log.")

    @Option(name: .customLong("data-dir"), help: "Where to create the benchmark log (must be a real disk, not tmpfs).")
    var dataDirectory: String = "./.bench/log"
    @Option(help: "Seconds per append workload.") var seconds: Double = 5
    @Option(help: "Events in the log for the scan workload (topped up with bulk appends).") var scanEvents: Int = 1_000_000
    @Option(help: "Workloads to run, comma-separated: single,concurrent,batch,scan,paired (one-flush against two-flushes).")
    var workloads: String = "single,concurrent,batch,scan"
    @Option(help: "How a durable commit reaches the disk: one-flush (the default) or two-flushes (LMDB's own).")
    var durableCommit: String = EventLog.DurableCommit.oneFlush.rawValue
    @Option(help: "The label the result lines start with (the report tells runs apart by it).") var label: String = "lmdb"
    @Flag(help: "Print the benchmark payload and exit (the peer benchmark uses the same bytes).") var printPayload = false
    @Option(help: "Run the append workloads against the PostgreSQL log at this URL (an empty database) instead of LMDB.")
    var postgres: String?
    @Option(help: "One-statement append transactions the PostgreSQL log keeps in flight (1: one at a time).")
    var pipelineDepth = PostgresLog.Options().pipelineDepth
    @Option(help: "Microseconds the PostgreSQL log's next batch waits for the appenders just answered (0: none).")
    var gatherMicros = Int(PostgresLog.Options().gatherWindow / .microseconds(1))

    @Option(help: "Appenders in the concurrent workload (the targets are stated for 64).") var appenders: Int = 64
    @Option(
        help:
            "PostgreSQL only: engine nodes appending to the one log of record (each its own connections and knowledge; appenders spread over them)."
    )
    var nodes: Int = 1
    @Option(
        help:
            "PostgreSQL only: another node appends one event every this many milliseconds during the concurrent workload, as a quiet node of a cluster does (0: none)."
    )
    var interfereEveryMs: Int = 0
    @Option(
        help:
            "PostgreSQL only: positions the head moves past the chains' mark before a node keeps the chains, outside the head's lock."
    )
    var chainsKeptEvery = Int(PostgresLog.Options().chainsKeptEvery)
    @Option(
        help:
            "Each append also adds an event to one of this many shared streams (goods whose stock every order takes), with the version last seen of it by any appender, retried on a conflict as the engine does (0: none)."
    )
    var sharedStreams = 0
    @Option(help: "PostgreSQL only: streams' chains a node keeps knowing (and as many actors' and types'): those written last.")
    var chainsKnownMax = PostgresLog.Options().chainsKnownMax
    @Flag(
        help: ArgumentHelp(
            "Each append to a stream of its own, named as a shop names an order's (order-<UUIDv7>: in time order), not each appender to one stream throughout."
        ))
    var streamPerAppend = false
    @Option(
        help:
            "With --stream-per-append: every other append of an appender adds an event to the order it began this many orders before (as a payment does), not to a new one (0: never)."
    )
    var revisitAfter = 0
    @Flag(help: "With --revisit-after and --nodes 2 or more: an order is revisited through the next node, not the one that began it.")
    var revisitOnAnotherNode = false
    static let batchEvents = 100
    static let bulkEventsPerAppend = 1_000

    /// A ~270-byte JSON document shaped like an OrderPlaced payload.
    static let payload: [UInt8] = {
        var json =
            #"{"orderId":"0193a1f2-7c4e-7b21-9a4f-3c2d1e0f9a8b","number":"20261121-000042","customerId":"0193a1f2-1111-7000-8000-00000000002a","lines":[{"goodsId":"0193a1f2-2222-7000-8000-000000000007","quantity":2,"unitPrice":1999}],"subtotal":3998,"discount":0,"total":3998,"currency":"CNY","note":""#
        while json.utf8.count < 268 { json += "x" }
        return Array((json + "\"}").utf8)
    }()

    func run() async throws {
        if printPayload {
            print(String(decoding: Self.payload, as: UTF8.self))
            return
        }
        if let postgres { return try await runPostgres(postgres) }
        try? FileManager.default.removeItem(atPath: dataDirectory)
        var logOptions = EventLog.Options()
        logOptions.durable = ProcessInfo.processInfo.environment["BENCH_NOSYNC"] != "1"
        guard let commit = EventLog.DurableCommit(rawValue: durableCommit) else {
            throw ValidationError("--durable-commit is one-flush or two-flushes, not \(durableCommit)")
        }
        logOptions.durableCommit = commit
        let stages = StageTimes()
        if ProcessInfo.processInfo.environment["BENCH_STAGES"] == "1" { logOptions.commitProbe = { stage, _ in stages.reached(stage) } }
        let log = try EventLog(directory: dataDirectory, options: logOptions)
        defer {
            log.close()
            stages.print()
        }
        let selected = Set(workloads.split(separator: ",").map(String.init))
        print(
            "# emporium log bench: payload \(Self.payload.count) bytes, \(seconds) s per append workload, \(durableCommit) commits, data in \(dataDirectory)"
        )
        if selected.contains("single") {
            report("single", try await appendLoop(log, appenders: 1, eventsPerAppend: 1, label: "single"))
        }
        if selected.contains("concurrent") {
            report("concurrent", try await appendLoop(log, appenders: appenders, eventsPerAppend: 1, label: "concurrent"))
        }
        if selected.contains("batch") {
            report("batch", try await appendLoop(log, appenders: 1, eventsPerAppend: Self.batchEvents, label: "batch"))
        }
        if selected.contains("scan") { try await scan(log) }
        if selected.contains("paired") { try await paired(log, options: logOptions) }
    }

    /// One appender alternating between this log and a second one that commits the other way, so that both see the
    /// disk at the same moments (it drifts by ±20–50% between minutes): one event per append, then 100.
    func paired(_ log: EventLog, options: EventLog.Options) async throws {
        var otherOptions = options
        otherOptions.durableCommit = options.durableCommit == .oneFlush ? .twoFlushes : .oneFlush
        let otherDirectory = dataDirectory + "-paired"
        try? FileManager.default.removeItem(atPath: otherDirectory)
        let other = try EventLog(directory: otherDirectory, options: otherOptions)
        defer {
            other.close()
            try? FileManager.default.removeItem(atPath: otherDirectory)
        }
        let correlation = UUIDv7Generator.shared.next()
        for (name, events) in [("paired-single", 1), ("paired-batch", Self.batchEvents)] {
            let logs = [(log, options.durableCommit), (other, otherOptions.durableCommit)]
            var outcomes = logs.map { _ in Outcome(events: 0, seconds: 0, latenciesMicros: []) }
            var versions: [UInt64] = [0, 0]
            let stream = try StreamName("bench-\(name)-\(correlation.uuidString.prefix(8))")
            let deadline = ContinuousClock.now + .seconds(seconds)
            var turn = 0
            while ContinuousClock.now < deadline {
                let index = turn % 2
                turn += 1
                let batch = (0..<events).map { _ in
                    ProposedEvent(
                        eventId: UUIDv7Generator.shared.next(), type: "BenchEvent", payload: Self.payload,
                        metadata: EventMetadata(actor: "user:bench:customer", correlationId: correlation))
                }
                let begin = ContinuousClock.now
                _ = try await logs[index].0.append(
                    to: stream, expected: versions[index] == 0 ? .noStream : .exact(versions[index]), events: batch)
                let elapsed = ContinuousClock.now - begin
                outcomes[index].latenciesMicros.append(Self.micros(elapsed))
                outcomes[index].seconds += Self.micros(elapsed) / 1e6
                outcomes[index].events += events
                versions[index] += UInt64(events)
            }
            for (outcome, (_, commit)) in zip(outcomes, logs) { report(name, outcome, backend: commit.rawValue) }
        }
        // 64 appenders cannot alternate append by append: they run on each log in turn, half a second at a time.
        let logs = [(log, options.durableCommit), (other, otherOptions.durableCommit)]
        var outcomes = logs.map { _ in Outcome(events: 0, seconds: 0, latenciesMicros: []) }
        for slice in 0..<2 * max(1, Int(seconds / Self.pairedSliceSeconds)) {
            let index = slice % 2
            let outcome = try await appendLoop(
                logs[index].0, appenders: appenders, eventsPerAppend: 1, label: "paired-\(slice)",
                seconds: Self.pairedSliceSeconds, quiet: true)
            outcomes[index].events += outcome.events
            outcomes[index].seconds += outcome.seconds
            outcomes[index].latenciesMicros += outcome.latenciesMicros
        }
        for (outcome, (_, commit)) in zip(outcomes, logs) { report("paired-concurrent", outcome, backend: commit.rawValue) }
    }

    static let pairedSliceSeconds = 0.5

    struct Outcome {
        var events: Int
        var seconds: Double
        var latenciesMicros: [Double]
    }

    /// The append workloads on the PostgreSQL log of record (`pglog` lines), with its events per transaction.
    func runPostgres(_ url: String) async throws {
        guard let endpoint = PostgresEndpoint(url: url) else { throw ValidationError("--postgres must be a postgres:// URL") }
        guard (1...16).contains(pipelineDepth) else { throw ValidationError("--pipeline-depth must be between 1 and 16") }
        guard (1...8).contains(nodes) else { throw ValidationError("--nodes must be between 1 and 8") }
        guard interfereEveryMs >= 0 else { throw ValidationError("--interfere-every-ms must be 0 or more") }
        var options = PostgresLog.Options()
        options.connectionsMax = 4
        options.pipelineDepth = pipelineDepth
        options.gatherWindow = .microseconds(gatherMicros)
        guard chainsKeptEvery >= 1 else { throw ValidationError("--chains-kept-every must be 1 or more") }
        guard revisitAfter >= 0, revisitAfter == 0 || streamPerAppend else {
            throw ValidationError("--revisit-after takes 0 or more, and only with --stream-per-append")
        }
        guard sharedStreams >= 0 else { throw ValidationError("--shared-streams takes 0 or more") }
        guard !revisitOnAnotherNode || (revisitAfter > 0 && nodes > 1) else {
            throw ValidationError("--revisit-on-another-node needs --revisit-after and --nodes 2 or more")
        }
        options.chainsKeptEvery = UInt64(chainsKeptEvery)
        guard chainsKnownMax >= 2 else { throw ValidationError("--chains-known-max must be 2 or more") }
        options.chainsKnownMax = chainsKnownMax
        var logs: [PostgresLog] = []
        for _ in 0..<nodes { logs.append(try await PostgresLog.connect(endpoint, options: options)) }
        let selected = Set(workloads.split(separator: ",").map(String.init))
        print(
            "# emporium PostgreSQL log bench: payload \(Self.payload.count) bytes, \(seconds) s per append workload, \(nodes) node(s), \(endpoint.redacted)"
        )
        func statistics() -> (
            transactions: Int, oneStatement: Int, events: Int, failed: Int, rebased: Int, gathered: Int, drains: Int, relearned: Int,
            answered: Int, refusedOnWhatWasKnown: Int
        ) {
            var sum = (
                transactions: 0, oneStatement: 0, events: 0, failed: 0, rebased: 0, gathered: 0, drains: 0, relearned: 0, answered: 0,
                refusedOnWhatWasKnown: 0
            )
            for log in logs {
                let statistics = log.commitStatistics
                sum.transactions += statistics.transactions
                sum.oneStatement += statistics.oneStatementTransactions
                sum.events += statistics.events
                sum.failed += statistics.failedOneStatementWrites
                sum.rebased += statistics.rebasedWrites
                sum.gathered += statistics.placedWhileGathering
                sum.drains += statistics.drains
                sum.relearned += statistics.relearned
                sum.answered += statistics.chainsAnswered
                sum.refusedOnWhatWasKnown += statistics.refusedOnWhatWasKnown
            }
            return sum
        }
        for (name, appenders, events) in [
            ("single", 1, 1), ("concurrent", appenders, 1), ("batch", 1, Self.batchEvents),
        ] where selected.contains(name) {
            let before = statistics()
            let interferer = name == "concurrent" && interfereEveryMs > 0 ? try await interfering(endpoint, options: options) : nil
            let outcome = try await appendLoop(logs, appenders: appenders, eventsPerAppend: events, label: name)
            let interfered = await interferer?()
            let after = statistics()
            let transactions = after.transactions - before.transactions
            print(
                String(
                    format: "#   %@: %d transactions (%d in one statement, %d placed while gathered), %.1f events per transaction", name,
                    transactions, after.oneStatement - before.oneStatement, after.gathered - before.gathered,
                    Double(after.events - before.events) / Double(max(transactions, 1))))
            if nodes > 1 || interferer != nil || after.transactions - before.transactions > after.oneStatement - before.oneStatement {
                print(
                    "#   \(name): \(after.rebased - before.rebased) one-statement writes placed again by PostgreSQL (stale), \(after.failed - before.failed) refused, \(after.drains - before.drains) drains, \(after.relearned - before.relearned) relearned, \(after.answered - before.answered) answered the chains written since, \(after.refusedOnWhatWasKnown - before.refusedOnWhatWasKnown) appends refused on what the node knew"
                )
            }
            if let interfered {
                print(
                    "#   \(name): the other node appended \(interfered.appended) times: \(interfered.statistics.rebasedWrites) writes placed again by PostgreSQL, \(interfered.statistics.chainsAnswered) answered the chains written since"
                )
            }
            report(name, outcome, backend: "pglog")
        }
        for log in logs { await log.close() }
    }

    /// Another node appending one event every `interfereEveryMs`; the function returned stops it and answers how many it
    /// appended and what its commits were.
    func interfering(
        _ endpoint: PostgresEndpoint, options: PostgresLog.Options
    ) async throws -> @Sendable () async -> (appended: Int, statistics: PostgresLog.CommitStatistics) {
        let other = try await PostgresLog.connect(endpoint, options: options)
        let every = Duration.milliseconds(interfereEveryMs)
        let stream = try StreamName("bench-other-\(UUIDv7Generator.shared.next().uuidString.prefix(8))")
        let task = Task {
            var appended = 0
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: every)
                    let event = ProposedEvent(
                        eventId: UUIDv7Generator.shared.next(), type: "BenchEvent", payload: Self.payload,
                        metadata: EventMetadata(actor: "user:bench-other:customer", correlationId: UUIDv7Generator.shared.next()))
                    _ = try await other.append(to: stream, expected: .any, events: [event])
                    appended += 1
                } catch is CancellationError {
                    break  // stopped in its sleep
                } catch {
                    print("# the other node's append failed; it stops appending: \(error)")
                    break
                }
            }
            return appended
        }
        return {
            task.cancel()
            let appended = await task.value
            let statistics = other.commitStatistics
            await other.close()
            return (appended, statistics)
        }
    }

    func report(_ name: String, _ outcome: Outcome, backend: String? = nil) {
        let sorted = outcome.latenciesMicros.sorted()
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        print(
            String(
                format: "%@ %@ events_per_s=%.0f appends=%d p50_us=%.0f p99_us=%.0f",
                backend ?? label, name, Double(outcome.events) / outcome.seconds, sorted.count, percentile(0.5), percentile(0.99)))
    }

    /// `appenders` tasks, each appending `eventsPerAppend` events per call to its own stream with an exact expectation.
    func appendLoop(
        _ log: any LogBackend, appenders: Int, eventsPerAppend: Int, label: String, seconds: Double? = nil, quiet: Bool = false
    ) async throws -> Outcome {
        try await appendLoop([log], appenders: appenders, eventsPerAppend: eventsPerAppend, label: label, seconds: seconds, quiet: quiet)
    }

    /// The same, the appenders spread over `logs` (nodes of one log of record) in turn.
    func appendLoop(
        _ logs: [any LogBackend], appenders: Int, eventsPerAppend: Int, label: String, seconds: Double? = nil, quiet: Bool = false
    ) async throws -> Outcome {
        let log = logs[0]
        let deadline = ContinuousClock.now + .seconds(seconds ?? self.seconds)
        let started = ContinuousClock.now
        let statistics = (log as? EventLog)?.writerStatistics
        let commitsBefore = statistics?.commits ?? 0
        let buildBefore = statistics?.buildNanoseconds ?? 0
        let commitBefore = statistics?.commitNanoseconds ?? 0
        let correlation = UUIDv7Generator.shared.next()
        let payload = Self.payload
        let shared = SharedStreams(count: sharedStreams, label: label, correlation: correlation)
        let results = try await withThrowingTaskGroup(of: (Int, [Double]).self) { group in
            for appender in 0..<appenders {
                let log = logs[appender % logs.count]
                let revisiting = revisitOnAnotherNode ? logs[(appender + 1) % logs.count] : log
                group.addTask {
                    var stream = try StreamName("bench-\(label)-\(appender)-\(correlation.uuidString.prefix(8))")
                    let actor = "user:bench-\(appender):customer"
                    var version: UInt64 = 0
                    var latencies: [Double] = []
                    var events = 0
                    // The orders begun and not revisited yet: a ring of `revisitAfter`, the oldest at `oldest`.
                    var begun: [StreamName] = []
                    var oldest = 0
                    var revisits = false
                    while ContinuousClock.now < deadline {
                        let batch = (0..<eventsPerAppend).map { _ in
                            ProposedEvent(
                                eventId: UUIDv7Generator.shared.next(), type: "BenchEvent", payload: payload,
                                metadata: EventMetadata(actor: actor, correlationId: correlation))
                        }
                        revisits = revisitAfter > 0 && !revisits && begun.count == revisitAfter
                        if revisits {
                            stream = begun[oldest]
                            version = 1
                        } else if streamPerAppend {
                            stream = try StreamName("order-\(UUIDv7Generator.shared.next().uuidString.lowercased())")
                            version = 0
                        }
                        let begin = ContinuousClock.now
                        let own = StreamAppend(stream: stream, expected: version == 0 ? .noStream : .exact(version), events: batch)
                        let node = revisits ? revisiting : log
                        if let (index, sharedStream) = shared.next() {
                            try await shared.append(own, index: index, stream: sharedStream, payload: payload, on: node)
                            events += 1
                        } else {
                            _ = try await node.append([own])
                        }
                        latencies.append(Self.micros(ContinuousClock.now - begin))
                        if revisitAfter > 0, version == 0 {
                            // In the place of the order just revisited (begun `revisitAfter` new orders before).
                            if begun.count < revisitAfter {
                                begun.append(stream)
                            } else {
                                begun[oldest] = stream
                                oldest = (oldest + 1) % revisitAfter
                            }
                        }
                        version += UInt64(eventsPerAppend)
                        events += eventsPerAppend
                    }
                    return (events, latencies)
                }
            }
            return try await group.reduce(into: [(Int, [Double])]()) { $0.append($1) }
        }
        let elapsed = ContinuousClock.now - started
        let events = results.reduce(0) { $0 + $1.0 }
        if sharedStreams > 0, !quiet {
            print("#   \(label): \(shared.conflicts.load(ordering: .relaxed)) appends retried on a shared stream's conflict")
        }
        guard let statistics else {
            return Outcome(events: events, seconds: Self.micros(elapsed) / 1e6, latenciesMicros: results.flatMap(\.1))
        }
        let commits = statistics.commits - commitsBefore
        let buildMicros = Double(statistics.buildNanoseconds - buildBefore) / 1e3 / Double(max(commits, 1))
        let commitMicros = Double(statistics.commitNanoseconds - commitBefore) / 1e3 / Double(max(commits, 1))
        if quiet { return Outcome(events: events, seconds: Self.micros(elapsed) / 1e6, latenciesMicros: results.flatMap(\.1)) }
        print(String(format: "#   %@: per commit %.0f us building, %.0f us committing", label, buildMicros, commitMicros))
        // Not /proc/self/io's write_bytes: on this kernel an fdatasync counts the whole file as written.
        print("#   \(label): \(commits) commits, \(String(format: "%.1f", Double(events) / Double(max(commits, 1)))) events per commit")
        return Outcome(
            events: results.reduce(0) { $0 + $1.0 }, seconds: Self.micros(elapsed) / 1e6,
            latenciesMicros: results.flatMap(\.1))
    }

    /// Tops the log up to `scanEvents` with bulk appends, then decodes the first `scanEvents` records once.
    func scan(_ log: EventLog) async throws {
        let have = Int(try log.head().position)
        let missing = max(0, scanEvents - have)
        let payload = Self.payload
        let correlation = UUIDv7Generator.shared.next()
        let appends = (missing + Self.bulkEventsPerAppend - 1) / Self.bulkEventsPerAppend
        let loaders = 4
        try await withThrowingTaskGroup(of: Void.self) { group in
            for loader in 0..<loaders {
                group.addTask {
                    for index in stride(from: loader, to: appends, by: loaders) {
                        let count = min(Self.bulkEventsPerAppend, missing - index * Self.bulkEventsPerAppend)
                        let events = (0..<count).map { n in
                            ProposedEvent(
                                eventId: UUIDv7Generator.shared.next(), type: "BenchEvent", payload: payload,
                                metadata: EventMetadata(actor: "user:bulk-\(n % 97):customer", correlationId: correlation))
                        }
                        _ = try await log.append(to: try StreamName("bench-bulk-\(index)"), expected: .noStream, events: events)
                    }
                }
            }
            try await group.waitForAll()
        }
        let started = ContinuousClock.now
        var decoded = 0
        var payloadBytes = 0
        try log.scan(through: UInt64(scanEvents)) { event in
            decoded += 1
            payloadBytes &+= event.payload.count
            return true
        }
        let elapsed = Self.micros(ContinuousClock.now - started) / 1e6
        print(
            String(
                format: "%@ scan events_per_s=%.0f events=%d seconds=%.3f payload_bytes=%d", label,
                Double(decoded) / elapsed, decoded, elapsed, payloadBytes))
    }

    static func micros(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
    }
}

/// Shared streams every appender adds to (goods whose stock every order takes): the version last seen of each, by any
/// appender, as a node's replica knows it; an append refused on a version already passed is tried again on the one
/// PostgreSQL said, as the engine decides again after catching up.
final class SharedStreams: Sendable {
    private let names: [StreamName]
    private let versions: Mutex<[UInt64]>
    let conflicts = Atomic<Int>(0)

    init(count: Int, label: String, correlation: UUID) {
        names = (0..<count).compactMap { try? StreamName("goods-\(label)-\($0)-\(correlation.uuidString.prefix(8))") }
        versions = Mutex(Array(repeating: 0, count: count))
    }

    /// The shared stream an append adds to, one at random (none when there are none).
    func next() -> (Int, StreamName)? {
        guard !names.isEmpty else { return nil }
        let index = Int.random(in: 0..<names.count)
        return (index, names[index])
    }

    /// Appends `own` with an event added to the shared stream, until the shared stream's version holds.
    func append(_ own: StreamAppend, index: Int, stream: StreamName, payload: [UInt8], on log: any LogBackend) async throws {
        while true {
            let seen = versions.withLock { $0[index] }
            let event = ProposedEvent(
                eventId: UUIDv7Generator.shared.next(), type: "StockTaken", payload: payload,
                metadata: EventMetadata(actor: "user:bench:shop", correlationId: UUIDv7Generator.shared.next()))
            do {
                let appended = try await log.append([
                    own, StreamAppend(stream: stream, expected: seen == 0 ? .noStream : .exact(seen), events: [event]),
                ])
                let reached = appended.streams.last?.lastVersion ?? seen
                versions.withLock { $0[index] = max($0[index], reached) }
                return
            } catch EventLogError.wrongExpectedVersion(let refused, _, let current) where refused == stream {
                conflicts.add(1, ordering: .relaxed)
                versions.withLock { $0[index] = max($0[index], current ?? 0) }
            }
        }
    }
}

/// Where a commit's time goes once its transaction is built (BENCH_STAGES=1): LMDB's commit (data pages flushed, meta
/// page written or flushed), then the wait for the redo flush that ran beside it.
final class StageTimes: @unchecked Sendable {
    private var last: ContinuousClock.Instant?
    private var lmdb: [Double] = []
    private var redoWait: [Double] = []

    /// Called on the writer thread only.
    func reached(_ stage: CommitStage) {
        let now = ContinuousClock.now
        switch stage {
        case .redoBegun: break
        case .lmdbCommitted: if let last { lmdb.append(LogBench.micros(now - last)) }
        case .durable: if let last { redoWait.append(LogBench.micros(now - last)) }
        }
        last = now
    }

    func print() {
        guard !lmdb.isEmpty else { return }
        func median(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.sorted()[values.count / 2] }
        Swift.print(
            String(
                format: "# stages: %d commits, LMDB commit median %.0f µs, then the redo wait median %.0f µs", lmdb.count, median(lmdb),
                median(redoWait)))
    }
}
