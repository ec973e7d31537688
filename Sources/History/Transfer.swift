import Commerce
import EventStore
import Foundation

/// The first line of an export: what follows and how it ends, so a
/// truncated file is refused.
public struct ExportHeader: Codable, Hashable, Sendable {
    public static let formatName = "emporium-export"
    public static let currentVersion = 1

    public var format: String
    public var formatVersion: Int
    public var events: UInt64
    public var headHash: String
    public var headRecordedAt: String?
}

public struct TransferError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `emporium export`: the log as JSON lines (a header, then one `EventRecord`
/// per event with its decoded `data`).
public struct Exporter: Sendable {
    public let log: EventLog
    public let presenter: EventPresenter

    public init(log: EventLog, cipher: (any PersonalDataCipher)?) {
        self.log = log
        self.presenter = EventPresenter(cipher: cipher)
    }

    /// Writes every event through the head as it is now; returns how many.
    @discardableResult
    public func export(to output: FileHandle, progress: ((UInt64, UInt64) -> Void)? = nil) throws -> UInt64 {
        let head = try log.head()
        let header = ExportHeader(
            format: ExportHeader.formatName, formatVersion: ExportHeader.currentVersion, events: head.position,
            headHash: head.hash.hex, headRecordedAt: head.recordedAt?.description)
        var buffer = Array(try EventRecord.encoder.encode(header)) + [0x0A]
        var written: UInt64 = 0
        try log.scan(from: 1, through: head.position) { event in
            buffer += try presenter.jsonLine(event)
            buffer.append(0x0A)
            written += 1
            if buffer.count >= 1 << 20 {
                output.write(Data(buffer))
                buffer.removeAll(keepingCapacity: true)
                progress?(written, head.position)
            }
            return true
        }
        output.write(Data(buffer))
        progress?(written, head.position)
        return written
    }
}

/// `emporium import`: rebuilds a log from an export into an empty data
/// directory. The file is checked as it is read (header, gapless positions,
/// the hash chain, strictly increasing times, contiguous versions) and every
/// imported event must come out with the hash the file states. The log is
/// built in a scratch directory and moved into place only when all of it
/// checked out, so a broken file writes nothing.
public struct Importer {
    public static let eventsPerAppend = 2_000

    public init() {}

    /// Imports `file` as the log at `logDirectory`, which must not exist yet.
    @discardableResult
    public func importFile(_ file: String, into logDirectory: String, progress: ((UInt64, UInt64) -> Void)? = nil) async throws -> LogHead {
        let manager = FileManager.default
        if manager.fileExists(atPath: logDirectory + "/data.mdb") {
            throw TransferError("\(logDirectory) already holds a log; import into an empty data directory")
        }
        guard let input = FileHandle(forReadingAtPath: file) else { throw TransferError("cannot read \(file)") }
        defer { try? input.close() }
        let scratch = logDirectory + ".importing-\(ProcessInfo.processInfo.processIdentifier)"
        try? manager.removeItem(atPath: scratch)
        do {
            let head = try await build(from: LineReader(input), scratch: scratch, progress: progress)
            try manager.createDirectory(atPath: (logDirectory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if manager.fileExists(atPath: logDirectory) { try manager.removeItem(atPath: logDirectory) }  // an empty leftover
            try manager.moveItem(atPath: scratch, toPath: logDirectory)
            return head
        } catch {
            try? manager.removeItem(atPath: scratch)
            throw error
        }
    }

    private func build(from reader: LineReader, scratch: String, progress: ((UInt64, UInt64) -> Void)?) async throws -> LogHead {
        guard let first = try reader.next() else { throw TransferError("the file is empty") }
        let header: ExportHeader
        do { header = try JSONDecoder().decode(ExportHeader.self, from: Data(first)) } catch {
            throw TransferError("line 1 is not an export header: \(error)")
        }
        guard header.format == ExportHeader.formatName else {
            throw TransferError("line 1: not an Emporium export (format \(header.format))")
        }
        guard header.formatVersion == ExportHeader.currentVersion else {
            throw TransferError("line 1: export format version \(header.formatVersion) is not supported")
        }
        // Built without an fsync per commit, flushed once at the end: until the
        // move into place the scratch log is nobody's, so a crash loses only the import.
        var options = EventLog.Options()
        options.durable = false
        let log = try EventLog(directory: scratch, options: options)
        defer { log.close() }
        var batch = Batch()
        var previous = Previous(position: 0, hash: Digest.zero.hex, recordedAtNanos: nil)
        var line = 1
        let decoder = JSONDecoder()
        while let bytes = try reader.next() {
            line += 1
            if bytes.isEmpty { continue }
            let record: EventRecord
            do { record = try decoder.decode(EventRecord.self, from: Data(bytes)) } catch {
                throw TransferError("line \(line): not an event record: \(error)")
            }
            try check(record, line: line, after: previous)
            previous = Previous(position: record.position, hash: record.hash, recordedAtNanos: record.recordedAtNanos)
            if !batch.accepts(record) || batch.count >= Self.eventsPerAppend {
                try await batch.append(to: log)
                progress?(log.headPosition, header.events)
                batch = Batch()
            }
            try batch.add(record, line: line)
        }
        try await batch.append(to: log)
        progress?(log.headPosition, header.events)
        guard previous.position == header.events else {
            throw TransferError(
                "the file holds \(previous.position) events but its header says \(header.events): it is truncated or padded")
        }
        guard previous.hash == header.headHash else {
            throw TransferError("the last event's hash is not the header's head hash \(header.headHash)")
        }
        try log.sync()
        return try log.head()
    }

    struct Previous {
        var position: UInt64
        var hash: String
        var recordedAtNanos: Int64?
    }

    private func check(_ record: EventRecord, line: Int, after previous: Previous) throws {
        guard record.position == previous.position + 1 else {
            throw TransferError(
                "line \(line): position \(record.position) where \(previous.position + 1) belongs (events are missing or out of order)")
        }
        guard record.prevHash == previous.hash else {
            throw TransferError("line \(line): prevHash does not match the hash of position \(previous.position) (the chain is broken)")
        }
        if let before = previous.recordedAtNanos, record.recordedAtNanos <= before {
            throw TransferError("line \(line): recordedAt does not increase")
        }
        guard Digest(hex: record.hash) != nil else { throw TransferError("line \(line): hash is not 64 hex digits") }
        guard record.payloadBytes != nil else { throw TransferError("line \(line): no payload") }
    }

    /// Consecutive records whose streams do not repeat across groups: one atomic append.
    struct Batch {
        var appends: [StreamAppend] = []
        var records: [EventRecord] = []
        var streams: Set<String> = []
        var count: Int { records.count }

        func accepts(_ record: EventRecord) -> Bool {
            !streams.contains(record.stream) || appends.last?.stream.rawValue == record.stream
        }

        mutating func add(_ record: EventRecord, line: Int) throws {
            guard record.version >= 1 else {
                throw TransferError("line \(line): version 0 of \(LogLimits.shown(record.stream)) (versions start at 1)")
            }
            let stream: StreamName
            do { stream = try StreamName(record.stream) } catch { throw TransferError("line \(line): \(error)") }
            let event = ProposedEvent(
                eventId: record.eventId, type: record.type, schemaVersion: record.schemaVersion,
                payload: record.payloadBytes ?? [], metadata: record.metadata,
                recordedAt: Timestamp(nanosecondsSinceEpoch: record.recordedAtNanos))
            if let last = appends.indices.last, appends[last].stream == stream {
                guard let lastRecord = records.last, record.version - 1 == lastRecord.version else {
                    throw TransferError(
                        "line \(line): version \(record.version) of \(LogLimits.shown(record.stream)) does not follow \(records.last?.version ?? 0)"
                    )
                }
                appends[last].events.append(event)
            } else {
                appends.append(
                    StreamAppend(stream: stream, expected: record.version == 1 ? .noStream : .exact(record.version - 1), events: [event]))
                streams.insert(record.stream)
            }
            records.append(record)
        }

        func append(to log: EventLog) async throws {
            guard !appends.isEmpty else { return }
            let result: AppendResult
            do { result = try await log.append(appends) } catch {
                throw TransferError("events \(records.first?.position ?? 0)–\(records.last?.position ?? 0) do not import: \(error)")
            }
            guard !result.wasAlreadyStored, result.positions == records.map(\.position) else {
                throw TransferError(
                    "events \(records.first?.position ?? 0)–\(records.last?.position ?? 0) repeat an event id already imported")
            }
            guard let last = records.last, try log.head().hash.hex != last.hash else { return }
            for record in records {
                guard let stored = try log.event(at: record.position), stored.hash.hex == record.hash else {
                    throw TransferError(
                        "position \(record.position): the imported event's hash differs from the file's (a header field or the payload was changed)"
                    )
                }
            }
        }
    }
}

/// Reads a file a line at a time (lines split on LF), in 1 MiB chunks.
final class LineReader {
    static let lineBytesMax = 64 << 20
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false

    init(_ handle: FileHandle) { self.handle = handle }

    func next() throws -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                return line
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return line
            }
            guard buffer.count - start <= Self.lineBytesMax else { throw TransferError("a line is longer than \(Self.lineBytesMax) bytes") }
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { atEnd = true }
            buffer.removeFirst(start)
            start = 0
            buffer += chunk
        }
    }
}
