import Foundation
import LMDB

/// The LMDB databases of the log and their keys. Every key is fixed-width
/// big-endian so that LMDB's byte order is numeric order.
///
/// | database        | key                                  | value            |
/// |-----------------|--------------------------------------|------------------|
/// | `events`        | position u64                         | record (RecordCodec) |
/// | `names`         | kind u8 + UTF-8 name                 | number u64       |
/// | `streams`       | stream number u64 + version u64      | position u64     |
/// | `eventIds`      | event id (16 bytes)                  | position u64     |
/// | `byType`        | type number u64 + position u64       | (empty)          |
/// | `byActor`       | actor number u64 + position u64      | (empty)          |
/// | `byCorrelation` | correlation id (16) + position u64   | (empty)          |
/// | `meta`          | ASCII name                           | counters, format |
///
/// Names (streams, types, actors) get small numbers in the order they first
/// appear, so new streams land at the end of the `streams` index (in-order
/// inserts) however random their ids look.
struct LogSchema: Sendable {
    static let formatVersion: UInt64 = 1

    enum NameKind: UInt8, CaseIterable, Sendable {
        case stream = 0x73  // "s"
        case type = 0x74    // "t"
        case actor = 0x61   // "a"

        var counterKey: [UInt8] { Array("next.\(Character(UnicodeScalar(rawValue)))".utf8) }
    }

    let events: Database
    let names: Database
    let streams: Database
    let eventIds: Database
    let byType: Database
    let byActor: Database
    let byCorrelation: Database
    let meta: Database

    static let formatKey = Array("format".utf8)

    init(environment: Environment) throws {
        events = try environment.openDatabase("events")
        names = try environment.openDatabase("names")
        streams = try environment.openDatabase("streams")
        eventIds = try environment.openDatabase("eventIds")
        byType = try environment.openDatabase("byType")
        byActor = try environment.openDatabase("byActor")
        byCorrelation = try environment.openDatabase("byCorrelation")
        meta = try environment.openDatabase("meta")
    }

    var indexes: [Database] { [streams, eventIds, byType, byActor, byCorrelation] }
}

/// Builders for the fixed-width keys.
enum Key {
    static func u64(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    static func pair(_ first: UInt64, _ second: UInt64) -> [UInt8] {
        var key = [UInt8]()
        key.reserveCapacity(16)
        key.appendBigEndian(first)
        key.appendBigEndian(second)
        return key
    }

    static func uuid(_ id: UUID) -> [UInt8] {
        withUnsafeBytes(of: id.uuid) { Array($0) }
    }

    static func uuidPosition(_ id: UUID, _ position: UInt64) -> [UInt8] {
        var key = uuid(id)
        key.appendBigEndian(position)
        return key
    }

    static func name(_ kind: LogSchema.NameKind, _ name: String) -> [UInt8] {
        var key = [kind.rawValue]
        key.append(contentsOf: name.utf8)
        return key
    }

    static func readU64(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt64 {
        precondition(bytes.count >= offset + 8, "key or value shorter than its fixed width")
        return UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

/// Queries that run inside one read (or the write) transaction.
struct LogQueries {
    let schema: LogSchema
    let txn: Transaction

    func number(of kind: LogSchema.NameKind, _ name: String) throws -> UInt64? {
        try txn.get(schema.names, key: Key.name(kind, name)).map { Key.readU64($0) }
    }

    func head() throws -> LogHead {
        try txn.withCursor(schema.events) { cursor in
            guard let last = try cursor.last() else { return LogHead.empty }
            let position = Key.readU64(last.key)
            return LogHead(position: position,
                           hash: try RecordCodec.storedHash(last.value, position: position),
                           recordedAt: try RecordCodec.recordedAt(last.value, position: position))
        }
    }

    /// The last version of stream number `stream`, or nil when it has no events.
    func lastVersion(streamNumber stream: UInt64) throws -> UInt64? {
        try txn.withCursor(schema.streams) { cursor in
            guard let entry = try cursor.seek(atMost: Key.pair(stream, UInt64.max)),
                  Key.readU64(entry.key) == stream else { return nil }
            return Key.readU64(entry.key, at: 8)
        }
    }

    func event(at position: UInt64, verifyHash: Bool = false) throws -> RecordedEvent? {
        guard let bytes = try txn.get(schema.events, key: Key.u64(position)) else { return nil }
        return try RecordCodec.decode(bytes, position: position, verifyHash: verifyHash)
    }

    func position(ofEventId id: UUID) throws -> UInt64? {
        try txn.get(schema.eventIds, key: Key.uuid(id)).map { Key.readU64($0) }
    }

    /// Events of a stream from `version`, forward or backward, at most `limit`.
    func stream(_ name: StreamName, from version: UInt64, backward: Bool, limit: Int) throws -> [RecordedEvent] {
        guard limit > 0, let number = try number(of: .stream, name.rawValue) else { return [] }
        let positions: [UInt64] = try txn.withCursor(schema.streams) { cursor in
            var found: [UInt64] = []
            var entry = backward ? try cursor.seek(atMost: Key.pair(number, version)) : try cursor.seek(atLeast: Key.pair(number, version))
            while let current = entry, Key.readU64(current.key) == number, found.count < limit {
                found.append(Key.readU64(current.value))
                entry = backward ? try cursor.previous() : try cursor.next()
            }
            return found
        }
        return try positions.map { try requireEvent(at: $0) }
    }

    /// Positions from an index whose keys are `prefix + position`, from `position`, at most `limit`.
    func indexedPositions(_ db: Database, prefix: [UInt8], from position: UInt64, limit: Int) throws -> [UInt64] {
        guard limit > 0 else { return [] }
        var start = prefix
        start.appendBigEndian(position)
        return try txn.withCursor(db) { cursor in
            var found: [UInt64] = []
            var entry = try cursor.seek(atLeast: start)
            while let current = entry, current.key.count == prefix.count + 8,
                  current.key.prefix(prefix.count).elementsEqual(prefix), found.count < limit {
                found.append(Key.readU64(current.key, at: prefix.count))
                entry = try cursor.next()
            }
            return found
        }
    }

    func requireEvent(at position: UInt64) throws -> RecordedEvent {
        guard let event = try event(at: position) else {
            throw EventLogError.corruptRecord(position: position, reason: "an index points to a missing record")
        }
        return event
    }

    /// Calls `body` for each event from `position` in order until it returns false or `limit` events.
    @discardableResult
    func scan(from position: UInt64, limit: Int, verifyHash: Bool = false, _ body: (RecordedEvent) throws -> Bool) throws -> Int {
        try txn.withCursor(schema.events) { cursor in
            var visited = 0
            var entry = try cursor.seek(atLeast: Key.u64(max(position, 1)))
            while let current = entry, visited < limit {
                let event = try RecordCodec.decode(current.value, position: Key.readU64(current.key), verifyHash: verifyHash)
                visited += 1
                guard try body(event) else { break }
                entry = try cursor.next()
            }
            return visited
        }
    }

    /// The first position whose recordedAt is ≥ `time` (binary search; recordedAt strictly increases).
    func position(atOrAfter time: Timestamp, head: UInt64) throws -> UInt64? {
        var low: UInt64 = 1
        var high = head + 1
        while low < high {
            let middle = low + (high - low) / 2
            guard let bytes = try txn.get(schema.events, key: Key.u64(middle)) else {
                throw EventLogError.corruptRecord(position: middle, reason: "missing inside the log")
            }
            if try RecordCodec.recordedAt(bytes, position: middle) < time { low = middle + 1 } else { high = middle }
        }
        return low <= head ? low : nil
    }
}
