import EventStore
import Foundation
import NIOCore
import PostgresNIO

extension PostgresLog {
    /// Walks the whole log in position order: every record decodes and its
    /// hash matches its bytes, positions are gapless, each record names the
    /// hash before it, time strictly increases, stream versions are contiguous
    /// and every back-pointer names the previous event of its stream, actor and
    /// type; the columns beside each record agree with it, and the chain and
    /// head tables with what the walk found (the chains' rows as of their mark:
    /// `keepChains`).
    public func verify(progress: ((Int, UInt64) -> Void)? = nil) async throws -> VerifyReport {
        // The chains' rows and their mark first, in one snapshot, then the head: the walk goes past the mark.
        let chainRows = try await run { client in
            try await client.query(
                "SELECT m.position, c.kind, c.name, c.count, c.last FROM emporium_chains_mark AS m LEFT JOIN emporium_chains AS c ON true",
                logger: options.logger)
        }
        var mark: UInt64 = 0
        var chainsStored: [(kind: Int16, name: String, count: UInt64, last: UInt64)] = []
        for try await (position, kind, name, count, last) in chainRows.decode((Int64, Int16?, String?, Int64?, Int64?).self) {
            mark = UInt64(position)
            if let kind, let name, let count, let last { chainsStored.append((kind, name, UInt64(count), UInt64(last))) }
        }
        let head = try await head()
        var problems: [VerifyProblem] = []
        func note(_ kind: VerifyProblem.Kind, _ position: UInt64?, _ detail: String) {
            if problems.count < EventLog.verifyProblemsMax {
                problems.append(VerifyProblem(kind: kind, position: position, detail: detail))
            }
        }
        var previous = LogHead.empty
        var streams: [String: (version: UInt64, last: UInt64)] = [:]
        var actors: [String: ChainSeen] = [:]
        var types: [String: ChainSeen] = [:]
        var (actorsAtMark, typesAtMark) = (actors, types)
        var checked = 0
        var next: Int64 = 1
        while UInt64(next) <= head.position {
            let rows = try await run { client in
                try await client.query(
                    """
                    SELECT position, event_id, stream, version, type, actor, correlation_id, recorded_at, record
                    FROM emporium_events WHERE position >= \(next) ORDER BY position LIMIT 1000
                    """, logger: options.logger)
            }
            var any = false
            for try await (position, eventId, stream, version, type, actor, correlation, recordedAt, record)
                in rows.decode((Int64, UUID, String, Int64, String, String, UUID, Int64, ByteBuffer).self)
            {
                any = true
                let position = UInt64(position)
                next = Int64(position) + 1
                if position != previous.position + 1 {
                    note(.positionGap, previous.position + 1, "the next stored position is \(position)")
                }
                let event: RecordedEvent
                do {
                    event = try Self.decode(record, position: position, verifyHash: true)
                } catch {
                    note(error.code == "corrupt_record" && "\(error)".contains("hash") ? .hashMismatch : .undecodable, position, "\(error)")
                    previous = LogHead(position: position, hash: .zero, recordedAt: nil)
                    continue
                }
                if event.previousHash != previous.hash {
                    note(.brokenChain, position, "names \(event.previousHash.hex), the record before hashes to \(previous.hash.hex)")
                }
                if let before = previous.recordedAt, event.recordedAt <= before {
                    note(.timeNotIncreasing, position, "\(event.recordedAt) after \(before)")
                }
                let seen = streams[event.stream.rawValue] ?? (0, 0)
                if event.version != seen.version + 1 {
                    note(.versionGap, position, "\(event.stream) version \(event.version) after \(seen.version)")
                }
                let seenActor = actors[event.metadata.actor] ?? ChainSeen(first: position, count: 0, last: 0)
                let seenType = types[event.type] ?? ChainSeen(first: position, count: 0, last: 0)
                if event.links != ChainLinks(stream: seen.last, actor: seenActor.last, type: seenType.last) {
                    note(
                        .chainMismatch, position,
                        "back-pointers \(event.links) do not name the previous events of its stream, actor and type")
                }
                if eventId != event.eventId || stream != event.stream.rawValue || UInt64(version) != event.version || type != event.type
                    || actor != event.metadata.actor || correlation != event.metadata.correlationId
                    || recordedAt != event.recordedAt.nanosecondsSinceEpoch
                {
                    note(.indexMismatch, position, "the indexed columns differ from the record")
                }
                streams[event.stream.rawValue] = (event.version, position)
                actors[event.metadata.actor] = ChainSeen(first: seenActor.first, count: seenActor.count + 1, last: position)
                types[event.type] = ChainSeen(first: seenType.first, count: seenType.count + 1, last: position)
                if position == mark { (actorsAtMark, typesAtMark) = (actors, types) }
                previous = LogHead(position: position, hash: event.hash, recordedAt: event.recordedAt)
                checked += 1
                if checked % 10_000 == 0 { progress?(checked, head.position) }
            }
            if !any { break }
        }
        if previous.position != head.position || previous.hash != head.hash {
            note(
                .brokenChain, head.position,
                "the head row says \(head.position) \(head.hash.hex); the records end at \(previous.position) \(previous.hash.hex)")
        }
        if mark > previous.position {
            note(.indexCount, mark, "the chains are kept up to \(mark), past the records' end at \(previous.position)")
        }
        for chain in chainsStored {
            // Actors' and types' chains (a stream's is its newest row: checked by the walk). A row counts its records up to
            // the mark and names the newest of them; one begun past the mark counts none and names one of its records.
            let (atMark, seen) = chain.kind == 1 ? (actorsAtMark, actors) : chain.kind == 2 ? (typesAtMark, types) : ([:], [:])
            let expected = atMark[chain.name]
            let holds =
                if let expected { expected.count == chain.count && expected.last == chain.last } else {
                    chain.count == 0 && seen[chain.name].map { $0.first <= chain.last && chain.last <= $0.last } == true
                }
            if !holds {
                let found = seen[chain.name].map { "\($0.count) ending at \($0.last)" } ?? "none"
                let kept = expected.map { "\($0.count) ending at \($0.last)" } ?? "none"
                note(
                    .indexCount, nil,
                    "chain \(chain.kind) \(chain.name) says \(chain.count) events ending at \(chain.last); the records say \(kept) up to the chains' mark \(mark), \(found) in all"
                )
            }
        }
        let chains = chainsStored.count
        if chains != actors.count + types.count {
            note(.indexCount, nil, "\(chains) actor and type chains stored, \(actors.count + types.count) found in the records")
        }
        progress?(checked, head.position)
        return VerifyReport(head: head, eventsChecked: checked, streamsSeen: streams.count, problems: problems)
    }
}

/// An actor's or type's chain as a walk of the records finds it.
private struct ChainSeen {
    let first: UInt64
    let count: UInt64
    let last: UInt64
}
