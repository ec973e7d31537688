#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks `data.mdb` before LMDB maps it. LMDB trusts its file: a truncated
/// file makes it touch pages past the end of the mapping and the process dies
/// with SIGBUS. Reading the two meta pages ourselves turns that into an error.
///
/// Meta page layout (LMDB 0.9, 64-bit): a 16-byte page header, then
/// `mm_magic` u32 @16, `mm_version` u32 @20, `mm_dbs[0].md_pad` (the page size) u32 @40,
/// `mm_last_pg` u64 @136, `mm_txnid` u64 @144; native byte order.
enum LMDBFileCheck {
    static let magic: UInt32 = 0xBEEF_C0DE
    static let dataVersion: UInt32 = 1
    static let headerBytes = 152
    static let pageSizeMin = 512
    static let pageSizeMax = 65536

    struct Meta {
        let pageSize: Int
        let lastPage: Int
        let transactionId: UInt64
    }

    static func verifyHeader(directory: String) throws(LMDBError) {
        let path = directory + "/data.mdb"
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            if errno == ENOENT { return }  // a new environment
            throw LMDBError(kind: .system(errno: errno), operation: "open(\(path))", detail: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw LMDBError(kind: .system(errno: errno), operation: "fstat(\(path))", detail: String(cString: strerror(errno)))
        }
        let fileBytes = Int(info.st_size)
        guard fileBytes > 0 else {
            throw damaged(path, "the data file is empty (a creation that never finished, or a truncated file)")
        }
        guard let first = readMeta(fd: fd, offset: 0) else {
            throw damaged(path, "the first meta page is not an LMDB meta page")
        }
        let second = readMeta(fd: fd, offset: first.pageSize)
        let newest = [first, second].compactMap { $0 }.max { $0.transactionId < $1.transactionId } ?? first
        let needed = (newest.lastPage + 1) * newest.pageSize
        guard fileBytes >= needed else {
            throw damaged(path, "the data file is truncated: \(fileBytes) bytes, but its meta page needs \(needed)")
        }
    }

    private static func readMeta(fd: Int32, offset: Int) -> Meta? {
        var page = [UInt8](repeating: 0, count: headerBytes)
        let got = page.withUnsafeMutableBytes { pread(fd, $0.baseAddress, headerBytes, off_t(offset)) }
        guard got == headerBytes else { return nil }
        return page.withUnsafeBytes { bytes -> Meta? in
            guard bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self) == magic,
                bytes.loadUnaligned(fromByteOffset: 20, as: UInt32.self) == dataVersion
            else { return nil }
            let pageSize = Int(bytes.loadUnaligned(fromByteOffset: 40, as: UInt32.self))
            guard pageSize >= pageSizeMin, pageSize <= pageSizeMax, pageSize & (pageSize - 1) == 0 else { return nil }
            let lastPage = bytes.loadUnaligned(fromByteOffset: 136, as: UInt64.self)
            guard lastPage < UInt64(Int.max / pageSize) else { return nil }
            return Meta(
                pageSize: pageSize, lastPage: Int(lastPage),
                transactionId: bytes.loadUnaligned(fromByteOffset: 144, as: UInt64.self))
        }
    }

    private static func damaged(_ path: String, _ why: String) -> LMDBError {
        LMDBError(kind: .damagedFile, operation: "open(\(path))", detail: why)
    }
}
