import CLMDB

#if canImport(Glibc)
import Glibc
#endif

/// A failed LMDB call. Every LMDB return code maps to a named `Kind`; operating
/// system errors (`errno` values such as `ENOSPC` or `EACCES`) keep their number.
public struct LMDBError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case keyExists
        case notFound
        case pageNotFound
        case corrupted
        case panic
        case versionMismatch
        case invalid
        case mapFull
        case databasesFull
        case readersFull
        case threadLocalStorageFull
        case transactionFull
        case cursorStackFull
        case pageFull
        case mapResized
        case incompatible
        case badReaderSlot
        case badTransaction
        case badValueSize
        case badDatabaseHandle
        /// The file failed Emporium's own check before LMDB was allowed to map it.
        case damagedFile
        /// The environment was closed: nothing more is read or written through it.
        case closed
        case system(errno: Int32)
    }

    public let kind: Kind
    public let code: Int32
    /// The LMDB function (or wrapper step) that failed, e.g. `mdb_txn_commit`.
    public let operation: String
    public let detail: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
        self.kind = Self.kind(of: code)
        self.detail = String(cString: mdb_strerror(code))
    }

    public init(kind: Kind, operation: String, detail: String) {
        self.kind = kind
        self.code = 0
        self.operation = operation
        self.detail = detail
    }

    public var description: String { "\(operation): \(detail)" }

    static func kind(of code: Int32) -> Kind {
        switch code {
        case MDB_KEYEXIST: return .keyExists
        case MDB_NOTFOUND: return .notFound
        case MDB_PAGE_NOTFOUND: return .pageNotFound
        case MDB_CORRUPTED: return .corrupted
        case MDB_PANIC: return .panic
        case MDB_VERSION_MISMATCH: return .versionMismatch
        case MDB_INVALID: return .invalid
        case MDB_MAP_FULL: return .mapFull
        case MDB_DBS_FULL: return .databasesFull
        case MDB_READERS_FULL: return .readersFull
        case MDB_TLS_FULL: return .threadLocalStorageFull
        case MDB_TXN_FULL: return .transactionFull
        case MDB_CURSOR_FULL: return .cursorStackFull
        case MDB_PAGE_FULL: return .pageFull
        case MDB_MAP_RESIZED: return .mapResized
        case MDB_INCOMPATIBLE: return .incompatible
        case MDB_BAD_RSLOT: return .badReaderSlot
        case MDB_BAD_TXN: return .badTransaction
        case MDB_BAD_VALSIZE: return .badValueSize
        case MDB_BAD_DBI: return .badDatabaseHandle
        default: return .system(errno: code)
        }
    }

    /// True when the file itself is damaged, as opposed to a usage or resource error.
    public var isDamage: Bool {
        switch kind {
        case .corrupted, .pageNotFound, .invalid, .versionMismatch, .damagedFile, .panic: return true
        default: return false
        }
    }
}

/// Turns an LMDB return code into a thrown `LMDBError`; `MDB_SUCCESS` passes.
@inline(__always)
func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
    if code != MDB_SUCCESS { throw LMDBError(code: code, operation: operation()) }
}
