import CoreMetrics
import Foundation
import Prometheus
import ReadModels
import Synchronization

/// The server's metrics, through swift-metrics into a Prometheus registry of
/// its own (so several servers in one test process keep apart), rendered at
/// `GET /metrics`. Handles are made once per label set and kept: the request
/// path looks one up under a lock, it never builds one.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let requests = Mutex<[RequestKey: (count: CoreMetrics.Counter, duration: CoreMetrics.Timer)]>([:])
    private let commands = Mutex<[CommandKey: (count: CoreMetrics.Counter, duration: CoreMetrics.Timer)]>([:])
    private let refusals = Mutex<[String: CoreMetrics.Counter]>([:])
    private let webhookAttempts = Mutex<[String: CoreMetrics.Counter]>([:])
    private let commitDuration: CoreMetrics.Timer
    private let eventsPerCommit: CoreMetrics.Recorder
    private let commits: CoreMetrics.Counter
    private let startedAt = Date()
    /// Counters of totals kept elsewhere (what the read models folded, what a node's appends cost the log of record), by
    /// label and dimensions: each scrape adds what the total grew by since the last.
    private let totals = Mutex<[TotalKey: (counter: CoreMetrics.Counter, seen: UInt64)]>([:])

    struct RequestKey: Hashable { var route: String, method: String, status: Int }
    struct CommandKey: Hashable { var type: String, outcome: String }
    /// A counter of a total: its label and, for a read model's, the projection it counts.
    struct TotalKey: Hashable { var label: String, projection: String? }

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        let fast: [Duration] = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        factory.defaultDurationHistogramBuckets = fast
        factory.valueHistogramBuckets["emporium_log_events_per_commit"] = [1, 2, 5, 10, 25, 50, 100, 250, 1_000, 10_000]
        self.factory = factory
        commitDuration = CoreMetrics.Timer(label: "emporium_log_commit_duration_seconds", dimensions: [], factory: factory)
        eventsPerCommit = CoreMetrics.Recorder(label: "emporium_log_events_per_commit", dimensions: [], aggregate: true, factory: factory)
        commits = CoreMetrics.Counter(label: "emporium_log_commits_total", dimensions: [], factory: factory)
    }

    /// One HTTP request: by route template (not the path, so ids do not make new series), method and status.
    func request(route: String, method: String, status: Int, duration: Duration) {
        let key = RequestKey(route: route, method: method, status: status)
        let handles = requests.withLock { cached in
            if let handles = cached[key] { return handles }
            let dimensions = [("route", route), ("method", method), ("status", String(status))]
            let handles = (
                CoreMetrics.Counter(label: "emporium_http_requests_total", dimensions: dimensions, factory: factory),
                CoreMetrics.Timer(label: "emporium_http_request_duration_seconds", dimensions: dimensions, factory: factory)
            )
            cached[key] = handles
            return handles
        }
        handles.count.increment()
        handles.duration.recordNanoseconds(duration.nanoseconds)
    }

    /// One command: by type and outcome (`ok` or the error code).
    func command(type: String, outcome: String, duration: Duration) {
        let key = CommandKey(type: type, outcome: outcome)
        let handles = commands.withLock { cached in
            if let handles = cached[key] { return handles }
            let handles = (
                CoreMetrics.Counter(
                    label: "emporium_commands_total", dimensions: [("type", type), ("outcome", outcome)], factory: factory),
                CoreMetrics.Timer(
                    label: "emporium_command_duration_seconds", dimensions: [("type", type), ("outcome", outcome)], factory: factory)
            )
            cached[key] = handles
            return handles
        }
        handles.count.increment()
        handles.duration.recordNanoseconds(duration.nanoseconds)
    }

    /// One webhook delivery attempt: `delivered`, `failed` or `dead_lettered`.
    public func webhookDelivery(result: String) {
        webhookAttempts.withLock { cached in
            let counter =
                cached[result]
                ?? CoreMetrics.Counter(label: "emporium_webhook_deliveries_total", dimensions: [("result", result)], factory: factory)
            cached[result] = counter
            counter.increment()
        }
    }

    /// A command refused by the rate limiter (`caller` is `user` or `anonymous`).
    func rateLimited(caller: String) {
        refusals.withLock { cached in
            let counter =
                cached[caller]
                ?? CoreMetrics.Counter(label: "emporium_rate_limited_total", dimensions: [("caller", caller)], factory: factory)
            cached[caller] = counter
            return counter
        }.increment()
    }

    /// One durable commit of the log's writer, of `events` events in `nanoseconds` (called on the writer's thread).
    public func logCommitted(events: Int, nanoseconds: UInt64) {
        commits.increment()
        eventsPerCommit.record(events)
        commitDuration.recordNanoseconds(Int64(nanoseconds))
    }

    /// The Prometheus text: the counters and histograms kept as things happen, gauges read now (log head, read models, the
    /// process), and counters of totals kept elsewhere (what each read model folded, what this node's appends cost the log
    /// of record).
    func render(
        headPosition: UInt64, projections: [ProjectionStatus], folded foldedEvents: [String: UInt64],
        logOfRecord: [(name: String, total: UInt64)]
    ) -> [UInt8] {
        CoreMetrics.Gauge(label: "emporium_log_head_position", dimensions: [], factory: factory).record(headPosition)
        for status in projections {
            let dimensions = [("projection", status.name)]
            CoreMetrics.Gauge(label: "emporium_projection_checkpoint", dimensions: dimensions, factory: factory).record(status.checkpoint)
            CoreMetrics.Gauge(label: "emporium_projection_lag_events", dimensions: dimensions, factory: factory).record(status.lag)
            CoreMetrics.Gauge(label: "emporium_projection_model_bytes", dimensions: dimensions, factory: factory).record(status.modelBytes)
        }
        totals.withLock { counters in
            func advance(_ key: TotalKey, to total: UInt64) {
                var entry =
                    counters[key] ?? (
                        CoreMetrics.Counter(
                            label: key.label, dimensions: key.projection.map { [("projection", $0)] } ?? [], factory: factory), 0
                    )
                if total > entry.seen { entry.counter.increment(by: Int64(total - entry.seen)) }
                entry.seen = total
                counters[key] = entry
            }
            for (name, total) in foldedEvents {
                advance(TotalKey(label: "emporium_projection_folded_events_total", projection: name), to: total)
            }
            for counter in logOfRecord {
                advance(TotalKey(label: "emporium_log_of_record_\(counter.name)_total", projection: nil), to: counter.total)
            }
        }
        let process = ProcessStatistics.read()
        CoreMetrics.Gauge(label: "process_cpu_seconds_total", dimensions: [], factory: factory).record(process.cpuSeconds)
        CoreMetrics.Gauge(label: "process_resident_memory_bytes", dimensions: [], factory: factory).record(process.residentBytes)
        CoreMetrics.Gauge(label: "process_virtual_memory_bytes", dimensions: [], factory: factory).record(process.virtualBytes)
        CoreMetrics.Gauge(label: "process_open_fds", dimensions: [], factory: factory).record(process.openFileDescriptors)
        CoreMetrics.Gauge(label: "process_start_time_seconds", dimensions: [], factory: factory).record(startedAt.timeIntervalSince1970)
        return registry.emitToBuffer()
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

/// What /proc says of this process (zeros where there is no /proc).
struct ProcessStatistics {
    var cpuSeconds = 0.0
    var residentBytes = 0
    var virtualBytes = 0
    var openFileDescriptors = 0

    static func read() -> ProcessStatistics {
        var statistics = ProcessStatistics()
        // Fields after the command name (which may hold spaces, so read past its closing parenthesis):
        // state is field 3; utime 14, stime 15; vsize 23; rss 24 (pages).
        if let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let close = text.lastIndex(of: ")") {
            let fields = text[text.index(after: close)...].split(separator: " ")
            let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
            if fields.count > 21, ticks > 0 {
                statistics.cpuSeconds = (Double(fields[11]) ?? 0) / ticks + (Double(fields[12]) ?? 0) / ticks
                statistics.virtualBytes = Int(fields[20]) ?? 0
                statistics.residentBytes = (Int(fields[21]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
            }
        }
        statistics.openFileDescriptors = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.count ?? 1) - 1
        return statistics
    }
}
