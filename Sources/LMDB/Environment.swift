import CLMDB
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How an LMDB environment is opened.
public struct EnvironmentOptions: Sendable {
    /// The map size the environment starts with. It grows on its own when full.
    public var initialMapSizeBytes: Int = 256 << 20
    /// The map never grows beyond this; past it a write fails with `mapFull`.
    public var maxMapSizeBytes: Int = 1 << 40
    public var maxDatabases: UInt32 = 32
    public var maxReaders: UInt32 = 512
    public var readOnly: Bool = false
    /// `false` trades durability for speed (MDB_NOSYNC); only for throwaway data.
    public var durable: Bool = true
    /// `false` opens with MDB_NOMETASYNC: a commit flushes its data pages but writes the meta page without waiting
    /// for it, so the file stays consistent and only the newest commit may be undone by a power loss (the next
    /// commit's flush, or `sync()`, makes it durable). The event log pairs it with its redo file.
    public var metaSync: Bool = true
    /// MDB_WRITEMAP: writes go straight into the memory map instead of through malloc'd pages and
    /// `pwrite`. Faster for large non-durable transactions; the data file is then as big as the map
    /// (sparse: only written pages take disk).
    public var writeMap: Bool = false

    public init() {}
}

/// An open LMDB environment (one directory holding `data.mdb` and `lock.mdb`).
///
/// Transactions exist only inside `read` and `write` closures; a closure must
/// not `await` or let bytes it was handed escape. `write` may run its closure
/// more than once (after growing a full map), so the closure must only touch
/// state it rebuilds each time.
public final class Environment: @unchecked Sendable {
    let handle: OpaquePointer
    public let path: String
    public let options: EnvironmentOptions
    private let resizeLock = ReadWriteLock()
    private let closed = Atomic<Bool>(false)
    private let mapSizeBytes: Mutex<Int>

    /// Limits that bound the retry loops below.
    static let mapGrowthAttemptsMax = 48
    static let resizedRetriesMax = 8

