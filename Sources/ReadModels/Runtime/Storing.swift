import Commerce
import EventCodec
import EventStore
import Foundation
import LMDB
import Logging
import Synchronization

extension Projector {
    /// Marks the group folded through `position` (queries see it at once) and stores it, with
    /// every model folded but not stored, unless this is a serving model's short batch and the
    /// caller is between stores (`storing: false`; see `Options.storeIntervalMax`).
    ///
    /// `onEveryCore`: encode the tables in parallel (long batches); a live batch of a few events is not worth the hand-off.
    /// A long batch is then written on the writer queue while the caller folds the next one (the write
    /// is single-threaded and used to leave a core idle): its rows are already bytes, so the models may
    /// change meanwhile. The next commit, and anything that reads or switches the store, waits for it
    /// first (`finishWrite`); if it failed, that wait throws and the caller reloads the stored models.
    func commit(_ group: [Participant], at position: UInt64, onEveryCore: Bool, storing: Bool) throws {
        for participant in group {
            participant.lock.withLock { participant.checkpoint = position }
            // Queries read the models in memory, which hold the batch already.
            if state.withLock({ live[participant.name] === participant }) { watches[participant.name]?.publish(position) }
        }
        let serving = state.withLock { group.allSatisfy { live[$0.name] === $0 } }
        for participant in group { keepUnstored(participant) }
        guard storing || onEveryCore || !serving else { return }
        try store(onEveryCore: onEveryCore)
    }

    /// Counts a model among those folded (or changed) further than they are stored: the next store writes it.
    func keepUnstored(_ participant: Participant) {
        if !unstored.contains(where: { $0 === participant }) { unstored.append(participant) }
    }

    /// Writes every model folded further than it is stored, at its checkpoint, in one transaction.
    func store(onEveryCore: Bool) throws {
        try waitForWrite()
        let group = unstored
        unstored.removeAll()
        guard !group.isEmpty else { return }
        // A model and its rebuild may share this group: one meta per name carries both slots' checkpoints.
        let updates = try state.withLock {
            try group.reduce(into: [String: Meta]()) { updates, participant in
                guard var stored = updates[participant.name] ?? metas[participant.name] else {
                    throw ProjectionError("no stored state for \(participant.name)")
                }
                stored.checkpoints[participant.slot] = participant.checkpoint
                updates[participant.name] = stored
            }
        }
        // Encoding runs first (on every core for long batches); the one write transaction then only puts sorted rows.
        let encodingStarted = DispatchTime.now().uptimeNanoseconds
        let tables = group.flatMap { participant in
            participant.tables.keys.sorted().compactMap { prefix in participant.tables[prefix].map { (participant.database, $0) } }
        }
        let writes: [[([UInt8], [UInt8]?)]]
        if onEveryCore {
            let encoded = EncodedWrites(count: tables.count)
            let sources = UncheckedTables(tables.map(\.1))  // each table is encoded by one thread only, while the fold is paused
            DispatchQueue.concurrentPerform(iterations: tables.count) { index in
                do { encoded.set(index, try sources.tables[index].pendingWrites()) } catch { encoded.fail(error) }
            }
            writes = try encoded.result()
        } else {
            writes = try tables.map { try $0.1.pendingWrites() }
        }
        phaseTimes.withLock { $0.encoding += DispatchTime.now().uptimeNanoseconds - encodingStarted }
        let batch = BatchWrite(databases: tables.map(\.0), writes: writes, metas: updates)
        for participant in group {
            for table in participant.tables.values { table.committed() }  // the changes are in `batch` now
        }
        if onEveryCore {
            writing = batch
            writer.async { [environment, meta] in batch.run(environment: environment, meta: meta) }
        } else {
            batch.run(environment: environment, meta: meta)
            try finish(batch)
        }
    }

    /// Waits for the long batch being written, then stores what is folded but not stored (in this
    /// thread: nothing is left being written); rethrows a failure.
    func finishWrite() throws {
        try store(onEveryCore: false)
    }

    /// Waits for the long batch being written, if any; rethrows its failure.
    func waitForWrite() throws {
        guard let batch = writing else { return }
        writing = nil
        batch.done.wait()
        try finish(batch)
    }

    func finish(_ batch: BatchWrite) throws {
        if let failure = batch.failure { throw failure }
        state.withLock { metas.merge(batch.metas) { _, new in new } }
    }

}

/// A table that can say how many rows it holds, whatever its row type.
protocol CountedTable { var rowCount: Int { get } }
extension Table: CountedTable { var rowCount: Int { count } }

/// One batch's encoded rows and checkpoints, written in one transaction.
final class BatchWrite: @unchecked Sendable {
    let databases: [Database]
    let writes: [[([UInt8], [UInt8]?)]]
    let metas: [String: Projector.Meta]
    let done = DispatchSemaphore(value: 0)
    /// Set before `done` is signalled, read after.
    private(set) var failure: (any Error)?

    init(databases: [Database], writes: [[([UInt8], [UInt8]?)]], metas: [String: Projector.Meta]) {
        self.databases = databases
        self.writes = writes
        self.metas = metas
    }

    func run(environment: Environment, meta: Database) {
        defer { done.signal() }
        do {
            try environment.write { transaction in
                for (database, rows) in zip(databases, writes) {
                    for (key, value) in rows {
                        if let value {
                            try transaction.put(database, key: key, value: value)
                        } else {
                            _ = try transaction.delete(database, key: key)
                        }
                    }
                }
                for (name, stored) in metas { try transaction.put(meta, key: Array(name.utf8), value: try BinaryPayload.encode(stored)) }
            }
        } catch {
            failure = error
        }
    }
}

/// Tables handed to the encoding threads (one thread per table).
struct UncheckedTables: @unchecked Sendable {
    let tables: [any StoredTable]
    init(_ tables: [any StoredTable]) { self.tables = tables }
}

/// Rows encoded by several threads, one slot per table.
final class EncodedWrites: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [[([UInt8], [UInt8]?)]]
    private var failure: (any Error)?

    init(count: Int) { slots = Array(repeating: [], count: count) }

    func set(_ index: Int, _ writes: [([UInt8], [UInt8]?)]) { lock.withLock { slots[index] = writes } }
    func fail(_ error: any Error) { lock.withLock { failure = failure ?? error } }

    func result() throws -> [[([UInt8], [UInt8]?)]] {
        try lock.withLock {
            if let failure { throw failure }
            return slots
        }
    }
}

/// The first error of a parallel fold's lanes.
final class LaneFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [(any Error)?]

    init(count: Int) { errors = Array(repeating: nil, count: count) }

    func record(_ error: any Error, at index: Int) { lock.withLock { errors[index] = error } }

    var first: (any Error)? { lock.withLock { errors.compactMap { $0 }.first } }
}
