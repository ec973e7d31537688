import Foundation
import LMDB

/// One thing `verify` found wrong.
public struct VerifyProblem: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case undecodable = "undecodable_record"
        case hashMismatch = "hash_mismatch"
        case brokenChain = "broken_chain"
        case positionGap = "position_gap"
        case versionGap = "version_gap"
        case timeNotIncreasing = "time_not_increasing"
        case indexMismatch = "index_mismatch"
        case indexCount = "index_count"
    }

    public var kind: Kind
    /// The first position the problem shows at (nil for whole-index problems).
    public var position: UInt64?
    public var detail: String

    public var description: String {
        "\(kind.rawValue)\(position.map { " at position \($0)" } ?? ""): \(detail)"
    }
}

public struct VerifyReport: Sendable {
    public var head: LogHead
    public var eventsChecked: Int
    public var streamsSeen: Int
    /// In log order; the first is the earliest broken position.
    public var problems: [VerifyProblem]
    public var isHealthy: Bool { problems.isEmpty }
    public var firstProblem: VerifyProblem? { problems.first }
}

extension EventLog {
    /// Problems beyond this many are not listed (the first one is what matters).
    public static let verifyProblemsMax = 100

    /// Walks one snapshot of the whole log: hash chain, gapless positions,
    /// contiguous stream versions, strictly increasing time, every record
    /// decodes, and every secondary index agrees with the log both ways.
    /// `progress` is called with (checked, total) now and then.
    public func verify(progress: ((Int, UInt64) -> Void)? = nil) throws -> VerifyReport {
        try query { queries in
            var verifier = Verifier(queries: queries, progress: progress)
            return try verifier.run()
        }
    }
}

private struct Verifier {
    let queries: LogQueries
    let progress: ((Int, UInt64) -> Void)?
    var schema: LogSchema { queries.schema }
    var problems: [VerifyProblem] = []
    static let progressEveryEvents = 10_000

    init(queries: LogQueries, progress: ((Int, UInt64) -> Void)?) {
        self.queries = queries
        self.progress = progress
    }

    mutating func note(_ kind: VerifyProblem.Kind, _ position: UInt64?, _ detail: String) {
        if problems.count < EventLog.verifyProblemsMax { problems.append(VerifyProblem(kind: kind, position: position, detail: detail)) }
    }

    mutating func run() throws -> VerifyReport {
        let head = try queries.head()
        var expectedPosition: UInt64 = 1
        var previousHash: Digest? = .zero
        var previousTime: Timestamp?
        var lastVersions: [StreamName: UInt64] = [:]
        var checked = 0
        try queries.txn.withCursor(schema.events) { cursor in
            var entry = try cursor.first()
            while let current = entry {
                let position = Key.readU64(current.key)
                if position != expectedPosition {
                    note(.positionGap, expectedPosition, "expected position \(expectedPosition), found \(position)")
                    previousHash = nil
                }
                expectedPosition = position + 1
                checked += 1
                do {
                    let event = try RecordCodec.decode(current.value, position: position, verifyHash: true)
                    if let previousHash, event.previousHash != previousHash {
                        note(.brokenChain, position, "previous hash \(event.previousHash.hex.prefix(16))… does not match the record before (\(previousHash.hex.prefix(16))…)")
                    }
                    if let previousTime, event.recordedAt <= previousTime {
                        note(.timeNotIncreasing, position, "recordedAt \(event.recordedAt) is not after \(previousTime)")
                    }
                    let expectedVersion = (lastVersions[event.stream] ?? 0) + 1
                    if event.version != expectedVersion {
                        note(.versionGap, position, "stream \(event.stream) has version \(event.version), expected \(expectedVersion)")
                    }
                    lastVersions[event.stream] = event.version
                    try checkIndexes(of: event)
                    previousHash = event.hash
                    previousTime = event.recordedAt
                } catch let error as EventLogError {
                    if case let .corruptRecord(_, reason) = error, reason.contains("hash does not match") {
                        note(.hashMismatch, position, reason)
                    } else {
                        note(.undecodable, position, error.description)
                    }
                    previousHash = nil
                }
                if checked % Self.progressEveryEvents == 0 { progress?(checked, head.position) }
                entry = try cursor.next()
            }
        }
        try checkIndexCounts(events: checked)
        progress?(checked, head.position)
        return VerifyReport(head: head, eventsChecked: checked, streamsSeen: lastVersions.count,
                            problems: problems.sorted { ($0.position ?? .max) < ($1.position ?? .max) })
    }

    private mutating func checkIndexes(of event: RecordedEvent) throws {
        let position = event.position
        let txn = queries.txn
        if let stream = try queries.number(of: .stream, event.stream.rawValue) {
            let stored = try txn.get(schema.streams, key: Key.pair(stream, event.version)).map { Key.readU64($0) }
            if stored != position { note(.indexMismatch, position, "streams index has \(stored.map(String.init) ?? "nothing") for \(event.stream)@\(event.version)") }
        } else {
            note(.indexMismatch, position, "stream \(event.stream) has no number")
        }
        let byId = try queries.position(ofEventId: event.eventId)
        if byId != position { note(.indexMismatch, position, "eventIds index has \(byId.map(String.init) ?? "nothing") for \(event.eventId)") }
        try checkKeyed(.type, event.type, db: schema.byType, position: position)
        try checkKeyed(.actor, event.metadata.actor, db: schema.byActor, position: position)
        if try txn.get(schema.byCorrelation, key: Key.uuidPosition(event.metadata.correlationId, position)) == nil {
            note(.indexMismatch, position, "byCorrelation index lacks \(event.metadata.correlationId)")
        }
    }

    private mutating func checkKeyed(_ kind: LogSchema.NameKind, _ name: String, db: Database, position: UInt64) throws {
        guard let number = try queries.number(of: kind, name),
              try queries.txn.get(db, key: Key.pair(number, position)) != nil else {
            note(.indexMismatch, position, "\(db.name) index lacks \(name)")
            return
        }
    }

    private mutating func checkIndexCounts(events: Int) throws {
        for db in schema.indexes {
            let count = try queries.txn.count(db)
            if count != events { note(.indexCount, nil, "\(db.name) holds \(count) entries for \(events) events") }
        }
    }
}
