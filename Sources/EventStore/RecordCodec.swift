import Crypto
import Foundation

/// The stored form of one event: the value under its position key in the
/// `events` database. Integers are big-endian; strings are UTF-8 with a length.
///
/// ```
/// offset size  field
///      0    1  format (= 1)
///      1    1  flags: bit 0 causation id present, bit 1 idempotency key present
///      2    4  schemaVersion            u32
///      6    8  position                 u64 (global, gapless, from 1)
///     14    8  stream version           u64 (per stream, gapless, from 1)
///     22    8  recordedAt               i64 nanoseconds since the Unix epoch
///     30   16  eventId                  UUID
///     46   16  correlationId            UUID
///     62   16  causationId              UUID (zero when absent)
///     78   32  previousHash             SHA-256 of the record before (zero for position 1)
///    110    8  previous in stream       u64 position of the stream's previous event (0: none)
///    118    8  previous by actor        u64 position of this actor's previous event (0: none)
///    126    8  previous of type         u64 position of the previous event of this type (0: none)
///    134  2+n  stream name              u16 length + bytes
///         2+n  type                     u16 length + bytes
///         2+n  actor                    u16 length + bytes
///         2+n  idempotency key          u16 length + bytes (0 when absent)
///         4+n  payload                  u32 length + bytes
///   end-32 32  hash                     SHA-256 of every byte before it
/// ```
/// Because each record holds the previous record's hash, the last hash
/// commits to the whole log. The three back-pointers chain the events of one
/// stream, one actor and one type (see `LogSchema` for how they are read).
public enum RecordCodec {
    public static let format: UInt8 = 1
    static let fixedHeaderBytes = 134
    static let chainLinksOffset = 110
    static let hashBytes = Digest.byteCount
    static let flagCausation: UInt8 = 1
    static let flagIdempotencyKey: UInt8 = 2

    /// Header fields the writer assigns at commit.
    package struct Placement {
        var position: UInt64
        var version: UInt64
        var recordedAt: Timestamp
        var previousHash: Digest
        var links: ChainLinks

        package init(position: UInt64, version: UInt64, recordedAt: Timestamp, previousHash: Digest, links: ChainLinks) {
            self.position = position
            self.version = version
            self.recordedAt = recordedAt
            self.previousHash = previousHash
            self.links = links
        }
    }

    /// Size of the encoded record, computed without encoding (for limits).
    package static func encodedSize(of event: ProposedEvent, stream: StreamName) -> Int {
        fixedHeaderBytes + 2 + stream.rawValue.utf8.count + 2 + event.type.utf8.count
            + 2 + event.metadata.actor.utf8.count + 2 + (event.metadata.idempotencyKey?.utf8.count ?? 0)
            + 4 + event.payload.count + hashBytes
    }

