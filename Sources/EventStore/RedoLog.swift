import Foundation
import LMDB

#if canImport(Glibc)
import Glibc
#endif

/// The records of the newest commits, so that a durable commit waits for one flush instead of two in series.
///
/// LMDB is opened with MDB_NOMETASYNC: a commit flushes its data pages, then writes its meta page without waiting
/// for it. The file stays consistent, but a power loss may undo the newest commit (never an older one: each
/// commit's data flush also makes the meta page before it durable). So each commit's records — the very bytes the
/// log stores — are written here **while** LMDB flushes, and callers are answered once both are durable.
///
/// Two slot files take turns: commit N writes one while the other still holds commit N−1, whose meta page becomes
/// durable only with commit N's flush. A failed commit's entry is invalidated before its callers hear of the
/// failure, and its slot is written again by the next commit. On a writable open, records past LMDB's head are
/// verified and re-applied through the writer (`Writer.recover`); a torn entry is ignored.
///
/// A slot holds one entry at offset 0 (integers big-endian):
/// ```
/// offset size  field
///      0    8  magic "EMPREDO1"
///      8    8  first position
///     16    4  records
///     20    8  body bytes
///     28   32  the last record's hash
///     60    …  body: per record, u32 length + the stored record
/// ```
/// No checksum of its own: each record carries the SHA-256 of its bytes and the hash of the record before it, so an
/// entry is whole when every record decodes at its position with its own hash, each follows the one before, and the
/// last one's hash is the header's. A torn entry (a crash mid-write) fails that and is ignored; the writer hashes
/// nothing twice.
final class RedoLog: @unchecked Sendable {
    static let slotFileNames = ["redo.0", "redo.1"]
    static let magic = Array("EMPREDO1".utf8)
    static let headerBytes = 60
    /// Slot files are filled with zeros up to this size when created, so that writing an entry overwrites blocks
    /// the file system has already allocated (a flush then needs no journal commit for the file's size).
    static let preallocatedBytes = 1 << 20

    /// One entry read back from a slot file.
    struct Entry: Sendable {
        var slot: Int
        var firstPosition: UInt64
        /// Decoded, each with its hash checked.
        var records: [RecordedEvent]
        var lastPosition: UInt64 { firstPosition + UInt64(records.count) - 1 }
    }

    /// An entry being built by the writer, one stored record at a time.
    struct Builder {
        fileprivate(set) var bytes: [UInt8] = []
        private(set) var records = 0
        private(set) var firstPosition: UInt64 = 0
        private var lastHash = Digest.zero

        var isEmpty: Bool { records == 0 }

        mutating func reset() {
            bytes.removeAll(keepingCapacity: true)
            records = 0
        }

        mutating func append(_ record: UnsafeRawBufferPointer, position: UInt64, hash: Digest) {
            if records == 0 {
                firstPosition = position
                bytes.append(contentsOf: repeatElement(0, count: RedoLog.headerBytes))
            }
            records += 1
            lastHash = hash
            bytes.appendBigEndian(UInt32(record.count))
            bytes.append(contentsOf: record)
        }

        /// Fills in the header.
        fileprivate mutating func seal() {
            var header: [UInt8] = RedoLog.magic
            header.appendBigEndian(firstPosition)
            header.appendBigEndian(UInt32(records))
            header.appendBigEndian(UInt64(bytes.count - RedoLog.headerBytes))
            lastHash.withUnsafeBytes { header.append(contentsOf: $0) }
            bytes.replaceSubrange(0..<RedoLog.headerBytes, with: header)
        }
    }

