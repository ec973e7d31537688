import CLMDB
import Foundation

/// An open transaction, valid only inside the `read`/`write` closure that
/// received it. Byte buffers it hands out point into the memory map and are
/// valid only until the closure returns: copy what you keep.
public struct Transaction {
    let handle: OpaquePointer
    public let isReadOnly: Bool

    /// The value stored under `key`, or nil when the key is absent (MDB_NOTFOUND).
    public func get(_ db: Database, key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        var keyVal = MDB_val(bytes: key)
        var value = MDB_val()
        let status = mdb_get(handle, db.handle, &keyVal, &value)
        if status == MDB_NOTFOUND { return nil }
        try check(status, "mdb_get(\(db.name))")
        return value.buffer
    }

    public func get(_ db: Database, key: [UInt8]) throws -> UnsafeRawBufferPointer? {
        try key.withUnsafeBytes { (buffer) throws in try get(db, key: buffer) }
    }

    /// Stores `value` under `key`. With `.noOverwrite` an existing key throws `keyExists`;
    /// with `.append` the key must sort after every key already stored (fast path for in-order keys).
    public func put(_ db: Database, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: PutFlags = []) throws {
        precondition(!isReadOnly, "put in a read-only transaction")
        var keyVal = MDB_val(bytes: key)
        var valueVal = MDB_val(bytes: value)
        try check(mdb_put(handle, db.handle, &keyVal, &valueVal, flags.rawValue), "mdb_put(\(db.name))")
    }

    /// Stores a value of `count` bytes under `key` that `fill` writes in place, straight into
    /// the page (MDB_RESERVE): the value is neither built elsewhere nor copied. `fill` must
    /// write all `count` bytes; the buffer is valid only while it runs.
    public func put<R>(
        _ db: Database, key: UnsafeRawBufferPointer, reserving count: Int, flags: PutFlags = [],
        fill: (UnsafeMutableRawBufferPointer) throws -> R
    ) throws -> R {
        precondition(!isReadOnly, "put in a read-only transaction")
        var keyVal = MDB_val(bytes: key)
        var valueVal = MDB_val(mv_size: count, mv_data: nil)
        try check(mdb_put(handle, db.handle, &keyVal, &valueVal, flags.rawValue | UInt32(MDB_RESERVE)), "mdb_put(\(db.name))")
        guard valueVal.mv_size == count, let start = valueVal.mv_data else {
            throw LMDBError(kind: .badValueSize, operation: "mdb_put(\(db.name))", detail: "reserved \(valueVal.mv_size) bytes of \(count)")
        }
        return try fill(UnsafeMutableRawBufferPointer(start: start, count: count))
    }

    public func put(_ db: Database, key: [UInt8], value: [UInt8], flags: PutFlags = []) throws {
        try key.withUnsafeBytes { (keyBuffer) throws in
            try value.withUnsafeBytes { (valueBuffer) throws in
                try put(db, key: keyBuffer, value: valueBuffer, flags: flags)
            }
        }
    }

    /// Removes `key`; returns false when it was not there.
    @discardableResult
    public func delete(_ db: Database, key: [UInt8]) throws -> Bool {
        precondition(!isReadOnly, "delete in a read-only transaction")
        return try key.withUnsafeBytes { (buffer) throws -> Bool in
            var keyVal = MDB_val(bytes: buffer)
            let status = mdb_del(handle, db.handle, &keyVal, nil)
            if status == MDB_NOTFOUND { return false }
            try check(status, "mdb_del(\(db.name))")
            return true
        }
    }

    /// Removes every entry of `db` (the database itself stays).
    public func clear(_ db: Database) throws {
        precondition(!isReadOnly, "clear in a read-only transaction")
        try check(mdb_drop(handle, db.handle, 0), "mdb_drop(\(db.name))")
    }

    /// Number of entries in `db`.
    public func count(_ db: Database) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(handle, db.handle, &stat), "mdb_stat(\(db.name))")
        return stat.ms_entries
    }

    /// Bytes of the pages `db` occupies (branch, leaf and overflow pages).
    public func storedBytes(_ db: Database) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(handle, db.handle, &stat), "mdb_stat(\(db.name))")
        return Int(stat.ms_psize) * (stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages)
    }

    /// Runs `body` with a cursor over `db`; the cursor is closed when it returns.
    public func withCursor<R>(_ db: Database, _ body: (Cursor) throws -> R) throws -> R {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(handle, db.handle, &cursor), "mdb_cursor_open(\(db.name))")
        guard let cursor else { throw LMDBError(kind: .badTransaction, operation: "mdb_cursor_open", detail: "no cursor") }
        defer { mdb_cursor_close(cursor) }
        return try body(Cursor(handle: cursor, database: db))
    }
}

/// Flags for `Transaction.put`.
public struct PutFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let noOverwrite = PutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
    public static let append = PutFlags(rawValue: UInt32(MDB_APPEND))
}

/// A position in a database, valid inside its `withCursor` closure.
public struct Cursor {
    let handle: OpaquePointer
    let database: Database

    public typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    public func first() throws -> Entry? { try move(MDB_FIRST) }
    public func last() throws -> Entry? { try move(MDB_LAST) }
    public func next() throws -> Entry? { try move(MDB_NEXT) }
    public func previous() throws -> Entry? { try move(MDB_PREV) }

    /// Positions at the first key ≥ `key`.
    public func seek(atLeast key: UnsafeRawBufferPointer) throws -> Entry? {
        var keyVal = MDB_val(bytes: key)
        var value = MDB_val()
        let status = mdb_cursor_get(handle, &keyVal, &value, MDB_SET_RANGE)
        if status == MDB_NOTFOUND { return nil }
        try check(status, "mdb_cursor_get(\(database.name), SET_RANGE)")
        return (keyVal.buffer, value.buffer)
    }

    public func seek(atLeast key: [UInt8]) throws -> Entry? {
        try key.withUnsafeBytes { (buffer) throws in try seek(atLeast: buffer) }
    }

    /// Positions at the last key ≤ `key`.
    public func seek(atMost key: [UInt8]) throws -> Entry? {
        guard let found = try seek(atLeast: key) else { return try last() }
        if found.key.elementsEqual(key) { return found }
        return try previous()
    }

    private func move(_ op: MDB_cursor_op) throws -> Entry? {
        var key = MDB_val()
        var value = MDB_val()
        let status = mdb_cursor_get(handle, &key, &value, op)
        if status == MDB_NOTFOUND { return nil }
        try check(status, "mdb_cursor_get(\(database.name))")
        return (key.buffer, value.buffer)
    }
}

/// A byte that lives forever, so an empty buffer still has an address for LMDB.
nonisolated(unsafe) private let emptyByte = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

extension MDB_val {
    init(bytes: UnsafeRawBufferPointer) {
        self.init(mv_size: bytes.count, mv_data: UnsafeMutableRawPointer(mutating: bytes.baseAddress) ?? emptyByte)
    }

    var buffer: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: mv_data, count: mv_size)
    }
}

/// LMDB's default key order: bytes compared as unsigned (memcmp), then the shorter key first.
public enum KeyOrder {
    public static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { left in
            b.withUnsafeBytes { right in
                let common = min(left.count, right.count)
                if common > 0, let l = left.baseAddress, let r = right.baseAddress {
                    let order = memcmp(l, r, common)
                    if order != 0 { return order < 0 }
                }
                return left.count < right.count
            }
        }
    }
}