    /// Encodes a record into `out`, which holds exactly `encodedSize(of:stream:)` bytes (the
    /// writer passes the space LMDB reserved in the page); returns the record's hash.
    package static func encode(
        _ event: ProposedEvent, stream: StreamName, placement: Placement,
        into out: UnsafeMutableRawBufferPointer
    ) -> Digest {
        var writer = ByteWriter(out)
        var flags: UInt8 = 0
        if event.metadata.causationId != nil { flags |= flagCausation }
        if event.metadata.idempotencyKey != nil { flags |= flagIdempotencyKey }
        writer.append(format)
        writer.append(flags)
        writer.appendBigEndian(event.schemaVersion)
        writer.appendBigEndian(placement.position)
        writer.appendBigEndian(placement.version)
        writer.appendBigEndian(placement.recordedAt.nanosecondsSinceEpoch)
        writer.appendUUID(event.eventId)
        writer.appendUUID(event.metadata.correlationId)
        writer.appendUUID(event.metadata.causationId ?? zeroUUID)
        placement.previousHash.withUnsafeBytes { writer.append($0) }
        writer.appendBigEndian(placement.links.stream)
        writer.appendBigEndian(placement.links.actor)
        writer.appendBigEndian(placement.links.type)
        writer.appendString16(stream.rawValue)
        writer.appendString16(event.type)
        writer.appendString16(event.metadata.actor)
        writer.appendString16(event.metadata.idempotencyKey ?? "")
        writer.appendBigEndian(UInt32(event.payload.count))
        event.payload.withUnsafeBytes { writer.append($0) }
        let body = writer.offset
        precondition(out.count - body == hashBytes, "record buffer of \(out.count) bytes for a \(body)-byte body")
        var hasher = SHA256()
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: out[0..<body]))
        let digest = hasher.finalize()
        return digest.withUnsafeBytes { hash in
            writer.append(hash)
            return Digest(copying: hash)
        }
    }

    static func sha256(_ bytes: [UInt8]) -> Digest {
        SHA256.hash(data: bytes).withUnsafeBytes { Digest(copying: $0) }
    }

    static func sha256(_ bytes: UnsafeRawBufferPointer) -> Digest {
        SHA256.hash(data: bytes).withUnsafeBytes { Digest(copying: $0) }
    }

    /// Decodes a stored record. With `verifyHash` the stored hash is recomputed and compared.
    public static func decode(
        _ bytes: UnsafeRawBufferPointer, position expected: UInt64, verifyHash: Bool = false
    ) throws(EventLogError) -> RecordedEvent {
        var names = RecentNames.none
        return try decode(bytes, position: expected, verifyHash: verifyHash, names: &names)
    }

    /// `decode`, reusing the strings of names read recently (see `RecentNames`).
    static func decode(
        _ bytes: UnsafeRawBufferPointer, position expected: UInt64, verifyHash: Bool,
        names: inout RecentNames
    ) throws(EventLogError) -> RecordedEvent {
        var reader = RecordReader(bytes: bytes)
        do {
            let format = try reader.u8()
            guard format == Self.format else { throw RecordReader.Failure("unknown record format \(format)") }
            let flags = try reader.u8()
            let schemaVersion = try reader.u32()
            let position = try reader.u64()
            guard position == expected else { throw RecordReader.Failure("holds position \(position)") }
            let version = try reader.u64()
            let recordedAt = Timestamp(nanosecondsSinceEpoch: Int64(bitPattern: try reader.u64()))
            let eventId = try reader.uuid()
            let correlationId = try reader.uuid()
            let causationId = try reader.uuid()
            let previousHash = Digest(copying: try reader.slice(hashBytes))
            let links = ChainLinks(stream: try reader.u64(), actor: try reader.u64(), type: try reader.u64())
            guard links.stream < position, links.actor < position, links.type < position else {
                throw RecordReader.Failure("a back-pointer points forward")
            }
            let stream = StreamName(stored: try reader.string16(&names))
            let type = try reader.string16(&names)
            let actor = try reader.string16(&names)
            let idempotencyKey = try reader.string16()
            let payloadCount = Int(try reader.u32())
            let payload = try reader.bytes(payloadCount)
            let bodyCount = reader.offset
            let hash = Digest(copying: try reader.slice(hashBytes))
            guard reader.isAtEnd else { throw RecordReader.Failure("\(bytes.count - reader.offset) trailing bytes") }
            if verifyHash, sha256(UnsafeRawBufferPointer(rebasing: bytes[0..<bodyCount])) != hash {
                throw RecordReader.Failure("hash does not match contents")
            }
            let metadata = EventMetadata(
                actor: actor, correlationId: correlationId,
                causationId: flags & flagCausation != 0 ? causationId : nil,
                idempotencyKey: flags & flagIdempotencyKey != 0 ? idempotencyKey : nil)
            return RecordedEvent(
                position: position, stream: stream, version: version, type: type,
                schemaVersion: schemaVersion, eventId: eventId, recordedAt: recordedAt,
                metadata: metadata, previousHash: previousHash, hash: hash, links: links, payload: payload)
        } catch let failure as RecordReader.Failure {
            throw .corruptRecord(position: expected, reason: failure.reason)
        } catch let error as EventLogError {
            throw .corruptRecord(position: expected, reason: error.description)
        } catch {
            throw .corruptRecord(position: expected, reason: "\(error)")
        }
    }

    /// Reads only the timestamp (for binary search by time).
    static func recordedAt(_ bytes: UnsafeRawBufferPointer, position: UInt64) throws(EventLogError) -> Timestamp {
        guard bytes.count >= fixedHeaderBytes else { throw .corruptRecord(position: position, reason: "too short") }
        return Timestamp(
            nanosecondsSinceEpoch: Int64(bitPattern: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 22, as: UInt64.self))))
    }

    /// Reads only one back-pointer (for walking a chain without decoding records).
    static func link(_ kind: LogSchema.NameKind, _ bytes: UnsafeRawBufferPointer, position: UInt64) throws(EventLogError) -> UInt64 {
        guard bytes.count >= fixedHeaderBytes else { throw .corruptRecord(position: position, reason: "too short") }
        let offset = chainLinksOffset + 8 * kind.linkIndex
        let link = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        guard link < position else { throw .corruptRecord(position: position, reason: "a back-pointer points forward") }
        return link
    }

    /// The fields a fold needs, read in place: no copy of the payload, no hashes or metadata.
    static func view(_ bytes: UnsafeRawBufferPointer, position expected: UInt64) throws(EventLogError) -> RecordView {
        var reader = RecordReader(bytes: bytes)
        do {
            let format = try reader.u8()
            guard format == Self.format else { throw RecordReader.Failure("unknown record format \(format)") }
            _ = try reader.u8()
            let schemaVersion = try reader.u32()
            let position = try reader.u64()
            guard position == expected else { throw RecordReader.Failure("holds position \(position)") }
            let version = try reader.u64()
            try reader.skip(fixedHeaderBytes - reader.offset)  // time, ids, previous hash, back-pointers
            let stream = try reader.slice(Int(try reader.u16()))
            let type = try reader.slice(Int(try reader.u16()))
            try reader.skip(Int(try reader.u16()))  // actor
            try reader.skip(Int(try reader.u16()))  // idempotency key
            let payloadCount = Int(try reader.u32())
            let payload = try reader.slice(payloadCount)
            return RecordView(
                position: position, version: version, schemaVersion: schemaVersion, streamBytes: stream, typeBytes: type, payload: payload)
        } catch let failure as RecordReader.Failure {
            throw .corruptRecord(position: expected, reason: failure.reason)
        } catch {
            throw .corruptRecord(position: expected, reason: "\(error)")
        }
    }

    /// The stream name's UTF-8 bytes, without decoding the record (for scans that select by stream).
    static func streamNameBytes(_ bytes: UnsafeRawBufferPointer, position: UInt64) throws(EventLogError) -> UnsafeRawBufferPointer {
        guard bytes.count >= fixedHeaderBytes + 2 else { throw .corruptRecord(position: position, reason: "too short") }
        let count = Int(UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: fixedHeaderBytes, as: UInt16.self)))
        guard bytes.count >= fixedHeaderBytes + 2 + count else {
            throw .corruptRecord(position: position, reason: "the stream name runs past the record")
        }
        return UnsafeRawBufferPointer(rebasing: bytes[(fixedHeaderBytes + 2)..<(fixedHeaderBytes + 2 + count)])
    }

    /// Reads only the stored hash (the last 32 bytes).
    static func storedHash(_ bytes: UnsafeRawBufferPointer, position: UInt64) throws(EventLogError) -> Digest {
        guard bytes.count >= fixedHeaderBytes + hashBytes else { throw .corruptRecord(position: position, reason: "too short") }
        return Digest(copying: UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - hashBytes)...]))
    }
}

