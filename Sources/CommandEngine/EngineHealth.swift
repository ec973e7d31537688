import EventStore

extension Engine {
    /// The log's newest position.
    public var headPosition: UInt64 { log.headPosition }

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
