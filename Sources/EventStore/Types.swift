import Foundation

/// A point in time, in nanoseconds since the Unix epoch (UTC).
public struct Timestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var nanosecondsSinceEpoch: Int64

    public init(nanosecondsSinceEpoch: Int64) { self.nanosecondsSinceEpoch = nanosecondsSinceEpoch }

    /// Microsecond precision. Dates outside ±9×10¹⁸ ns (1684-10-19 … 2255-03-14), a range a little inside
    /// what 64 bits of nanoseconds hold, are clamped to it: a date someone typed is a bound, and a bound
    /// past the log's ends means the same as one at them (such dates overflowed and trapped before).
    public init(_ date: Date) {
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        let limit = 9e15  // exact in a Double; times 1,000 it stays inside Int64
        self.nanosecondsSinceEpoch = micros.isNaN ? 0 : Int64(min(max(micros, -limit), limit)) * 1_000
    }

    public var date: Date { Date(timeIntervalSince1970: Double(nanosecondsSinceEpoch) / 1e9) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch
    }

    /// ISO-8601 with microseconds, e.g. `2026-11-21T10:15:30.123456Z`.
    public var description: String {
        var seconds = time_t(nanosecondsSinceEpoch / 1_000_000_000)
        var nanos = nanosecondsSinceEpoch % 1_000_000_000
        if nanos < 0 { nanos += 1_000_000_000; seconds -= 1 }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
            Int32(parts.tm_year) + 1900, Int32(parts.tm_mon) + 1, Int32(parts.tm_mday),
            Int32(parts.tm_hour), Int32(parts.tm_min), Int32(parts.tm_sec), nanos / 1_000)
    }
}

/// Where time comes from. Injected so tests and simulations control it.
public protocol LogClock: Sendable {
    func now() -> Timestamp
}

public struct SystemClock: LogClock {
    public init() {}
    public func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(nanosecondsSinceEpoch: Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec))
    }
}

/// A stream's name, e.g. `order-0193a1f2-…`. Non-empty UTF-8 without control
/// characters, at most `LogLimits.streamNameBytesMax` bytes.
public struct StreamName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) throws(EventLogError) {
        try LogLimits.checkName(rawValue, field: "stream", maxBytes: LogLimits.streamNameBytesMax)
        self.rawValue = rawValue
    }

    /// For names read back from records, which were checked when appended (and are hash-covered).
    init(stored rawValue: String) { self.rawValue = rawValue }

    /// The part before the first `-`, e.g. `order` for `order-0193…`.
    public var category: Substring { rawValue.prefix { $0 != "-" } }
    public var description: String { rawValue }
    public static func < (lhs: StreamName, rhs: StreamName) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What the writer must find in a stream before appending to it.
public enum ExpectedVersion: Hashable, Sendable, CustomStringConvertible {
    /// Append whatever the stream holds.
    case any
    /// The stream must not exist yet.
    case noStream
    /// The stream must exist, at any version.
    case streamExists
    /// The stream's last version must be exactly this (versions start at 1).
    case exact(UInt64)

    public var description: String {
        switch self {
        case .any: return "any"
        case .noStream: return "noStream"
        case .streamExists: return "streamExists"
        case .exact(let version): return "exact(\(version))"
        }
    }

    package func isSatisfied(byCurrent current: UInt64?) -> Bool {
        switch self {
        case .any: return true
        case .noStream: return current == nil
        case .streamExists: return current != nil
        case .exact(let version): return current == version
        }
    }
}

/// Who caused an event and in which context.
public struct EventMetadata: Hashable, Sendable {
    /// `user:<id>:<role>`, `system`, `provider:<name>`, …
    public var actor: String
    /// The HTTP request or CLI run this event belongs to.
    public var correlationId: UUID
    /// The command or event that caused this event.
    public var causationId: UUID?
    /// The client's `Idempotency-Key`, when the command carried one.
    public var idempotencyKey: String?

    public init(actor: String, correlationId: UUID, causationId: UUID? = nil, idempotencyKey: String? = nil) {
        self.actor = actor
        self.correlationId = correlationId
        self.causationId = causationId
        self.idempotencyKey = idempotencyKey
    }
}

/// An event the caller wants to append; the log assigns position, version, time and hashes.
public struct ProposedEvent: Hashable, Sendable {
    public var eventId: UUID
    public var type: String
    public var schemaVersion: UInt32
    public var payload: [UInt8]
    public var metadata: EventMetadata
    /// For imports only: the time the event was first recorded. The log still
    /// keeps time strictly increasing (an earlier time becomes the previous
    /// one plus a nanosecond, and the hash then differs from the export's).
    public var recordedAt: Timestamp?

    public init(
        eventId: UUID, type: String, schemaVersion: UInt32 = 1, payload: [UInt8], metadata: EventMetadata, recordedAt: Timestamp? = nil
    ) {
        self.eventId = eventId
        self.type = type
        self.schemaVersion = schemaVersion
        self.payload = payload
        self.metadata = metadata
        self.recordedAt = recordedAt
    }
}

/// Events for one stream, with the version the stream must be at.
public struct StreamAppend: Hashable, Sendable {
    public var stream: StreamName
    public var expected: ExpectedVersion
    public var events: [ProposedEvent]

    public init(stream: StreamName, expected: ExpectedVersion, events: [ProposedEvent]) {
        self.stream = stream
        self.expected = expected
        self.events = events
    }
}