let zeroUUID = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

extension Array where Element == UInt8 {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    mutating func appendUUID(_ id: UUID) {
        Swift.withUnsafeBytes(of: id.uuid) { append(contentsOf: $0) }
    }
}

/// Writes fields into a buffer sized for them in advance (`RecordCodec.encodedSize`);
/// writing past its end is a programming error and traps.
struct ByteWriter {
    let out: UnsafeMutableRawBufferPointer
    private(set) var offset = 0

    init(_ out: UnsafeMutableRawBufferPointer) { self.out = out }

    private mutating func advance(_ count: Int) -> Int {
        precondition(out.count - offset >= count, "record field runs past its buffer")
        defer { offset += count }
        return offset
    }

    mutating func append(_ byte: UInt8) { out[advance(1)] = byte }

    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        out.storeBytes(of: value.bigEndian, toByteOffset: advance(MemoryLayout<T>.size), as: T.self)
    }

    mutating func appendUUID(_ id: UUID) {
        Swift.withUnsafeBytes(of: id.uuid) { append($0) }
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let start = advance(bytes.count)
        UnsafeMutableRawBufferPointer(rebasing: out[start..<(start + bytes.count)]).copyMemory(from: bytes)
    }

    /// Strings are bounded by `Limits` well below 65,535 bytes before they get here.
    mutating func appendString16(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            precondition(utf8.count <= Int(UInt16.max), "string field of \(utf8.count) bytes reached the encoder")
            appendBigEndian(UInt16(utf8.count))
            append(UnsafeRawBufferPointer(utf8))
        }
    }
}

