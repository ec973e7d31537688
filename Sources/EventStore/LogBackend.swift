import Foundation

/// The log's promises (SPEC §2), whatever stores it: atomic appends to one or
/// more streams with per-stream expectations; gapless positions assigned at
/// commit, in commit order; `recordedAt` strictly increasing; every record
/// chained to the one before by its hash; event ids stored once (a retry gets
/// the stored positions); reads by stream, actor, type, correlation id and
/// time; waiting for the head to move; a full check. The embedded LMDB log and
/// the PostgreSQL log both keep them, and one conformance suite holds both to
/// them.
public protocol LogBackend: Sendable {
    /// Appends to one or more streams atomically; returns once the events are durable.
    func append(_ appends: [StreamAppend]) async throws -> AppendResult
    /// The last committed record (`LogHead.empty` for an empty log).
    func head() async throws -> LogHead
    /// The last version of `stream`, or nil when it does not exist.
    func streamVersion(_ stream: StreamName) async throws -> UInt64?
    /// The events of `stream` from `version` on (or, backward, from `version` down), at most `limit`.
    func readStream(_ stream: StreamName, from version: UInt64?, backward: Bool, limit: Int) async throws -> [RecordedEvent]
    /// Events from `position` on, in position order, at most `limit`.
    func read(from position: UInt64, limit: Int) async throws -> [RecordedEvent]
    func event(at position: UInt64) async throws -> RecordedEvent?
    func event(id: UUID) async throws -> RecordedEvent?
    func events(byActor actor: String, from position: UInt64, limit: Int) async throws -> [RecordedEvent]
    func events(ofType type: String, from position: UInt64, limit: Int) async throws -> [RecordedEvent]
    func events(correlatedWith id: UUID, from position: UInt64, limit: Int) async throws -> [RecordedEvent]
    /// The first position recorded at or after `time`, or nil when every event is older.
    func position(atOrAfter time: Timestamp) async throws -> UInt64?
    /// Returns once the committed head is beyond `position` (or the log is closed, or the task cancelled).
    func waitForHead(after position: UInt64) async throws -> UInt64
    /// Checks every record, the chain and the indexes.
    func verify(progress: ((Int, UInt64) -> Void)?) async throws -> VerifyReport
    /// Whether the log answered its latest request, and when it last did (a log on another machine may not).
    var reachability: LogReachability { get }
    /// What this process's appends have cost the log so far, as running totals (`/metrics` renders each as a counter
    /// `emporium_log_of_record_<name>_total`); none by default.
    var counters: [LogCounter] { get }
}

/// A running total a log keeps of its own work (a name in snake case, and how many so far).
public struct LogCounter: Sendable, Equatable {
    public var name: String
    public var total: UInt64

    public init(_ name: String, _ total: Int) {
        self.name = name
        self.total = UInt64(max(total, 0))
    }
}

/// Whether a log answers: an embedded log always does; a log of record on another machine may not, and a node then
/// serves reads from its replica, as stale as the time since the log last answered, and refuses writes.
public struct LogReachability: Sendable, Equatable {
    /// When the log last answered a request (or was opened).
    public var lastAnswer: ContinuousClock.Instant
    /// Why the latest request since then failed; nil while the log answers.
    public var failure: String?

    public init(lastAnswer: ContinuousClock.Instant, failure: String?) {
        self.lastAnswer = lastAnswer
        self.failure = failure
    }

    public var isReachable: Bool { failure == nil }

    /// How long the log has not answered (nil while it answers): how stale a replica of it may be.
    public func unansweredFor(now: ContinuousClock.Instant = .now) -> Duration? {
        failure == nil ? nil : now - lastAnswer
    }
}

extension LogBackend {
    public var counters: [LogCounter] { [] }

    public func append(to stream: StreamName, expected: ExpectedVersion, events: [ProposedEvent]) async throws -> AppendResult {
        try await append([StreamAppend(stream: stream, expected: expected, events: events)])
    }

    /// Stored events from `position` on, then each new commit as it lands; ends when the task is cancelled.
    public func events(from position: UInt64) -> AsyncThrowingStream<RecordedEvent, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                var next = max(position, 1)
                do {
                    while !Task.isCancelled {
                        let page = try await read(from: next, limit: LogLimits.readPageEventsMax)
                        for event in page { continuation.yield(event) }
                        if let last = page.last {
                            next = last.position + 1
                        } else {
                            _ = try await waitForHead(after: next - 1)
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// The embedded log keeps every promise with the methods it has.
extension EventLog: LogBackend {
    /// The embedded log is on this machine: it always answers (a failed write is `writerStatistics`' concern).
    public var reachability: LogReachability { LogReachability(lastAnswer: .now, failure: nil) }
}