    let directory: String
    private let descriptors: [Int32]
    /// Touched by the writer thread only.
    private var slot = 0
    private var inFlight = false
    /// Handed between the writer and the flusher thread through the two semaphores.
    private var pending: [UInt8] = []
    private var pendingSlot = 0
    private var flushError: Int32 = 0
    private var stopping = false
    private let go = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)

    /// Opens (creating) both slot files for writing, and locks them: two writers taking turns in the same slots could
    /// overwrite each other's newest entry. Call after recovery: a new slot file is filled with zeros.
    init(directory: String, after entries: [Entry]) throws(EventLogError) {
        self.directory = directory
        var descriptors: [Int32] = []
        for name in Self.slotFileNames {
            let path = directory + "/" + name
            let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
            guard descriptor >= 0 else {
                let code = errno
                descriptors.forEach { _ = Glibc.close($0) }
                throw .storage(Self.failure("open(\(path))", code))
            }
            descriptors.append(descriptor)
        }
        self.descriptors = descriptors
        do throws(EventLogError) {
            guard flock(descriptors[0], LOCK_EX | LOCK_NB) == 0 else {
                let code = errno
                throw EventLogError.storage(
                    Self.failure("lock \(directory)/\(Self.slotFileNames[0]) (is another process writing this log?)", code))
            }
            var created = false
            for descriptor in descriptors { created = try Self.preallocate(descriptor) || created }
            if created { try Self.syncDirectory(directory) }
        } catch {
            descriptors.forEach { _ = Glibc.close($0) }
            throw error
        }
        // The next entry goes to the slot that does not hold the newest one.
        self.slot = entries.max { $0.firstPosition < $1.firstPosition }.map { 1 - $0.slot } ?? 0
        let thread = Thread { [self] in flushLoop() }
        thread.name = "emporium.log.redo"
        thread.start()
    }

    deinit { if !stopping { descriptors.forEach { _ = Glibc.close($0) } } }

    /// Starts writing and flushing `entry` (sealed here) into the current slot on the flusher thread; `entry`
    /// gets back a spare buffer. Waits first for a write still in flight (a transaction built again after growing the map).
    func begin(_ entry: inout Builder) {
        if inFlight { _ = waitForFlush() }
        entry.seal()
        swap(&pending, &entry.bytes)
        pendingSlot = slot
        inFlight = true
        go.signal()
    }

    /// Waits for the entry begun last to be durable.
    func finish() throws(EventLogError) {
        guard inFlight else { return }
        let error = waitForFlush()
        if error != 0 { throw .storage(Self.failure("write and flush \(Self.slotFileNames[pendingSlot])", error)) }
    }

    /// The commit whose entry was written last is durable: the next commit writes the other slot.
    func committed() { slot = 1 - slot }

    /// The commit whose entry was begun last failed: its entry must never be re-applied, so it is overwritten with
    /// zeros and flushed before the commit's callers hear of the failure. The next commit writes the same slot.
    func cancel() throws(EventLogError) {
        if inFlight { _ = waitForFlush() }
        let zeros = [UInt8](repeating: 0, count: Self.headerBytes)
        let descriptor = descriptors[slot]
        if pwrite(descriptor, zeros, zeros.count, 0) != zeros.count || fdatasync(descriptor) != 0 {
            throw .storage(Self.failure("invalidate \(Self.slotFileNames[slot])", errno))
        }
    }

    /// Stops the flusher thread (after the writer's last commit) and closes the files, which releases the lock: the log
    /// can be opened again as soon as `EventLog.close` returns.
    func close() {
        if inFlight { _ = waitForFlush() }
        stopping = true
        go.signal()
        done.wait()
        descriptors.forEach { _ = Glibc.close($0) }
    }

    private func waitForFlush() -> Int32 {
        done.wait()
        inFlight = false
        return flushError
    }

    private func flushLoop() {
        while true {
            go.wait()
            if stopping { break }
            flushError = Self.writeAll(pending, to: descriptors[pendingSlot])
            done.signal()
        }
        done.signal()
    }

    /// Writes `bytes` at offset 0 and waits until they are on the disk; the `errno` of a failure, or 0.
    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Int32 {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes {
                pwrite(descriptor, $0.baseAddress?.advanced(by: offset), $0.count - offset, off_t(offset))
            }
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += written
        }
        return fdatasync(descriptor) == 0 ? 0 : errno
    }

    /// Fills a new (short) slot file with zeros; true when it did.
    private static func preallocate(_ descriptor: Int32) throws(EventLogError) -> Bool {
        let size = lseek(descriptor, 0, SEEK_END)
        guard size >= 0 else { throw .storage(failure("lseek", errno)) }
        guard size < preallocatedBytes else { return false }
        let zeros = [UInt8](repeating: 0, count: preallocatedBytes - Int(size))
        let written = zeros.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(size)) }
        guard written == zeros.count, fsync(descriptor) == 0 else { throw .storage(failure("fill the redo file", errno)) }
        return true
    }

    private static func syncDirectory(_ directory: String) throws(EventLogError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .storage(failure("open(\(directory))", errno)) }
        defer { _ = Glibc.close(descriptor) }
        guard fsync(descriptor) == 0 else { throw .storage(failure("fsync(\(directory))", errno)) }
    }

    private static func failure(_ operation: String, _ code: Int32) -> LMDBError {
        LMDBError(code: code, operation: operation)
    }

    // MARK: Reading

    /// The whole entries of `directory`'s slot files (a missing, invalidated or torn one has none); only an unreadable
    /// file throws.
    static func entries(in directory: String) throws(EventLogError) -> [Entry] {
        var entries: [Entry] = []
        for (slot, name) in slotFileNames.enumerated() {
            let path = directory + "/" + name
            guard let contents = FileManager.default.contents(atPath: path) else {
                if FileManager.default.fileExists(atPath: path) { throw .storage(failure("read \(path)", EIO)) }
                continue
            }
            if let entry = parse([UInt8](contents), slot: slot) { entries.append(entry) }
        }
        return entries
    }

    /// The entry at the start of `bytes`, or nil when there is no whole one: each record must decode at its position
    /// with its own hash and follow the one before, and the last must carry the header's hash.
    static func parse(_ bytes: [UInt8], slot: Int) -> Entry? {
        bytes.withUnsafeBytes { bytes in
            do {
                return try parse(RecordReader(bytes: bytes), slot: slot)
            } catch {
                return nil  // torn: a crash cut the entry's write short (or nothing was ever written)
            }
        }
    }

    private static func parse(_ reader: RecordReader, slot: Int) throws -> Entry? {
        var reader = reader
        guard try Array(reader.slice(magic.count)) == magic else { return nil }
        let firstPosition = try reader.u64()
        let count = Int(try reader.u32())
        let bodyBytes = Int(clamping: try reader.u64())
        let lastHash = Digest(copying: try reader.slice(Digest.byteCount))
        var body = RecordReader(bytes: try reader.slice(bodyBytes))
        guard count > 0, firstPosition > 0 else { return nil }
        var records: [RecordedEvent] = []
        while !body.isAtEnd {
            let record = try RecordCodec.decode(
                try body.slice(Int(try body.u32())), position: firstPosition + UInt64(records.count), verifyHash: true)
            guard records.last.map({ $0.hash == record.previousHash }) ?? true else { return nil }
            records.append(record)
        }
        guard records.count == count, records.last?.hash == lastHash else { return nil }
        return Entry(slot: slot, firstPosition: firstPosition, records: records)
    }
}
