import Foundation
import Synchronization
import Testing

@testable import EventStore

/// The copier reads the log it follows only when that log may hold more than the replica: once per commit of another
/// node, never for a node's own commit (copied into its replica before the log of record's head moves).
@Suite struct CopierReadsTests {
    @Test func theCopierReadsOncePerCommitOfAnotherNodeAndNeverForItsOwn() async throws {
        let ofRecord = try openLog()
        let upstream = HeardLog(ofRecord)
        let replica = try openLog()
        let copier = Task { try await replica.replicate(from: upstream) }
        defer { copier.cancel() }
        try await upstream.waitUntilWaited(more: 0)  // read once (nothing yet), then waits

        // Another node's commits: each heard, read once (a short page: all there is), copied.
        for round in 0..<10 {
            let result = try await ofRecord.append(to: stream("order-\(round)"), expected: .noStream, events: [event(), event()])
            upstream.hear(result.positions[1])
            try await replica.waitForCopies(through: result.positions[1])
        }
        #expect(upstream.reads <= 11, "read \(upstream.reads) times for 10 commits")

        // This node's own commits: copied into the replica first, then heard: never read back.
        let readsBefore = upstream.reads
        for round in 0..<10 {
            let result = try await ofRecord.append(to: stream("cart-\(round)"), expected: .noStream, events: [event()])
            try await replica.copy(try ofRecord.read(from: result.positions[0], limit: 1), mayBeAhead: true)
            let waited = upstream.waits
            upstream.hear(result.positions[0])
            try await upstream.waitUntilWaited(more: waited)
        }
        #expect(upstream.reads == readsBefore, "read \(upstream.reads - readsBefore) times for 10 commits already copied")
        #expect(try replica.read(from: 1, limit: 100) == (try ofRecord.read(from: 1, limit: 100)))
    }
}

/// A log that tells of its head only when the test says it was heard (as a log of record does by notification), and
/// counts the reads from a position and the waits for its head.
private final class HeardLog: LogBackend {
    let log: EventLog
    private let state = Mutex<(heard: UInt64, reads: Int, waits: Int)>((0, 0, 0))

    init(_ log: EventLog) { self.log = log }

    var reads: Int { state.withLock { $0.reads } }
    var waits: Int { state.withLock { $0.waits } }
    func hear(_ position: UInt64) { state.withLock { $0.heard = max($0.heard, position) } }

    /// Returns once the copier has started more than `count` waits.
    func waitUntilWaited(more count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while waits <= count {
            guard ContinuousClock.now < deadline else { throw EventLogError.unavailable("the copier never waited") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    func waitForHead(after position: UInt64) async throws -> UInt64 {
        state.withLock { $0.waits += 1 }
        while !Task.isCancelled {
            let heard = state.withLock { $0.heard }
            if heard > position { return heard }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return position
    }

    func read(from position: UInt64, limit: Int) async throws -> [RecordedEvent] {
        state.withLock { $0.reads += 1 }
        return try log.read(from: position, limit: limit)
    }

    func append(_ appends: [StreamAppend]) async throws -> AppendResult { try await log.append(appends) }
    func head() async throws -> LogHead { try log.head() }
    func streamVersion(_ stream: StreamName) async throws -> UInt64? { try log.streamVersion(stream) }
    func readStream(_ stream: StreamName, from version: UInt64?, backward: Bool, limit: Int) async throws -> [RecordedEvent] {
        try log.readStream(stream, from: version, backward: backward, limit: limit)
    }
    func event(at position: UInt64) async throws -> RecordedEvent? { try log.event(at: position) }
    func event(id: UUID) async throws -> RecordedEvent? { try log.event(id: id) }
    func events(byActor actor: String, from position: UInt64, limit: Int) async throws -> [RecordedEvent] {
        try log.events(byActor: actor, from: position, limit: limit)
    }
    func events(ofType type: String, from position: UInt64, limit: Int) async throws -> [RecordedEvent] {
        try log.events(ofType: type, from: position, limit: limit)
    }
    func events(correlatedWith id: UUID, from position: UInt64, limit: Int) async throws -> [RecordedEvent] {
        try log.events(correlatedWith: id, from: position, limit: limit)
    }
    func position(atOrAfter time: Timestamp) async throws -> UInt64? { try log.position(atOrAfter: time) }
    func verify(progress: ((Int, UInt64) -> Void)?) async throws -> VerifyReport { try log.verify(progress: progress) }
    var reachability: LogReachability { log.reachability }
}
