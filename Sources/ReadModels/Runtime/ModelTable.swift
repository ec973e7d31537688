import Commerce
import EventCodec
import LMDB

/// One table of a projection's model: rows kept in memory for queries and
/// written to LMDB (only the rows changed since the last flush) in the same
/// transaction as the projection's checkpoint. A row's stored key is the
/// table's prefix byte followed by the key's UTF-8; its value is the row in
/// the binary payload encoding, so equal models are equal byte for byte.
public final class Table<Value: Codable & Equatable & Sendable> {
    public let prefix: UInt8
    public private(set) var rows: [String: Value] = [:]
    private var dirty: Set<String> = []
    /// Nothing of this table is stored yet (a new model, or a rebuild before its first commit): every row
    /// is written at commit and no removal needs writing, so changes are not tracked (a hash per update spared).
    private var storedEmpty = true
    /// Rows with a hand-written encoder use it (same bytes, a fraction of the time), called
    /// generically: a cast per row to `any BinaryFastEncodable` copied the row into a box.
    private let fastEncode: ((Value) -> [UInt8])? = (Value.self as? any BinaryFastEncodable.Type).map { fastEncoder($0, as: Value.self) }

    public init(prefix: UInt8) { self.prefix = prefix }

    func encode(_ row: Value) throws -> [UInt8] {
        if let fastEncode { return fastEncode(row) }
        return try BinaryPayload.encode(row)
    }

    /// Keys of rows whose hand-written encoding differs from the `Codable` one (for tests).
    public func rowsEncodedDifferently() throws -> [String] {
        try rows.compactMap { key, row in try encode(row) == BinaryPayload.encode(row) ? nil : key }.sorted()
    }

    public subscript(key: String) -> Value? {
        get { rows[key] }
        set {
            if newValue == nil, rows[key] == nil { return }  // removing what is not there: nothing to write
            rows[key] = newValue
            if !storedEmpty { dirty.insert(key) }
        }
    }

    /// Changes the row at `key` (starting from `initial` when absent).
    public func update(_ key: String, default initial: @autoclosure () -> Value, _ change: (inout Value) -> Void) {
        change(&rows[key, default: initial()])  // in place: no copy of the row's arrays
        if !storedEmpty { dirty.insert(key) }
    }

    public var count: Int { rows.count }
}

/// `F` is `V`, opened from the conformance check once per table.
private func fastEncoder<F: BinaryFastEncodable, V>(_: F.Type, as _: V.Type) -> (V) -> [UInt8] {
    precondition(F.self == V.self, "a fast encoder for another type")
    return { row in BinaryPayload.encodeFast(unsafeBitCast(row, to: F.self)) }
}

/// What the projector needs of every table, whatever its row type.
public protocol StoredTable: AnyObject {
    var prefix: UInt8 { get }
    /// The rows changed since the last `committed()`, encoded and sorted by stored key (nil: delete).
    /// Safe to call on any thread for different tables; the projector encodes tables in parallel.
    func pendingWrites() throws -> [([UInt8], [UInt8]?)]
    /// The flushed transaction committed: forget what changed.
    func committed()
    /// Every row as stored (key with prefix, encoded value), for comparing models byte for byte.
    func storedRows() throws -> [[UInt8]: [UInt8]]
    func load(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws
    /// Keys of rows whose hand-written encoding differs from the `Codable` one (for tests).
    func rowsEncodedDifferently() throws -> [String]
}

extension Table: StoredTable {
    public func pendingWrites() throws -> [([UInt8], [UInt8]?)] {
        var writes: [([UInt8], [UInt8]?)] = []
        func storedKey(_ key: String) -> [UInt8] {
            var stored: [UInt8] = []
            stored.reserveCapacity(key.utf8.count + 1)
            stored.append(prefix)
            stored.append(contentsOf: key.utf8)
            return stored
        }
        if storedEmpty {
            writes.reserveCapacity(rows.count)
            for (key, row) in rows { writes.append((storedKey(key), try encode(row))) }  // in storage order, no lookups
        } else {
            writes.reserveCapacity(dirty.count)
            for key in dirty { writes.append((storedKey(key), try rows[key].map(encode))) }
        }
        // In LMDB's key order the write appends to the pages it just touched. Sorted by memcmp, not as
        // Strings: String order is Unicode-aware, and sorting took a third of the encoding.
        writes.sort { KeyOrder.precedes($0.0, $1.0) }
        return writes
    }

    public func committed() {
        dirty.removeAll(keepingCapacity: true)
        storedEmpty = rows.isEmpty
    }

    public func storedRows() throws -> [[UInt8]: [UInt8]] {
        var stored: [[UInt8]: [UInt8]] = [:]
        for (key, row) in rows { stored[[prefix] + Array(key.utf8)] = try encode(row) }
        return stored
    }

    public func load(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws {
        rows[String(decoding: key, as: UTF8.self)] = try BinaryPayload.decode(Value.self, from: value)
        storedEmpty = false
    }
}

/// A bounded list kept newest first (footprints, ledgers): appends drop the oldest beyond `limit`.
extension Array {
    mutating func prepend(_ element: Element, keepingAtMost limit: Int) {
        insert(element, at: 0)
        if count > limit { removeLast(count - limit) }
    }

    /// Puts `element` first, dropping the entry it replaces (the first matching `isSame`), if any.
    /// Same as removing every match and prepending, for lists that hold each entry once.
    mutating func moveToFront(_ element: Element, keepingAtMost limit: Int, isSame: (Element) -> Bool) {
        if let index = firstIndex(where: isSame) {
            // Shift the entries before it down by one instead of removing and inserting (two moves of the list).
            var index = index
            while index > 0 {
                swapAt(index, index - 1)
                index -= 1
            }
            self[0] = element
        } else {
            prepend(element, keepingAtMost: limit)
        }
    }
}
