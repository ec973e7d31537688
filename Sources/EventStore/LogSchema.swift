import Foundation
import LMDB

/// The LMDB databases of the log and their keys. Every key is fixed-width
/// big-endian so that LMDB's byte order is numeric order.
///
/// | database        | key                                     | value                      |
/// |-----------------|-----------------------------------------|----------------------------|
/// | `events`        | position u64                            | record (RecordCodec)       |
/// | `names`         | kind u8 + UTF-8 name                    | number u64                 |
/// | `chains`        | kind u8 + number u64                    | head: count u64 + last position u64 |
/// | `chains`        | (kind u8 | 0x80) + number u64 + block u64 | anchor: position u64     |
/// | `eventIds`      | event id (16 bytes)                     | position u64               |
/// | `byCorrelation` | correlation id (16) + position u64      | (empty)                    |
/// | `meta`          | ASCII name                              | counters, format           |
///
/// Streams, actors and types are *chains*: every record points back to the
/// previous event of its stream, its actor and its type. A chain's head holds
/// how many events it has (for a stream: its version) and where the last one
/// is; an anchor every `chainBlockEvents` events holds where each block of the
/// chain starts. A commit therefore rewrites one small head entry per stream,
/// actor and type it touched (and now and then an anchor), where a classic
/// per-event index would dirty a 4 KiB leaf page per distinct key. Reading a
/// chain walks at most one block of back-pointers from an anchor or the head.
///
/// Names get small numbers in the order they first appear, so the heads of
/// new streams land at the end of `chains` however random their names look.
/// Event and correlation ids are UUIDv7 (time-ordered), so their indexes
/// grow at the end too.
struct LogSchema: Sendable {
    static let formatVersion: UInt64 = 1
    /// Events per chain block: the longest back-pointer walk a chain read makes.
    static let chainBlockEvents: UInt64 = 64

    enum NameKind: UInt8, CaseIterable, Sendable {
        case stream = 0x73  // "s"
        case type = 0x74  // "t"
        case actor = 0x61  // "a"

        var counterKey: [UInt8] { Array("next.\(Character(UnicodeScalar(rawValue)))".utf8) }

        /// Which back-pointer of a record follows this chain.
        var linkIndex: Int {
            switch self {
            case .stream: return 0
            case .actor: return 1
            case .type: return 2
            }
        }
    }

    let events: Database
    let names: Database
    let chains: Database
    let eventIds: Database
    let byCorrelation: Database
    let meta: Database

    static let formatKey = Array("format".utf8)

    init(environment: Environment) throws {
        events = try environment.openDatabase("events")
        names = try environment.openDatabase("names")
        chains = try environment.openDatabase("chains")
        eventIds = try environment.openDatabase("eventIds")
        byCorrelation = try environment.openDatabase("byCorrelation")
        meta = try environment.openDatabase("meta")
    }

    /// Indexes with exactly one entry per event.
    var perEventIndexes: [Database] { [eventIds, byCorrelation] }
}

/// One chain: the events of a stream, of an actor, or of a type.
struct ChainKey: Hashable, Sendable, Comparable {
    let kind: LogSchema.NameKind
    let number: UInt64

    /// The order of `headKey` bytes, without building them.
    static func < (lhs: ChainKey, rhs: ChainKey) -> Bool {
        (lhs.kind.rawValue, lhs.number) < (rhs.kind.rawValue, rhs.number)
    }

    var headKey: [UInt8] {
        var key = [kind.rawValue]
        key.appendBigEndian(number)
        return key
    }

    /// Anchors sort after every head (their first byte has the high bit set),
    /// so the heads a commit rewrites stay packed in a few pages.
    func anchorKey(block: UInt64) -> [UInt8] {
        var key = [kind.rawValue | 0x80]
        key.appendBigEndian(number)
        key.appendBigEndian(block)
        return key
    }
}

/// How long a chain is and where its last event is.
struct ChainHead: Hashable, Sendable {
    var count: UInt64
    var last: UInt64

    var bytes: [UInt8] { Key.pair(count, last) }

    init(count: UInt64, last: UInt64) {
        self.count = count
        self.last = last
    }

    init(bytes: UnsafeRawBufferPointer) {
        count = Key.readU64(bytes)
        last = Key.readU64(bytes, at: 8)
    }

