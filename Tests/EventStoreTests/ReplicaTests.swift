import Foundation
import PostgresStore
import PostgresTestSupport
import Testing

@testable import EventStore

/// A node's LMDB log as a replica of the PostgreSQL log of record: appends are forwarded, records come back as copies
/// checked against the log of record's, and every replica ends up byte for byte the log of record.
@Suite struct ReplicaTests {
    private func node(following ofRecord: PostgresLog) throws -> (EventLog, Task<Void, any Error>) {
        let replica = try openLog()
        replica.forwardAppends(to: ofRecord)
        return (replica, Task { try await replica.replicate(from: ofRecord) })
    }

    @Test func appendsOnAnyNodeLandInTheLogOfRecordAndEveryReplicaEqualsIt() async throws {
        let database = try await TestPostgres.database()
        let ofRecord = try await TestPostgres.log(database) { $0.pollInterval = .milliseconds(50) }
        let nodes = try (0..<3).map { _ in try node(following: ofRecord) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, (replica, _)) in nodes.enumerated() {
                group.addTask {
                    for round in 0..<10 {
                        let result = try await replica.append(
                            to: stream("order-\(index)-\(round)"), expected: .noStream, events: [event(), event()])
                        // Read-your-writes: the node's own replica holds the events when the append returns.
                        #expect(try replica.event(at: result.positions[1])?.stream == stream("order-\(index)-\(round)"))
                    }
                }
            }
            try await group.waitForAll()
        }
        let head = try await ofRecord.head()
        #expect(head.position == 60)
        let truth = try await ofRecord.read(from: 1, limit: 1_000)
        for (replica, copier) in nodes {
            try await replica.waitForCopies(through: head.position)
            #expect(try replica.head() == head)
            #expect(try replica.read(from: 1, limit: 1_000) == truth)
            #expect(try replica.verify().isHealthy)
            copier.cancel()
        }
    }

    /// A stale node's conflict waits until its replica has caught up, so the caller's retry decides on fresh state.
    @Test func aConflictOnAStaleNodeReturnsOnceTheReplicaHasCaughtUp() async throws {
        let ofRecord = try await TestPostgres.log(try await TestPostgres.database())
        let replica = try openLog()
        replica.forwardAppends(to: ofRecord)
        _ = try await ofRecord.append(to: stream("goods-1"), expected: .noStream, events: [event(), event(), event()])
        let copier = Task { try await replica.replicate(from: ofRecord) }
        await expectLogError(.wrongExpectedVersion(stream: stream("goods-1"), expected: .noStream, current: 3)) {
            _ = try await replica.append(to: stream("goods-1"), expected: .noStream, events: [event()])
        }
        #expect(try replica.streamVersion(stream("goods-1")) == 3)
        copier.cancel()
    }

    /// A replica holding a record the log of record does not have stops copying at that position and keeps nothing of it.
    @Test func aReplicaThatDivergesStopsThere() async throws {
        let ofRecord = try await TestPostgres.log(try await TestPostgres.database())
        _ = try await ofRecord.append(to: stream("order-1"), expected: .noStream, events: [event(), event()])
        let replica = try openLog()
        _ = try await replica.append(to: stream("order-1"), expected: .noStream, events: [event()])  // a local write, before following
        do {
            try await replica.replicate(from: ofRecord)
            Issue.record("a diverging replica kept copying")
        } catch let error as EventLogError {
            guard case .replicaDiverged(let position, _) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(position == 1)
        }
        #expect(try replica.head().position == 1)
    }

    /// A node copies its own commit at once; the copier meets those records again and skips them (after checking them),
    /// and a copy that comes ahead of the replica is left for the copier when it may be ahead, refused when it may not.
    @Test func copiesAlreadyHeldAreCheckedAndSkippedAndCopiesAheadWait() async throws {
        let ofRecord = try await TestPostgres.log(try await TestPostgres.database())
        _ = try await ofRecord.append(to: stream("order-1"), expected: .noStream, events: [event(), event(), event()])
        let records = try await ofRecord.read(from: 1, limit: 10)
        let replica = try openLog()
        try await replica.copy(Array(records[2...]), mayBeAhead: true)
        #expect(try replica.head().position == 0, "a copy ahead of the replica waits for the copier")
        await expectLogErrorCode("replica_diverged") { try await replica.copy(Array(records[2...])) }
        try await replica.copy(Array(records[..<2]))
        try await replica.copy(records)
        #expect(try replica.read(from: 1, limit: 10) == records)
        var forged = records[0]
        forged.hash = records[1].hash
        await expectLogErrorCode("replica_diverged") { try await replica.copy([forged]) }
    }
}
