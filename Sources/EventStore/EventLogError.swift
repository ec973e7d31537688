import Foundation
import LMDB

/// Why an append or a read failed. Codes are stable: callers (and the HTTP
/// layer) switch on `code`, never on the message.
public enum EventLogError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An expectation failed; nothing was written to any stream of the append.
    case wrongExpectedVersion(stream: StreamName, expected: ExpectedVersion, current: UInt64?)
    /// Some, but not all, event ids of the append are already stored.
    case partiallyStored(eventId: UUID)
    /// The same event id appears twice in one append.
    case duplicateEventInAppend(eventId: UUID)
    /// The same stream appears twice in one append.
    case duplicateStreamInAppend(stream: StreamName)
    case emptyAppend
    case eventTooLarge(eventId: UUID, bytes: Int, limitBytes: Int)
    case appendTooLarge(events: Int, bytes: Int)
    case invalidField(field: String, reason: String)
    /// The stored bytes do not decode: the file is damaged or of an unknown format.
    case corruptRecord(position: UInt64, reason: String)
    /// The log is closed or closing.
    case closed
    /// The storage engine failed (disk full, I/O error, damaged file).
    case storage(LMDBError)
    /// The log of record (PostgreSQL) could not be reached or failed the request; an append may or may not have
    /// committed, and retrying it with the same event ids is safe.
    case unavailable(String)
    /// A replica's copy of a record differs from the log of record's (position, version, links or hash): the copy stops there.
    case replicaDiverged(position: UInt64, reason: String)
    /// The redo file holds records that do not continue the log (they are not re-applied; the log is not opened).
    case redoUnusable(reason: String)

    public var code: String {
        switch self {
        case .wrongExpectedVersion: return "wrong_expected_version"
        case .partiallyStored: return "partially_stored"
        case .duplicateEventInAppend: return "duplicate_event_in_append"
        case .duplicateStreamInAppend: return "duplicate_stream_in_append"
        case .emptyAppend: return "empty_append"
        case .eventTooLarge: return "event_too_large"
        case .appendTooLarge: return "append_too_large"
        case .invalidField: return "invalid_field"
        case .corruptRecord: return "corrupt_record"
        case .closed: return "log_closed"
        case .storage: return "storage_failure"
        case .unavailable: return "log_unavailable"
        case .replicaDiverged: return "replica_diverged"
        case .redoUnusable: return "redo_unusable"
        }
    }

    public var description: String {
        switch self {
        case let .wrongExpectedVersion(stream, expected, current):
            return "stream \(stream) is at version \(current.map(String.init) ?? "none (no stream)"), expected \(expected)"
        case .partiallyStored(let id): return "event \(id) is already stored but other events of the same append are not"
        case .duplicateEventInAppend(let id): return "event id \(id) appears twice in one append"
        case .duplicateStreamInAppend(let stream): return "stream \(stream) appears twice in one append"
        case .emptyAppend: return "an append needs at least one event"
        case let .eventTooLarge(id, bytes, limit): return "event \(id) encodes to \(bytes) bytes; the limit is \(limit)"
        case let .appendTooLarge(events, bytes):
            return
                "append of \(events) events / \(bytes) bytes exceeds \(LogLimits.eventsPerAppendMax) events / \(LogLimits.appendBytesMax) bytes"
        case let .invalidField(field, reason): return "\(field): \(reason)"
        case let .corruptRecord(position, reason): return "record at position \(position) is damaged: \(reason)"
        case .closed: return "the event log is closed"
        case .storage(let error): return "storage: \(error)"
        case .unavailable(let reason): return "the log of record is unavailable: \(reason)"
        case let .replicaDiverged(position, reason): return "the replica differs from the log of record at position \(position): \(reason)"
        case .redoUnusable(let reason): return "the redo file cannot be applied to the log: \(reason)"
        }
    }
}

/// Every bound the log enforces, by name.
public enum LogLimits {
    public static let streamNameBytesMax = 200
    public static let typeNameBytesMax = 100
    public static let actorBytesMax = 200
    public static let idempotencyKeyBytesMax = 200
    /// One encoded record (header + payload).
    public static let eventBytesMax = 1 << 20
    public static let eventsPerAppendMax = 10_000
    public static let appendBytesMax = 16 << 20
    /// Events waiting for the writer before appenders are made to wait.
    public static let queuedEventsMax = 65_536
    /// Events the writer puts in one LMDB transaction.
    public static let eventsPerCommitMax = 8_192
    /// Events one read call returns at most.
    public static let readPageEventsMax = 10_000
    /// Events a long scan reads per read transaction (keeps snapshots short-lived).
    public static let scanChunkEvents = 4_096

    /// Characters of outside text an error message repeats.
    public static let shownCharactersMax = 80

    /// Outside text (a name from a flag, a request or a file) as an error
    /// message repeats it: whole up to `shownCharactersMax` characters,
    /// else cut there and its length given, so a 70 KB name does not fill
    /// a terminal or a response.
    public static func shown(_ text: some StringProtocol) -> String {
        guard text.count > shownCharactersMax else { return String(text) }
        return "\(text.prefix(shownCharactersMax))… (\(text.utf8.count) bytes)"
    }

    static func checkName(_ value: String, field: String, maxBytes: Int) throws(EventLogError) {
        let bytes = value.utf8.count
        guard bytes > 0 else { throw .invalidField(field: field, reason: "must not be empty") }
        guard bytes <= maxBytes else { throw .invalidField(field: field, reason: "\(bytes) bytes exceeds \(maxBytes)") }
        guard !containsControlCharacter(value) else {
            throw .invalidField(field: field, reason: "must not contain control characters")
        }
    }

    /// C0 controls (U+0000–U+001F), DEL and C1 controls (U+0080–U+009F, UTF-8 `C2 80`–`C2 9F`),
    /// found from the UTF-8 bytes without Unicode property tables (this runs for every appended event).
    static func containsControlCharacter(_ value: String) -> Bool {
        var previous: UInt8 = 0
        for byte in value.utf8 {
            if byte < 0x20 || byte == 0x7F || (previous == 0xC2 && (0x80...0x9F).contains(byte)) { return true }
            previous = byte
        }
        return false
    }
}
