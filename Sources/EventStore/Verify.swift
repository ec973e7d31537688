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
        case chainMismatch = "chain_mismatch"
        /// A redo entry whose checksum holds but whose records are not the log's (or do not continue it).
        case redoMismatch = "redo_mismatch"
    }

    public var kind: Kind

    /// Index and chain problems follow from damaged records; the records' own problems are named first.
    var isDerived: Bool { kind == .indexMismatch || kind == .indexCount || kind == .chainMismatch }

    /// The first position the problem shows at (nil for whole-index problems).
    public var position: UInt64?
    public var detail: String

    public var description: String {
        "\(kind.rawValue)\(position.map { " at position \($0)" } ?? ""): \(detail)"
    }

    package init(kind: Kind, position: UInt64?, detail: String) {
        self.kind = kind
        self.position = position
        self.detail = detail
    }
}

public struct VerifyReport: Sendable {
    public var head: LogHead
    public var eventsChecked: Int
    public var streamsSeen: Int
    /// In log order; the first is the earliest broken position.
    public var problems: [VerifyProblem]
    /// Records the redo file holds past the head: a power loss took them from LMDB, and the next writable open
    /// re-applies them (on a log open for writing, the commit in flight).
    public var redoRecordsAhead = 0
    public var isHealthy: Bool { problems.isEmpty }
    public var firstProblem: VerifyProblem? { problems.first }

    package init(head: LogHead, eventsChecked: Int, streamsSeen: Int, problems: [VerifyProblem]) {
        self.head = head
        self.eventsChecked = eventsChecked
        self.streamsSeen = streamsSeen
        self.problems = problems
    }
}

extension EventLog {
    /// Problems beyond this many are not listed (the first one is what matters).
    public static let verifyProblemsMax = 100

