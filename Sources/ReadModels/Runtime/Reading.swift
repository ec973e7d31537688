import Commerce
import EventStore
import Foundation
import LMDB
import Logging
import Synchronization

extension Projector {
    // MARK: Reading

    /// Runs `body` on the serving model of `type`, holding it still.
    public func read<P: Projection, R>(_ type: P.Type, _ body: (P) throws -> R) throws -> R {
        guard let participant = state.withLock({ live[type.name] }), let projection = participant.projection as? P else {
            throw ProjectionError("the projector does not run \(type.name)")
        }
        return try participant.lock.withLock { try body(projection) }
    }

    /// The serving model's checkpoint.
    public func checkpoint(_ name: String) -> UInt64 { watches[name]?.head ?? 0 }

    /// Events each serving model has folded since the projector was opened (its checkpoint's advance): the fold rate, for metrics.
    public var foldedEvents: [String: UInt64] {
        Dictionary(
            uniqueKeysWithValues: watches.map { name, watch in
                let opened = checkpointsAtOpen.withLock { $0[name] ?? 0 }
                return (name, watch.head > opened ? watch.head - opened : 0)
            })
    }

    /// Waits until `name` has folded every event up to `position`; false when `timeout` passes first.
    public func wait(_ name: String, reaches position: UInt64, timeout: Duration) async -> Bool {
        guard let watch = watches[name] else { return false }
        if watch.head >= position { return true }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    if await watch.wait(after: position - 1) >= position { return true }
                }
                return false
            }
            group.addTask {
                // Cancelled when the position was reached first: either way this task's answer is "not in time".
                do { try await Task.sleep(for: timeout) } catch { return false }
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    public func status() throws -> [ProjectionStatus] {
        let head = log.headPosition
        let (serving, building, stored, failure) = state.withLock { (live, shadows, metas, lastFailure) }
        return try serving.keys.sorted().compactMap { name in
            guard let participant = serving[name] else { return nil }
            let bytes = try environment.read { try $0.storedBytes(participant.database) }
            let (checkpoint, trainedAt, working) = participant.lock.withLock {
                (participant.checkpoint, participant.projection.backgroundWorkPosition, participant.projection.backgroundWorkPending)
            }
            var status = ProjectionStatus(
                name: name, schemaVersion: participant.type.schemaVersion, checkpoint: checkpoint,
                storedCheckpoint: stored[name]?.checkpoints[participant.slot] ?? 0, head: head,
                lag: head > checkpoint ? head - checkpoint : 0, rows: participant.lock.withLock { participant.rows },
                modelBytes: bytes,
                rebuild: building[name].map { .init(checkpoint: $0.checkpoint, target: head) }, lastError: failure)
            status.trainedAt = trainedAt
            status.training = working
            return status
        }
    }

    /// The last error the follower met (it retries), for /health.
    public var failure: String? { state.withLock { lastFailure } }
}