    public init(directory: String, options: EnvironmentOptions = EnvironmentOptions()) throws(LMDBError) {
        try LMDBFileCheck.verifyHeader(directory: directory)
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(kind: .invalid, operation: "mdb_env_create", detail: "no environment") }
        var flags = UInt32(MDB_NOTLS)
        if options.readOnly { flags |= UInt32(MDB_RDONLY) }
        if !options.durable { flags |= UInt32(MDB_NOSYNC) }
        if options.durable, !options.metaSync { flags |= UInt32(MDB_NOMETASYNC) }
        if options.writeMap, !options.readOnly { flags |= UInt32(MDB_WRITEMAP) }
        do {
            try check(mdb_env_set_maxdbs(env, options.maxDatabases), "mdb_env_set_maxdbs")
            try check(mdb_env_set_maxreaders(env, options.maxReaders), "mdb_env_set_maxreaders")
            try check(mdb_env_set_mapsize(env, options.initialMapSizeBytes), "mdb_env_set_mapsize")
            try check(mdb_env_open(env, directory, flags, 0o640), "mdb_env_open(\(directory))")
        } catch {
            mdb_env_close(env)
            throw error
        }
        self.handle = env
        self.path = directory
        self.options = options
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        self.mapSizeBytes = Mutex(max(info.me_mapsize, options.initialMapSizeBytes))
    }

    deinit { close() }

    /// Closes the environment once every transaction still open has ended. Afterwards every
    /// read, write or other use throws `LMDBError.Kind.closed` instead of touching freed memory
    /// (a late task of a component being shut down may still try).
    public func close() {
        resizeLock.withExclusive {
            if closed.exchange(true, ordering: .acquiringAndReleasing) { return }
            mdb_env_close(handle)
        }
    }

    /// Call with `resizeLock` held (shared or exclusive): `close` takes it exclusively.
    private func requireOpen(_ operation: String) throws(LMDBError) {
        if closed.load(ordering: .acquiring) {
            throw LMDBError(kind: .closed, operation: operation, detail: "the environment is closed")
        }
    }

    public var currentMapSizeBytes: Int { mapSizeBytes.withLock { $0 } }

    /// Opens (and, unless read-only, creates) a named database.
    public func openDatabase(_ name: String, flags: DatabaseFlags = []) throws(LMDBError) -> Database {
        var createFlags = flags.rawValue
        if !options.readOnly { createFlags |= UInt32(MDB_CREATE) }
        let beginFlags = options.readOnly ? UInt32(MDB_RDONLY) : 0
        return try resizeLock.withShared { () throws(LMDBError) -> Database in
            try requireOpen("openDatabase(\(name))")
            var txn: OpaquePointer?
            try check(mdb_txn_begin(handle, nil, beginFlags, &txn), "mdb_txn_begin")
            var dbi = MDB_dbi()
            let status = mdb_dbi_open(txn, name, createFlags, &dbi)
            guard status == MDB_SUCCESS else {
                mdb_txn_abort(txn)
                throw LMDBError(code: status, operation: "mdb_dbi_open(\(name))")
            }
            try check(mdb_txn_commit(txn), "mdb_txn_commit")
            return Database(handle: dbi, name: name)
        }
    }

    /// Runs `body` in a read-only snapshot. Never blocks the writer.
    public func read<R>(_ body: (Transaction) throws -> R) throws -> R {
        for _ in 0..<Self.resizedRetriesMax {
            let outcome: R? = try resizeLock.withShared { () throws -> R? in
                try requireOpen("mdb_txn_begin(read)")
                var txn: OpaquePointer?
                let status = mdb_txn_begin(handle, nil, UInt32(MDB_RDONLY), &txn)
                if status == MDB_MAP_RESIZED { return nil }
                try check(status, "mdb_txn_begin(read)")
                guard let txn else { throw LMDBError(kind: .badTransaction, operation: "mdb_txn_begin", detail: "no txn") }
                defer { mdb_txn_abort(txn) }
                return try body(Transaction(handle: txn, isReadOnly: true))
            }
            if let outcome { return outcome }
            try adoptMapSizeOfOtherProcess()
        }
        throw LMDBError(code: MDB_MAP_RESIZED, operation: "mdb_txn_begin(read)")
    }

    /// Runs `body` in the write transaction and commits it durably. When the
    /// map is full the transaction is aborted, the map grows, and `body` runs again.
    public func write<R>(_ body: (Transaction) throws -> R) throws -> R {
        precondition(!options.readOnly, "write transaction on a read-only environment")
        for _ in 0..<Self.mapGrowthAttemptsMax {
            do {
                return try resizeLock.withShared { () throws -> R in
                    try requireOpen("mdb_txn_begin(write)")
                    var txn: OpaquePointer?
                    try check(mdb_txn_begin(handle, nil, 0, &txn), "mdb_txn_begin(write)")
                    guard let txn else { throw LMDBError(kind: .badTransaction, operation: "mdb_txn_begin", detail: "no txn") }
                    let result: R
                    do {
                        result = try body(Transaction(handle: txn, isReadOnly: false))
                    } catch {
                        mdb_txn_abort(txn)
                        throw error
                    }
                    // A failed commit frees the transaction itself: it is not aborted again.
                    try check(mdb_txn_commit(txn), "mdb_txn_commit")
                    return result
                }
            } catch let error as LMDBError where error.kind == .mapFull || error.kind == .mapResized {
                if error.kind == .mapFull { try growMap() } else { try adoptMapSizeOfOtherProcess() }
            }
        }
        throw LMDBError(code: MDB_MAP_FULL, operation: "mdb_txn_commit")
    }

    /// Doubles the map (bounded by `maxMapSizeBytes`). Waits until no transaction is open.
    public func growMap() throws(LMDBError) {
        try resizeLock.withExclusive { () throws(LMDBError) in
            try requireOpen("grow map")
            let current = mapSizeBytes.withLock { $0 }
            guard current < options.maxMapSizeBytes else {
                throw LMDBError(code: MDB_MAP_FULL, operation: "grow map beyond \(options.maxMapSizeBytes) bytes")
            }
            let next = min(current * 2, options.maxMapSizeBytes)
            try check(mdb_env_set_mapsize(handle, next), "mdb_env_set_mapsize(\(next))")
            mapSizeBytes.withLock { $0 = next }
        }
    }

    private func adoptMapSizeOfOtherProcess() throws(LMDBError) {
        try resizeLock.withExclusive { () throws(LMDBError) in
            try requireOpen("mdb_env_set_mapsize(0)")
            try check(mdb_env_set_mapsize(handle, 0), "mdb_env_set_mapsize(0)")
            var info = MDB_envinfo()
            mdb_env_info(handle, &info)
            mapSizeBytes.withLock { $0 = info.me_mapsize }
        }
    }

    /// Flushes buffers to disk, the meta page included (needed only when opened with `durable: false` or
    /// `metaSync: false`).
    public func sync() throws(LMDBError) {
        try resizeLock.withShared { () throws(LMDBError) in
            try requireOpen("mdb_env_sync")
            try check(mdb_env_sync(handle, 1), "mdb_env_sync")
        }
    }

    /// Writes a consistent copy of the environment into an existing, empty directory.
    public func copy(toDirectory directory: String, compact: Bool = false) throws(LMDBError) {
        try resizeLock.withShared { () throws(LMDBError) in
            try requireOpen("mdb_env_copy2(\(directory))")
            try check(mdb_env_copy2(handle, directory, compact ? UInt32(MDB_CP_COMPACT) : 0), "mdb_env_copy2(\(directory))")
        }
    }

    /// Bytes used by the data file (last page in use × page size); 0 once closed.
    public func usedBytes() -> Int {
        resizeLock.withShared {
            guard !closed.load(ordering: .acquiring) else { return 0 }
            var info = MDB_envinfo()
            var stat = MDB_stat()
            mdb_env_info(handle, &info)
            mdb_env_stat(handle, &stat)
            return (info.me_last_pgno + 1) * Int(stat.ms_psize)
        }
    }
}

/// Flags of a named database.
public struct DatabaseFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let duplicateSort = DatabaseFlags(rawValue: UInt32(MDB_DUPSORT))
}

/// A handle to a named database inside an environment.
public struct Database: Sendable {
    let handle: MDB_dbi
    public let name: String
}
