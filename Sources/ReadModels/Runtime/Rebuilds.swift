import Commerce
import EventCodec
import EventStore
import Foundation
import LMDB
import Logging
import Synchronization

extension Projector {
    /// Starts rebuilding `name` from position 0 into its other slot. The
    /// serving model answers queries until the rebuild catches up.
    public func startRebuild(_ name: String) throws {
        // On the worker queue: while serving, the follower folds there, and only one thread may own
        // the store's writes (an admin request arrives on an HTTP thread).
        try worker.sync {
            guard !closedForWork.load(ordering: .acquiring) else { throw ProjectorClosed() }
            try beginRebuild(name)
        }
        wakeups.publish(wakeups.head + 1)  // a follower waiting for new events has work now
    }

    func beginRebuild(_ name: String) throws {
        try finishWrite()
        guard let type = Projections.named(name) ?? state.withLock({ live[name]?.type }) else {
            throw ProjectionError("no projection named \(LogLimits.shown(name))")
        }
        let databases = try databases(of: name)
        try state.withLock {
            guard shadows[name] == nil else { throw ProjectionError("\(name) is already being rebuilt") }
            guard let serving = live[name] else { throw ProjectionError("the projector does not run \(name)") }
            let slot = 1 - serving.slot
            var stored =
                metas[name] ?? Meta(active: serving.slot, checkpoints: [0, 0], schemaVersions: [type.schemaVersion, type.schemaVersion])
            stored.checkpoints[slot] = 0
            stored.schemaVersions[slot] = type.schemaVersion
            let updated = stored
            try environment.write { transaction in
                try transaction.clear(databases[slot])
                try transaction.put(meta, key: Array(name.utf8), value: try BinaryPayload.encode(updated))
            }
            metas[name] = updated
            shadows[name] = Participant(type: type, slot: slot, database: databases[slot], checkpoint: 0)
        }
    }

    /// Rebuilds `name` up to the head and waits for it to take over (the CLI's form; `progress` gets (position, head)).
    public func rebuild(_ name: String, progress: ((UInt64, UInt64) -> Void)? = nil) throws {
        try rebuild([name], progress: progress)
    }

    /// Rebuilds several models together (one scan of the log, a lane per core) and waits for them to take over.
    public func rebuild(_ names: [String], progress: ((UInt64, UInt64) -> Void)? = nil) throws {
        for name in names { try startRebuild(name) }
        let head = try log.head().position
        while true {
            let (position, rebuilding) = state.withLock {
                (names.map { shadows[$0]?.checkpoint ?? live[$0]?.checkpoint ?? head }.min() ?? head, names.contains { shadows[$0] != nil })
            }
            progress?(position, head)
            guard rebuilding || position < head else {
                finishBackgroundWork(names)
                return try finishWrite()
            }
            try step(through: head)
        }
    }

    /// A rebuild at its serving model's checkpoint takes over: one write switches the slot.
    func promoteCaughtUpRebuilds() throws {
        let ready = state.withLock { shadows.values.filter { shadow in (live[shadow.name]?.checkpoint ?? 0) <= shadow.checkpoint } }
        if !ready.isEmpty { try finishWrite() }  // switch only to a slot whose rows are stored
        for shadow in ready {
            guard var stored = state.withLock({ metas[shadow.name] }) else { continue }
            stored.active = shadow.slot
            let updated = stored
            try environment.write { transaction in
                try transaction.put(meta, key: Array(shadow.name.utf8), value: try BinaryPayload.encode(updated))
            }
            // Its query structures were kept up to date while it folded (deriving them again from the rows
            // added the recommender's co-purchases a second time); only warm them.
            shadow.lock.withLock { shadow.projection.warm() }
            let retired = state.withLock { () -> Participant? in
                metas[shadow.name] = updated
                shadows[shadow.name] = nil
                return live.updateValue(shadow, forKey: shadow.name)
            }
            watches[shadow.name]?.publish(shadow.checkpoint)
            // Freeing the replaced model (every row, index and graph: about 1.5 s for the four models of the
            // bench shop) is left to another thread; nothing waits for it.
            if let retired { Self.retirement.async { withExtendedLifetime(retired) {} } }
        }
    }

    static let retirement = DispatchQueue(label: "emporium.projector.retired", qos: .utility)

    // MARK: Checking

    /// Folds `name` afresh up to its serving checkpoint, in memory, and
    /// compares every stored row byte for byte; returns the keys that differ.
    public func differencesFromRebuild(_ name: String) throws -> [String] {
        guard let serving = state.withLock({ live[name] }) else { throw ProjectionError("no projection named \(LogLimits.shown(name))") }
        let fresh = Participant(type: serving.type, slot: serving.slot, database: serving.database, checkpoint: 0)
        var next: UInt64 = 1
        let target = serving.checkpoint
        // Background work stored with the model (the recommender's factors) is done again where it was done.
        let worked = serving.lock.withLock { serving.projection.backgroundWorkPosition }.flatMap { $0 <= target ? $0 : nil }
        while next <= target {
            let through = min(target, next + UInt64(options.batchEventsMax) - 1, worked.flatMap { $0 >= next ? $0 : nil } ?? target)
            try fold([fresh], from: next, through: through)
            if through == worked { fresh.projection.finishBackgroundWork(at: through, force: true) }
            next = through + 1
        }
        var expected: [[UInt8]: [UInt8]] = [:]
        for table in fresh.tables.values { expected.merge(try table.storedRows()) { first, _ in first } }
        let stored = try storedRows(of: serving.database)
        let keys = Set(expected.keys).union(stored.keys)
        return keys.filter { expected[$0] != stored[$0] }.map { key in
            "\(key.first ?? 0):" + String(decoding: key.dropFirst(), as: UTF8.self)
        }.sorted()
    }

    /// Every stored row of a slot, by key.
    func storedRows(of database: Database) throws -> [[UInt8]: [UInt8]] {
        try finishWrite()
        return try environment.read { transaction in
            try transaction.withCursor(database) { cursor in
                var rows: [[UInt8]: [UInt8]] = [:]
                var entry = try cursor.first()
                while let (key, value) = entry {
                    rows[Array(key)] = Array(value)
                    entry = try cursor.next()
                }
                return rows
            }
        }
    }

    /// The serving slot's database (for tests that damage a stored model).
    func servingDatabase(_ name: String) -> Database? { state.withLock { live[name]?.database } }

    /// The serving slot's stored rows (for tests comparing two projectors byte for byte).
    package func storedModel(_ name: String) throws -> [[UInt8]: [UInt8]] {
        guard let serving = state.withLock({ live[name] }) else { throw ProjectionError("no projection named \(LogLimits.shown(name))") }
        return try storedRows(of: serving.database)
    }
}
