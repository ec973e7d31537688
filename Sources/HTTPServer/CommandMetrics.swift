import EventLog
import Foundation
import Projections
import Synchronization

/// Command counts by type and outcome, and latency histograms by type, in the
/// Prometheus text format. Kept by hand: a dozen lines beat a dependency.
final class CommandMetrics: Sendable {
    static let bucketsSeconds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]

    private struct Latency {
        var buckets = [Int](repeating: 0, count: CommandMetrics.bucketsSeconds.count)
        var count = 0
        var sumSeconds = 0.0
    }

    private struct State {
        var outcomes: [String: Int] = [:]
        var latencies: [String: Latency] = [:]
    }

    private let state = Mutex(State())

    func record(type: String, outcome: String, since started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        state.withLock { state in
            state.outcomes["\(type)\u{0}\(outcome)", default: 0] += 1
            var latency = state.latencies[type] ?? Latency()
            for (index, bound) in Self.bucketsSeconds.enumerated() where seconds <= bound { latency.buckets[index] += 1 }
            latency.count += 1
            latency.sumSeconds += seconds
            state.latencies[type] = latency
        }
    }

    func render(log: EventLog, projections: [ProjectionStatus] = []) -> String {
        var lines = [
            "# HELP emporium_commands_total Commands handled, by type and outcome (ok or the error code).",
            "# TYPE emporium_commands_total counter",
        ]
        let snapshot = state.withLock { $0 }
        for (key, count) in snapshot.outcomes.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "\u{0}", maxSplits: 1).map(String.init)
            lines.append("emporium_commands_total{type=\"\(parts[0])\",outcome=\"\(parts.count > 1 ? parts[1] : "")\"} \(count)")
        }
        lines += ["# HELP emporium_command_duration_seconds Time to answer a command.", "# TYPE emporium_command_duration_seconds histogram"]
        for (type, latency) in snapshot.latencies.sorted(by: { $0.key < $1.key }) {
            for (index, bound) in Self.bucketsSeconds.enumerated() {
                lines.append("emporium_command_duration_seconds_bucket{type=\"\(type)\",le=\"\(bound)\"} \(latency.buckets[index])")
            }
            lines.append("emporium_command_duration_seconds_bucket{type=\"\(type)\",le=\"+Inf\"} \(latency.count)")
            lines.append("emporium_command_duration_seconds_sum{type=\"\(type)\"} \(latency.sumSeconds)")
            lines.append("emporium_command_duration_seconds_count{type=\"\(type)\"} \(latency.count)")
        }
        let writer = log.writerStatistics
        lines += [
            "# HELP emporium_log_head_position Position of the last committed event.", "# TYPE emporium_log_head_position gauge",
            "emporium_log_head_position \(log.headPosition)",
            "# HELP emporium_log_commits_total Durable LMDB commits (group commits).", "# TYPE emporium_log_commits_total counter",
            "emporium_log_commits_total \(writer.commits)",
            "# HELP emporium_log_events_total Events appended since start.", "# TYPE emporium_log_events_total counter",
            "emporium_log_events_total \(writer.events)",
        ]
        lines += ["# HELP emporium_projection_checkpoint Last position folded into each read model.", "# TYPE emporium_projection_checkpoint gauge"]
        lines += projections.map { "emporium_projection_checkpoint{projection=\"\($0.name)\"} \($0.checkpoint)" }
        lines += ["# HELP emporium_projection_lag_events Events committed but not yet folded, per read model.", "# TYPE emporium_projection_lag_events gauge"]
        lines += projections.map { "emporium_projection_lag_events{projection=\"\($0.name)\"} \($0.lag)" }
        lines += ["# HELP emporium_projection_model_bytes Stored size of each read model.", "# TYPE emporium_projection_model_bytes gauge"]
        lines += projections.map { "emporium_projection_model_bytes{projection=\"\($0.name)\"} \($0.modelBytes)" }
        return lines.joined(separator: "\n") + "\n"
    }
}
