import Commerce
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

    public init(prefix: UInt8) { self.prefix = prefix }

    public subscript(key: String) -> Value? {
        get { rows[key] }
        set {
            rows[key] = newValue
            dirty.insert(key)
        }
    }

    /// Changes the row at `key` (starting from `initial` when absent).
    public func update(_ key: String, default initial: @autoclosure () -> Value, _ change: (inout Value) -> Void) {
        change(&rows[key, default: initial()])  // in place: no copy of the row's arrays
        dirty.insert(key)
    }

    public var count: Int { rows.count }
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
}

extension Table: StoredTable {
    public func pendingWrites() throws -> [([UInt8], [UInt8]?)] {
        var writes: [([UInt8], [UInt8]?)] = []
        writes.reserveCapacity(dirty.count)
        for key in dirty {
            writes.append(([prefix] + Array(key.utf8), try rows[key].map { try BinaryPayload.encode($0) }))
        }
        return writes.sorted { $0.0.lexicographicallyPrecedes($1.0) }  // in key order LMDB appends to the pages it just touched
    }

    public func committed() { dirty.removeAll(keepingCapacity: true) }

    public func storedRows() throws -> [[UInt8]: [UInt8]] {
        var stored: [[UInt8]: [UInt8]] = [:]
        for (key, row) in rows { stored[[prefix] + Array(key.utf8)] = try BinaryPayload.encode(row) }
        return stored
    }

    public func load(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws {
        rows[String(decoding: key, as: UTF8.self)] = try BinaryPayload.decode(Value.self, from: value)
    }
}

/// A bounded list kept newest first (footprints, ledgers): appends drop the oldest beyond `limit`.
extension Array {
    mutating func prepend(_ element: Element, keepingAtMost limit: Int) {
        insert(element, at: 0)
        if count > limit { removeLast(count - limit) }
    }
}