    /// The block an ordinal (1-based place in the chain) belongs to.
    static func block(ofOrdinal ordinal: UInt64) -> UInt64 { (ordinal - 1) / LogSchema.chainBlockEvents }
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
        var key = [UInt8]()
        key.reserveCapacity(24)
        key.appendUUID(id)
        key.appendBigEndian(position)
        return key
    }

    /// `body` sees the 8-byte key of `value` without an array being built.
    static func withU64<R>(_ value: UInt64, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: value.bigEndian, body)
    }

    static func withUUID<R>(_ id: UUID, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: id.uuid, body)
    }

    /// The bytes of `uuidPosition(id, position)`, on the stack.
    static func withUUIDPosition<R>(_ id: UUID, _ position: UInt64, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var key: (uuid_t, UInt64) = (id.uuid, position.bigEndian)
        return try withUnsafeBytes(of: &key) { bytes in
            precondition(bytes.count == 24, "a correlation key is 24 bytes")
            return try body(bytes)
        }
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
            return LogHead(
                position: position,
                hash: try RecordCodec.storedHash(last.value, position: position),
                recordedAt: try RecordCodec.recordedAt(last.value, position: position))
        }
    }

    func chainHead(_ chain: ChainKey) throws -> ChainHead? {
        try txn.get(schema.chains, key: chain.headKey).map { ChainHead(bytes: $0) }
    }

    func chain(_ kind: LogSchema.NameKind, named name: String) throws -> (ChainKey, ChainHead)? {
        guard let number = try number(of: kind, name) else { return nil }
        let key = ChainKey(kind: kind, number: number)
        guard let head = try chainHead(key) else { return nil }
        return (key, head)
    }

    func anchor(_ chain: ChainKey, block: UInt64) throws -> UInt64 {
        guard let bytes = try txn.get(schema.chains, key: chain.anchorKey(block: block)) else {
            throw EventLogError.corruptRecord(position: 0, reason: "chain \(chain.kind) \(chain.number) lacks the anchor of block \(block)")
        }
        return Key.readU64(bytes)
    }

    /// The back-pointer of `kind` stored in the record at `position`.
    func link(_ kind: LogSchema.NameKind, at position: UInt64) throws -> UInt64 {
        guard let bytes = try txn.get(schema.events, key: Key.u64(position)) else {
            throw EventLogError.corruptRecord(position: position, reason: "a chain points to a missing record")
        }
        return try RecordCodec.link(kind, bytes, position: position)
    }

    /// Position of the last event of the block holding `ordinal`, and that event's ordinal.
    private func blockEnd(_ chain: ChainKey, head: ChainHead, ordinal: UInt64) throws -> (ordinal: UInt64, position: UInt64) {
        let block = ChainHead.block(ofOrdinal: ordinal)
        let endOrdinal = min((block + 1) * LogSchema.chainBlockEvents, head.count)
        if endOrdinal == head.count { return (endOrdinal, head.last) }
        // The next block's first event points back to this block's last.
        return (endOrdinal, try link(chain.kind, at: try anchor(chain, block: block + 1)))
    }

    /// Positions of a chain's events with ordinals from `ordinal` up, at most `limit`.
    func chainForward(_ chain: ChainKey, head: ChainHead, from ordinal: UInt64, limit: Int) throws -> [UInt64] {
        var found: [UInt64] = []
        var next = max(ordinal, 1)
        while found.count < limit, next <= head.count {
            var (current, position) = try blockEnd(chain, head: head, ordinal: next)
            var block: [UInt64] = []
            block.reserveCapacity(Int(current - next + 1))
            while current >= next {
                block.append(position)
                if current == next { break }
                position = try link(chain.kind, at: position)
                current -= 1
            }
            found.append(contentsOf: block.reversed().prefix(limit - found.count))
            next = current + UInt64(block.count)
        }
        return found
    }

    /// Positions of a chain's events with ordinals from `ordinal` down, at most `limit`.
    func chainBackward(_ chain: ChainKey, head: ChainHead, from ordinal: UInt64, limit: Int) throws -> [UInt64] {
        guard head.count > 0, ordinal > 0 else { return [] }
        var (current, position) = try blockEnd(chain, head: head, ordinal: min(ordinal, head.count))
        var found: [UInt64] = []
        while position != 0, found.count < limit {
            if current <= ordinal { found.append(position) }
            position = try link(chain.kind, at: position)
            current -= 1
        }
        return found
    }

    /// Positions of a chain's events at or after log position `from`, at most `limit`.
    func chainPositions(_ chain: ChainKey, head: ChainHead, fromPosition from: UInt64, limit: Int) throws -> [UInt64] {
        guard head.count > 0, head.last >= from, limit > 0 else { return [] }
        // The last block whose first event is at or before `from` (binary search over anchors).
        var low: UInt64 = 0
        var high = ChainHead.block(ofOrdinal: head.count)
        while low < high {
            let middle = low + (high - low + 1) / 2
            if try anchor(chain, block: middle) <= from { low = middle } else { high = middle - 1 }
        }
        var found: [UInt64] = []
        var ordinal = low * LogSchema.chainBlockEvents + 1
        while found.count < limit, ordinal <= head.count {
            let page = try chainForward(chain, head: head, from: ordinal, limit: Int(LogSchema.chainBlockEvents))
            found.append(contentsOf: page.lazy.filter { $0 >= from }.prefix(limit - found.count))
            ordinal += UInt64(page.count)
        }
        return found
    }

    func event(at position: UInt64, verifyHash: Bool = false) throws -> RecordedEvent? {
        var names = RecentNames.none
        return try event(at: position, verifyHash: verifyHash, names: &names)
    }

    func event(at position: UInt64, verifyHash: Bool = false, names: inout RecentNames) throws -> RecordedEvent? {
        guard let bytes = try txn.get(schema.events, key: Key.u64(position)) else { return nil }
        return try RecordCodec.decode(bytes, position: position, verifyHash: verifyHash, names: &names)
    }

    func position(ofEventId id: UUID) throws -> UInt64? {
        try txn.get(schema.eventIds, key: Key.uuid(id)).map { Key.readU64($0) }
    }

    /// Events of a stream from `version`, forward or backward, at most `limit`.
    func stream(_ name: StreamName, from version: UInt64, backward: Bool, limit: Int) throws -> [RecordedEvent] {
        guard limit > 0, let (chain, head) = try chain(.stream, named: name.rawValue) else { return [] }
        let positions =
            backward
            ? try chainBackward(chain, head: head, from: version, limit: limit)
            : try chainForward(chain, head: head, from: version, limit: limit)
        return try requireEvents(at: positions)
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
                current.key.prefix(prefix.count).elementsEqual(prefix), found.count < limit
            {
                found.append(Key.readU64(current.key, at: prefix.count))
                entry = try cursor.next()
            }
            return found
        }
    }

    /// The events at `positions`, which an index or a chain named (their names decoded once).
    func requireEvents(at positions: [UInt64]) throws -> [RecordedEvent] {
        var names = RecentNames.forScan()
        return try positions.map { try requireEvent(at: $0, names: &names) }
    }

    func requireEvent(at position: UInt64, names: inout RecentNames) throws -> RecordedEvent {
        guard let event = try event(at: position, names: &names) else {
            throw EventLogError.corruptRecord(position: position, reason: "an index points to a missing record")
        }
        return event
    }

    /// Calls `body` for each event from `position` in order until it returns false or `limit` events.
    @discardableResult
    func scan(
        from position: UInt64, limit: Int, verifyHash: Bool = false, names: inout RecentNames,
        _ body: (RecordedEvent) throws -> Bool
    ) throws -> Int {
        try txn.withCursor(schema.events) { cursor in
            var visited = 0
            var entry = try cursor.seek(atLeast: Key.u64(max(position, 1)))
            while let current = entry, visited < limit {
                let event = try RecordCodec.decode(current.value, position: Key.readU64(current.key), verifyHash: verifyHash, names: &names)
                visited += 1
                guard try body(event) else { break }
                entry = try cursor.next()
            }
            return visited
        }
    }

    /// Like `scan`, but reads only the records whose stream name `select` accepts (it sees the name's UTF-8 bytes).
    func scan(
        from position: UInt64, limit: Int, selecting select: (UnsafeRawBufferPointer) -> Bool,
        _ body: (UnsafeRawBufferPointer, UInt64) throws -> Bool
    ) throws -> Int {
        try txn.withCursor(schema.events) { cursor in
            var visited = 0
            var entry = try cursor.seek(atLeast: Key.u64(max(position, 1)))
            while let current = entry, visited < limit {
                let at = Key.readU64(current.key)
                visited += 1
                if select(try RecordCodec.streamNameBytes(current.value, position: at)) {
                    guard try body(current.value, at) else { break }
                }
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
