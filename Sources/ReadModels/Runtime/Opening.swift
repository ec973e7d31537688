import Commerce
import EventCodec
import EventStore
import Foundation
import LMDB
import Logging
import Synchronization

extension Projector {
    /// Loads a projection's serving model, or starts it empty when its stored shape is not the current one.
    func open(_ type: any Projection.Type) throws {
        let databases = try databases(of: type.name)
        var stored =
            try environment.read { transaction -> Meta? in
                guard let bytes = try transaction.get(meta, key: Array(type.name.utf8)) else { return nil }
                return try BinaryPayload.decode(Meta.self, from: bytes)
            } ?? Meta(active: 0, checkpoints: [0, 0], schemaVersions: [type.schemaVersion, type.schemaVersion])
        if stored.schemaVersions[stored.active] != type.schemaVersion {
            // A model of another shape cannot be read by this code: fold it again from the start.
            stored.checkpoints[stored.active] = 0
            stored.schemaVersions[stored.active] = type.schemaVersion
            let reset = stored
            try environment.write { transaction in
                try transaction.clear(databases[reset.active])
                try transaction.put(meta, key: Array(type.name.utf8), value: try BinaryPayload.encode(reset))
            }
        }
        var participant = Participant(
            type: type, slot: stored.active, database: databases[stored.active], checkpoint: stored.checkpoints[stored.active])
        do {
            try load(participant)
        } catch  where options.rebuildDamaged {
            stored.checkpoints[stored.active] = 0
            let reset = stored
            try environment.write { transaction in
                try transaction.clear(databases[reset.active])
                try transaction.put(meta, key: Array(type.name.utf8), value: try BinaryPayload.encode(reset))
            }
            participant = Participant(type: type, slot: stored.active, database: databases[stored.active], checkpoint: 0)
            state.withLock { repaired.append("\(type.name): \(error)") }
            options.logger.warning(
                "a stored read model could not be read; it is folded again from the start",
                metadata: ["projection": "\(type.name)", "error": "\(error)"])
        }
        participant.projection.didLoad()
        state.withLock {
            live[type.name] = participant
            metas[type.name] = stored
        }
        watches[type.name]?.publish(participant.checkpoint)
        checkpointsAtOpen.withLock { $0[type.name] = participant.checkpoint }
    }

    /// Reads a participant's stored rows into its tables.
    func load(_ participant: Participant) throws {
        let type = participant.type
        try environment.read { transaction in
            try transaction.withCursor(participant.database) { cursor in
                var entry = try cursor.first()
                while let (key, value) = entry {
                    guard let prefix = key.first, let table = participant.tables[prefix] else {
                        throw ProjectionError("\(type.name) holds a row of unknown table \(key.first ?? 0); rebuild it")
                    }
                    do {
                        try table.load(key: UnsafeRawBufferPointer(rebasing: key.dropFirst()), value: value)
                    } catch {
                        throw ProjectionError("\(type.name) holds a row that does not decode (\(error)); rebuild it")
                    }
                    entry = try cursor.next()
                }
            }
        }
    }

    func databases(of name: String) throws -> [Database] {
        guard let databases = slots[name] else {
            throw ProjectionError("no projection named \(LogLimits.shown(name)); known: \(slots.keys.sorted().joined(separator: ", "))")
        }
        return databases
    }

}
