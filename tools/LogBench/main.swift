import ArgumentParser
import EventStore
import Foundation
import PostgresStore

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
    @Option(help: "Workloads to run, comma-separated: single,concurrent,batch,scan.") var workloads: String = "single,concurrent,batch,scan"
    @Flag(help: "Print the benchmark payload and exit (the peer benchmark uses the same bytes).") var printPayload = false
    @Option(help: "Run the append workloads against the PostgreSQL log at this URL (an empty database) instead of LMDB.")
    var postgres: String?

    static let concurrentAppenders = 64
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
        let log = try EventLog(directory: dataDirectory, options: logOptions)
        defer { log.close() }
        let selected = Set(workloads.split(separator: ",").map(String.init))
        print("# emporium log bench: payload \(Self.payload.count) bytes, \(seconds) s per append workload, data in \(dataDirectory)")
        if selected.contains("single") {
            report("single", try await appendLoop(log, appenders: 1, eventsPerAppend: 1, label: "single"))
        }
        if selected.contains("concurrent") {
            report("concurrent", try await appendLoop(log, appenders: Self.concurrentAppenders, eventsPerAppend: 1, label: "concurrent"))
        }
        if selected.contains("batch") {
            report("batch", try await appendLoop(log, appenders: 1, eventsPerAppend: Self.batchEvents, label: "batch"))
        }
        if selected.contains("scan") { try await scan(log) }
    }

    struct Outcome {
        var events: Int
        var seconds: Double
        var latenciesMicros: [Double]
    }

    /// The append workloads on the PostgreSQL log of record (`pglog` lines), with its events per transaction.
    func runPostgres(_ url: String) async throws {
        guard let endpoint = PostgresEndpoint(url: url) else { throw ValidationError("--postgres must be a postgres:// URL") }
        var options = PostgresLog.Options()
        options.connectionsMax = 4
        let log = try await PostgresLog.connect(endpoint, options: options)
        let selected = Set(workloads.split(separator: ",").map(String.init))
        print(
            "# emporium PostgreSQL log bench: payload \(Self.payload.count) bytes, \(seconds) s per append workload, \(endpoint.redacted)")
        for (name, appenders, events) in [
            ("single", 1, 1), ("concurrent", Self.concurrentAppenders, 1), ("batch", 1, Self.batchEvents),
        ] where selected.contains(name) {
            let before = log.commitStatistics
            let outcome = try await appendLoop(log, appenders: appenders, eventsPerAppend: events, label: name)
            let after = log.commitStatistics
            let transactions = after.transactions - before.transactions
            print(
                String(
                    format: "#   %@: %d transactions, %.1f events per transaction", name, transactions,
                    Double(after.events - before.events) / Double(max(transactions, 1))))
            report(name, outcome, backend: "pglog")
        }
        await log.close()
    }

    func report(_ name: String, _ outcome: Outcome, backend: String = "lmdb") {
        let sorted = outcome.latenciesMicros.sorted()
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        print(
            String(
                format: "%@ %@ events_per_s=%.0f appends=%d p50_us=%.0f p99_us=%.0f",
                backend, name, Double(outcome.events) / outcome.seconds, sorted.count, percentile(0.5), percentile(0.99)))
    }

    /// `appenders` tasks, each appending `eventsPerAppend` events per call to its own stream with an exact expectation.
    func appendLoop(_ log: any LogBackend, appenders: Int, eventsPerAppend: Int, label: String) async throws -> Outcome {
        let deadline = ContinuousClock.now + .seconds(seconds)
        let started = ContinuousClock.now
        let statistics = (log as? EventLog)?.writerStatistics
        let commitsBefore = statistics?.commits ?? 0
        let buildBefore = statistics?.buildNanoseconds ?? 0
        let commitBefore = statistics?.commitNanoseconds ?? 0
        let bytesBefore = Self.bytesWrittenByProcess()
        let correlation = UUIDv7Generator.shared.next()
        let payload = Self.payload
        let results = try await withThrowingTaskGroup(of: (Int, [Double]).self) { group in
            for appender in 0..<appenders {
                group.addTask {
                    let stream = try StreamName("bench-\(label)-\(appender)-\(correlation.uuidString.prefix(8))")
                    let actor = "user:bench-\(appender):customer"
                    var version: UInt64 = 0
                    var latencies: [Double] = []
                    var events = 0
                    while ContinuousClock.now < deadline {
                        let batch = (0..<eventsPerAppend).map { _ in
                            ProposedEvent(
                                eventId: UUIDv7Generator.shared.next(), type: "BenchEvent", payload: payload,
                                metadata: EventMetadata(actor: actor, correlationId: correlation))
                        }
                        let begin = ContinuousClock.now
                        _ = try await log.append(to: stream, expected: version == 0 ? .noStream : .exact(version), events: batch)
                        latencies.append(Self.micros(ContinuousClock.now - begin))
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
        guard let statistics else {
            return Outcome(events: events, seconds: Self.micros(elapsed) / 1e6, latenciesMicros: results.flatMap(\.1))
        }
        let commits = statistics.commits - commitsBefore
        let buildMicros = Double(statistics.buildNanoseconds - buildBefore) / 1e3 / Double(max(commits, 1))
        let commitMicros = Double(statistics.commitNanoseconds - commitBefore) / 1e3 / Double(max(commits, 1))
        print(String(format: "#   %@: per commit %.0f us building, %.0f us committing", label, buildMicros, commitMicros))
        let written = Self.bytesWrittenByProcess() - bytesBefore
        print(
            "#   \(label): \(commits) commits, \(String(format: "%.1f", Double(results.reduce(0) { $0 + $1.0 }) / Double(max(commits, 1)))) events and \(written / max(commits, 1) / 1024) KiB written per commit"
        )
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
                format: "lmdb scan events_per_s=%.0f events=%d seconds=%.3f payload_bytes=%d",
                Double(decoded) / elapsed, decoded, elapsed, payloadBytes))
    }

    /// `write_bytes` of /proc/self/io: what this process sent to the block layer.
    static func bytesWrittenByProcess() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("write_bytes:") {
            return Int(line.split(separator: " ").last ?? "") ?? 0
        }
        return 0
    }

    static func micros(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
    }
}