    /// Walks one snapshot of the whole log: hash chain, gapless positions,
    /// contiguous stream versions, strictly increasing time, every record
    /// decodes, and every secondary index agrees with the log both ways; then the
    /// redo file: each whole entry's records are the log's, or continue it.
    /// `progress` is called with (checked, total) now and then.
    public func verify(progress: ((Int, UInt64) -> Void)? = nil) throws -> VerifyReport {
        // Read before the snapshot is taken: an entry of a commit still in flight is then at most one commit ahead.
        let redo = try RedoLog.entries(in: directory)
        return try query { queries in
            var verifier = Verifier(queries: queries, progress: progress)
            var report = try verifier.run()
            report.redoRecordsAhead = try verifier.checkRedo(redo, head: report.head)
            report.problems = verifier.problems.sorted {
                ($0.isDerived ? 1 : 0, $0.position ?? .max) < ($1.isDerived ? 1 : 0, $1.position ?? .max)
            }
            return report
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

    /// What the walk has seen of each chain so far.
    var chains: [ChainKey: ChainHead] = [:]
    var numbers: [String: UInt64] = [:]

    mutating func run() throws -> VerifyReport {
        let head = try queries.head()
        var expectedPosition: UInt64 = 1
        var previousHash: Digest? = .zero
        var previousTime: Timestamp?
        var checked = 0
        var streams = 0
        try queries.txn.withCursor(schema.events) { cursor in
            var entry = try cursor.first()
            var names = RecentNames.forScan()
            while let current = entry {
                let position = Key.readU64(current.key)
                if position != expectedPosition {
                    note(.positionGap, expectedPosition, "expected position \(expectedPosition), found \(position)")
                    previousHash = nil
                }
                expectedPosition = position + 1
                checked += 1
                do {
                    let event = try RecordCodec.decode(current.value, position: position, verifyHash: true, names: &names)
                    if let previousHash, event.previousHash != previousHash {
                        note(
                            .brokenChain, position,
                            "previous hash \(event.previousHash.hex.prefix(16))… does not match the record before (\(previousHash.hex.prefix(16))…)"
                        )
                    }
                    if let previousTime, event.recordedAt <= previousTime {
                        note(.timeNotIncreasing, position, "recordedAt \(event.recordedAt) is not after \(previousTime)")
                    }
                    if try follow(.stream, event.stream.rawValue, event: event) == 1 { streams += 1 }
                    try follow(.actor, event.metadata.actor, event: event)
                    try follow(.type, event.type, event: event)
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
        try checkChainHeads()
        try checkIndexCounts(events: checked)
        progress?(checked, head.position)
        return VerifyReport(
            head: head, eventsChecked: checked, streamsSeen: streams,
            problems: problems.sorted { ($0.isDerived ? 1 : 0, $0.position ?? .max) < ($1.isDerived ? 1 : 0, $1.position ?? .max) })
    }

    /// Each whole entry's records (decoded with their own hashes, each following the one before) are, at or below the
    /// head, the stored records, and past it continue the head. Returns how many records are past the head.
    mutating func checkRedo(_ entries: [RedoLog.Entry], head: LogHead) throws -> Int {
        var ahead = 0
        var hashes: [UInt64: Digest] = [:]
        for entry in entries.sorted(by: { $0.firstPosition < $1.firstPosition }) {
            let file = RedoLog.slotFileNames[entry.slot]
            for record in entry.records {
                let position = record.position
                if position <= head.position {
                    let stored = try queries.event(at: position)?.hash
                    if stored != record.hash { note(.redoMismatch, position, "\(file) holds a record that is not the log's") }
                } else {
                    let expected = position == head.position + 1 ? head.hash : hashes[position - 1]
                    if record.previousHash != expected {
                        note(.redoMismatch, position, "\(file): the record does not continue the log at its head \(head.position)")
                        break
                    }
                    ahead += 1
                }
                hashes[position] = record.hash
            }
        }
        return ahead
    }

    /// Checks the event's place in one chain (back-pointer, stream version,
    /// block anchor) and returns its ordinal there.
    @discardableResult
    private mutating func follow(_ kind: LogSchema.NameKind, _ name: String, event: RecordedEvent) throws -> UInt64 {
        let position = event.position
        let cacheKey = "\(kind.rawValue):\(name)"
        guard let number = try numbers[cacheKey] ?? queries.number(of: kind, name) else {
            note(.chainMismatch, position, "\(kind) \(name) has no number")
            return 0
        }
        numbers[cacheKey] = number
        let chain = ChainKey(kind: kind, number: number)
        let seen = chains[chain] ?? ChainHead(count: 0, last: 0)
        let ordinal = seen.count + 1
        if event.links[kind] != seen.last {
            note(.chainMismatch, position, "\(kind) \(name) points back to \(event.links[kind]), its previous event is at \(seen.last)")
        }
        if kind == .stream, event.version != ordinal {
            note(.versionGap, position, "stream \(name) has version \(event.version), expected \(ordinal)")
        }
        if (ordinal - 1) % LogSchema.chainBlockEvents == 0 {
            let anchor = try queries.txn.get(schema.chains, key: chain.anchorKey(block: ChainHead.block(ofOrdinal: ordinal))).map {
                Key.readU64($0)
            }
            if anchor != position {
                note(
                    .chainMismatch, position,
                    "\(kind) \(name) block \(ChainHead.block(ofOrdinal: ordinal)) is anchored at \(anchor.map(String.init) ?? "nothing")")
            }
        }
        chains[chain] = ChainHead(count: ordinal, last: position)
        return ordinal
    }

    private mutating func checkIndexes(of event: RecordedEvent) throws {
        let position = event.position
        let byId = try queries.position(ofEventId: event.eventId)
        if byId != position {
            note(.indexMismatch, position, "eventIds index has \(byId.map(String.init) ?? "nothing") for \(event.eventId)")
        }
        if try queries.txn.get(schema.byCorrelation, key: Key.uuidPosition(event.metadata.correlationId, position)) == nil {
            note(.indexMismatch, position, "byCorrelation index lacks \(event.metadata.correlationId)")
        }
    }

    /// Every chain head matches the walk, and `chains` holds nothing else.
    private mutating func checkChainHeads() throws {
        var anchors = 0
        for (chain, seen) in chains {
            let stored = try queries.chainHead(chain)
            if stored != seen {
                note(
                    .chainMismatch, seen.last,
                    "\(chain.kind) chain \(chain.number) head is \(stored.map { "\($0.count)@\($0.last)" } ?? "missing"), the log says \(seen.count)@\(seen.last)"
                )
            }
            anchors += Int(ChainHead.block(ofOrdinal: seen.count) + 1)
        }
        let entries = try queries.txn.count(schema.chains)
        if entries != chains.count + anchors {
            note(.indexCount, nil, "chains holds \(entries) entries; the log needs \(chains.count) heads and \(anchors) anchors")
        }
    }

    private mutating func checkIndexCounts(events: Int) throws {
        for db in schema.perEventIndexes {
            let count = try queries.txn.count(db)
            if count != events { note(.indexCount, nil, "\(db.name) holds \(count) entries for \(events) events") }
        }
    }
}
