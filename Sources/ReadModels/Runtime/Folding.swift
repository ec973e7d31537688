import Commerce
import EventCodec
import EventStore
import Foundation
import LMDB
import Logging
import Synchronization

extension Projector {
    // MARK: Folding

    /// Folds every projection (and any rebuild) up to the head as it is now, then does the background work due
    /// (the recommender's factor model) at once. `progress` gets (position, head) after each batch.
    public func catchUp(progress: ((UInt64, UInt64) -> Void)? = nil) throws {
        let head = try log.head().position
        while try step(through: head) {
            progress?(lowestCheckpoint, head)
        }
        finishBackgroundWork(names)
        try finishWrite()
    }

    /// The checkpoint of the model (or rebuild) furthest behind.
    var lowestCheckpoint: UInt64 {
        state.withLock { (Array(live.values) + Array(shadows.values)).map(\.checkpoint).min() ?? 0 }
    }

    /// One batch for every group of models at the same checkpoint (serving
    /// models first, so a rebuild never holds back fresh events). Returns
    /// false when everything was already at `head`.
    /// `storing: false` (the follower between stores) leaves a serving model's short batch in memory only.
    @discardableResult
    func step(through head: UInt64, storing: Bool = true) throws -> Bool {
        let participants = state.withLock { Array(live.values) + Array(shadows.values) }
        let groups = Dictionary(grouping: participants.filter { $0.checkpoint < head }, by: \.checkpoint)
        guard !groups.isEmpty else { return false }
        for (checkpoint, group) in groups.sorted(by: { $0.key > $1.key }) {
            let rebuilding = state.withLock { follower == nil && group.allSatisfy { shadows[$0.name] === $0 } }
            let through = min(head, checkpoint + UInt64(rebuilding ? options.rebuildBatchEventsMax : options.batchEventsMax))
            let started = DispatchTime.now().uptimeNanoseconds
            try fold(group, from: checkpoint + 1, through: through)
            let folded = DispatchTime.now().uptimeNanoseconds
            try commit(group, at: through, onEveryCore: through - checkpoint >= UInt64(options.longBatchEventsMin), storing: storing)
            phaseTimes.withLock {
                $0.folding += folded - started; $0.committing += DispatchTime.now().uptimeNanoseconds - folded
            }
        }
        try promoteCaughtUpRebuilds()
        try saveSearchLog()
        return true
    }

    func fold(_ group: [Participant], from: UInt64, through: UInt64) throws {
        for participant in group { participant.lock.lock() }
        defer { for participant in group { participant.lock.unlock() } }
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        guard group.count > 1, cores > 1, through - from + 1 >= UInt64(options.longBatchEventsMin) else {
            try fold(lane: group, from: from, through: through, decoder: decoder)
            return
        }
        // Each lane scans the range itself and decodes only what its projections read: nothing is shared but the log.
        // Heaviest first onto the lightest lane, by the cost timed in the last long fold (or the guess before one).
        var lanes = [[Participant]](repeating: [], count: min(cores, group.count))
        var weights = [Double](repeating: 0, count: lanes.count)
        let timed = group.allSatisfy { $0.foldCost > 0 }
        func cost(_ participant: Participant) -> Double { timed ? participant.foldCost : participant.type.foldCostGuess }
        for participant in group.sorted(by: { (cost($0), $0.name) > (cost($1), $1.name) }) {
            let lightest = weights.indices.min { weights[$0] < weights[$1] } ?? 0
            lanes[lightest].append(participant)
            weights[lightest] += cost(participant)
        }
        let failures = LaneFailures(count: lanes.count)
        let assigned = lanes
        DispatchQueue.concurrentPerform(iterations: assigned.count) { index in
            do {
                try fold(lane: assigned[index], from: from, through: through, decoder: EventCodec.decoder(opening: nil))
            } catch {
                failures.record(error, at: index)
            }
        }
        if let failure = failures.first { throw failure }
    }

    /// Long folds time each projection's `apply` (two clock reads per event and projection) to balance the next one.
    func fold(lane: [Participant], from: UInt64, through: UInt64, decoder: JSONDecoder) throws {
        let timing = through - from + 1 >= UInt64(options.longBatchEventsMin)
        var spent = [UInt64](repeating: 0, count: lane.count)
        // Which of the lane's participants read each type, looked up once per event.
        var readers: [String: [Int]] = [:]
        for (index, participant) in lane.enumerated() {
            for type in participant.type.eventTypes { readers[type, default: []].append(index) }
        }
        try log.scanViews(from: from, through: through, selecting: { _ in true }) { record in
            let type = record.type
            guard let indices = readers[type], let stream = StreamId(utf8: record.streamBytes) else { return true }
            let event: DomainEvent
            do {
                event = try EventCodec.decode(type: type, schemaVersion: Int(record.schemaVersion), payload: record.payload, using: decoder)
            } catch {
                throw ProjectionError("event \(record.position) (\(type) in \(record.stream)) does not decode: \(error)")
            }
            let projected = ProjectedEvent(position: record.position, stream: stream, event: event)
            for index in indices {
                let participant = lane[index]
                guard timing else {
                    participant.projection.apply(projected)
                    continue
                }
                let started = DispatchTime.now().uptimeNanoseconds
                participant.projection.apply(projected)
                spent[index] += DispatchTime.now().uptimeNanoseconds - started
            }
            return true
        }
        if timing {
            for (index, participant) in lane.enumerated() {
                participant.foldCost = max(1, Double(spent[index])) / Double(through - from + 1)
            }
        }
    }

}