/// An event as stored in the log.
public struct RecordedEvent: Hashable, Sendable {
    public var position: UInt64
    public var stream: StreamName
    public var version: UInt64
    public var type: String
    public var schemaVersion: UInt32
    public var eventId: UUID
    public var recordedAt: Timestamp
    public var metadata: EventMetadata
    public var previousHash: Digest
    public var hash: Digest
    /// Positions of the previous event of the same stream, actor and type.
    public var links: ChainLinks
    public var payload: [UInt8]
}

extension RecordedEvent {
    /// The record an append placed (another store's writer builds it as it writes).
    package init(_ event: ProposedEvent, stream: StreamName, placement: RecordCodec.Placement, hash: Digest) {
        self.init(
            position: placement.position, stream: stream, version: placement.version, type: event.type,
            schemaVersion: event.schemaVersion, eventId: event.eventId, recordedAt: placement.recordedAt, metadata: event.metadata,
            previousHash: placement.previousHash, hash: hash, links: placement.links, payload: event.payload)
    }
}

/// Back-pointers stored in every record (0 means "this is the first").
public struct ChainLinks: Hashable, Sendable {
    public var stream: UInt64
    public var actor: UInt64
    public var type: UInt64

    public init(stream: UInt64, actor: UInt64, type: UInt64) {
        self.stream = stream
        self.actor = actor
        self.type = type
    }

    subscript(kind: LogSchema.NameKind) -> UInt64 {
        get {
            switch kind {
            case .stream: return stream
            case .actor: return actor
            case .type: return type
            }
        }
        set {
            switch kind {
            case .stream: stream = newValue
            case .actor: actor = newValue
            case .type: type = newValue
            }
        }
    }
}

/// A SHA-256 digest, held inline (no heap storage: every record decodes two of them).
public struct Digest: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 32
    public static let zero = Digest(words: (0, 0, 0, 0))
    /// The 32 bytes in their order in memory.
    private let words: (UInt64, UInt64, UInt64, UInt64)

    private init(words: (UInt64, UInt64, UInt64, UInt64)) { self.words = words }

    public init(bytes: [UInt8]) {
        precondition(bytes.count == Self.byteCount, "a digest has \(Self.byteCount) bytes")
        self = bytes.withUnsafeBytes { Digest(copying: $0) }
    }

    /// The digest whose bytes `raw` holds (exactly 32).
    public init(copying raw: UnsafeRawBufferPointer) {
        precondition(raw.count == Self.byteCount, "a digest has \(Self.byteCount) bytes")
        words = (
            raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
        )
    }

    public init?(hex: String) {
        guard let bytes = Self.bytes(fromHex: hex), bytes.count == Self.byteCount else { return nil }
        self.init(bytes: bytes)
    }

    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: words) { raw in try body(raw) }
    }

    public static func == (lhs: Digest, rhs: Digest) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// Bytes from hex digits (either case), or nil for odd length or a non-hex character.
    public static func bytes(fromHex hex: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next() {
            guard let low = iterator.next(), let h = nibble(high), let l = nibble(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        return bytes
    }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(Self.byteCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Where one stream of an append ended up.
public struct StreamAppendResult: Hashable, Sendable {
    public var stream: StreamName
    /// Version of the first event written to the stream by this append.
    public var firstVersion: UInt64
    public var lastVersion: UInt64

    package init(stream: StreamName, firstVersion: UInt64, lastVersion: UInt64) {
        self.stream = stream
        self.firstVersion = firstVersion
        self.lastVersion = lastVersion
    }
}

/// The answer to a durable append.
public struct AppendResult: Hashable, Sendable {
    /// One position per event, in the order the events were given.
    public var positions: [UInt64]
    public var streams: [StreamAppendResult]
    /// True when every event id was already stored: nothing was written.
    public var wasAlreadyStored: Bool
    public var firstPosition: UInt64 { positions.first ?? 0 }

    package init(positions: [UInt64], streams: [StreamAppendResult], wasAlreadyStored: Bool) {
        self.positions = positions
        self.streams = streams
        self.wasAlreadyStored = wasAlreadyStored
    }
    public var lastPosition: UInt64 { positions.last ?? 0 }
}

/// The last committed record.
public struct LogHead: Hashable, Sendable {
    public var position: UInt64
    public var hash: Digest
    public var recordedAt: Timestamp?
    public static let empty = LogHead(position: 0, hash: .zero, recordedAt: nil)

    package init(position: UInt64, hash: Digest, recordedAt: Timestamp?) {
        self.position = position
        self.hash = hash
        self.recordedAt = recordedAt
    }
}

/// The parts of a stored event a fold needs, read in place: `payload` points
/// into the log's memory and is valid only inside the scan's callback.
public struct RecordView {
    public var position: UInt64
    public var version: UInt64
    public var schemaVersion: UInt32
    /// The stream name's and the type's UTF-8, in place (a fold parses them without making strings).
    public var streamBytes: UnsafeRawBufferPointer
    public var typeBytes: UnsafeRawBufferPointer
    public var payload: UnsafeRawBufferPointer

    public var stream: String { String(decoding: streamBytes, as: UTF8.self) }
    public var type: String { String(decoding: typeBytes, as: UTF8.self) }
}

extension Duration {
    /// Whole milliseconds (rounded toward zero): for timeouts given to other programs and for durations people read.
    public var wholeMilliseconds: Int64 { components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000 }
}