/// A bounds-checked reader over stored bytes: damaged input throws, never traps.
struct RecordReader {
    struct Failure: Error { let reason: String; init(_ reason: String) { self.reason = reason } }

    let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    private mutating func take(_ count: Int) throws(Failure) -> Int {
        guard count >= 0, bytes.count - offset >= count else {
            throw Failure("needs \(count) bytes at offset \(offset), has \(bytes.count - offset)")
        }
        defer { offset += count }
        return offset
    }

    mutating func u8() throws(Failure) -> UInt8 { bytes[try take(1)] }
    mutating func u16() throws(Failure) -> UInt16 { UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: try take(2), as: UInt16.self)) }
    mutating func u32() throws(Failure) -> UInt32 { UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: try take(4), as: UInt32.self)) }
    mutating func u64() throws(Failure) -> UInt64 { UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: try take(8), as: UInt64.self)) }
    mutating func uuid() throws(Failure) -> UUID { UUID(uuid: bytes.loadUnaligned(fromByteOffset: try take(16), as: uuid_t.self)) }

    mutating func skip(_ count: Int) throws(Failure) { _ = try take(count) }

    mutating func slice(_ count: Int) throws(Failure) -> UnsafeRawBufferPointer {
        let start = try take(count)
        return UnsafeRawBufferPointer(rebasing: bytes[start..<(start + count)])
    }

    mutating func bytes(_ count: Int) throws(Failure) -> [UInt8] {
        let start = try take(count)
        let source = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + count)])
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
            initialized = count
        }
    }

    mutating func string16() throws(Failure) -> String {
        var none = RecentNames.none
        return try string16(&none)
    }

    /// `string16()`, answered from `names` when the same bytes were read recently.
    mutating func string16(_ names: inout RecentNames) throws(Failure) -> String {
        let count = Int(try u16())
        guard count > 0 else { return "" }  // an absent idempotency key: validating nothing still cost a generic call
        let start = try take(count)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + count)])
        if let known = names.lookup(slice) { return known }
        guard let text = String(validating: slice, as: UTF8.self) else { throw Failure("invalid UTF-8 at offset \(start)") }
        names.remember(text, slot: RecentNames.slot(slice))
        return text
    }
}

/// The names (streams, types, actors) a scan decoded lately. A log repeats them from record to record
/// (one command's events share an actor and often a stream; types recur), and validating their UTF-8
/// and allocating their strings was half of decoding a record. Direct-mapped: a name's slot comes from
/// its length and its first, middle and last bytes, and the stored bytes are compared before a name is reused.
struct RecentNames {
    static let slots = 256
    private var names: [String]

    /// Remembers nothing: for reading one record.
    static var none: RecentNames { RecentNames(names: []) }
    /// For reading many records in a row.
    static func forScan() -> RecentNames { RecentNames(names: [String](repeating: "", count: slots)) }

    private init(names: [String]) { self.names = names }

    static func slot(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let first = bytes.first, let last = bytes.last else { return 0 }
        let middle = bytes[bytes.count / 2]
        return (bytes.count &* 31 &+ Int(first) &* 7 &+ Int(middle) &* 3 &+ Int(last)) & (slots - 1)
    }

    func lookup(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard !names.isEmpty else { return nil }
        var candidate = names[Self.slot(bytes)]
        let same = candidate.withUTF8 { stored -> Bool in
            guard stored.count == bytes.count else { return false }
            guard let storedBase = stored.baseAddress, let base = bytes.baseAddress else { return true }  // both empty
            return memcmp(storedBase, base, bytes.count) == 0
        }
        return same ? candidate : nil
    }

    mutating func remember(_ name: String, slot: Int) {
        guard !names.isEmpty else { return }
        names[slot] = name
    }
}
