import EventStore

extension Engine {
    /// The log's newest position.
    public var headPosition: UInt64 { log.headPosition }

    /// On a node of a cluster, whether the log of record answers (nil on a shop with its log on this machine). While it
    /// does not, commands are refused with `log_unavailable` and reads are served from the replica.
    public var logOfRecordStatus: LogOfRecordStatus? {
        guard let reachability = log.logOfRecord?.reachability else { return nil }
        return LogOfRecordStatus(unansweredFor: reachability.unansweredFor(), failure: reachability.failure)
    }

    /// On a node of a cluster, what its appends have cost the log of record so far (none on a shop with its log on this
    /// machine, whose commits `/metrics` counts as they happen).
    public var logOfRecordCounters: [(name: String, total: UInt64)] { log.logOfRecord?.counters.map { ($0.name, $0.total) } ?? [] }

    /// What is wrong with the engine's storage now, one sentence each; empty when
    /// the log's last write succeeded and its newest record checks.
    public func storageProblems() -> [String] {
        var problems: [String] = []
        if let failure = log.writerStatistics.lastFailure { problems.append("the log's last write failed: \(failure)") }
        do { try log.checkHead() } catch { problems.append("the log's newest record does not check: \(error)") }
        return problems
    }
}

extension EngineError {
    /// Text a caller sent, cut short and escaped for an error message.
    public static func shown(_ text: some StringProtocol) -> String { LogLimits.shown(text) }
}

/// Whether a node's log of record answers, as `/health` reports it.
public struct LogOfRecordStatus: Sendable {
    /// How long it has not answered; nil while it answers.
    public var unansweredFor: Duration?
    /// Why its latest request failed; nil while it answers.
    public var failure: String?

    public var answers: Bool { unansweredFor == nil }
}
