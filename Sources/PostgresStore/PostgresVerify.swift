import EventStore
import Foundation
import NIOCore
import PostgresNIO

extension PostgresLog {
    /// Walks the whole log in position order: every record decodes and its
    /// hash matches its bytes, positions are gapless, each record names the
    /// hash before it, time strictly increases, stream versions are contiguous
    /// and every back-pointer names the previous event of its stream, actor and
    /// type; each write's row agrees with its records (names, end, time), each
    /// record's id names its position, and the chain and head tables agree
    /// with what the walk found (the chains' rows as of their mark:
    /// `keepChains`).
    public func verify(progress: ((Int, UInt64) -> Void)? = nil) async throws -> VerifyReport {
        // The head, the ids stored up to it, the chains' mark and rows, in one snapshot (one statement); the walk goes up
        // to that head, past the mark (nodes may append meanwhile, and begin chains: a chain's row commits with its first
        // record).
        let rows = try await run { client in
            try await client.query(
                """
                SELECT h.position, h.hash, h.recorded_at, (SELECT count(*) FROM emporium_event_ids), m.position,
                    c.kind, c.name, c.count, c.last
                FROM emporium_log_head AS h CROSS JOIN emporium_chains_mark AS m LEFT JOIN emporium_chains AS c ON true
                """, logger: options.logger)
        }
        var head = LogHead.empty
        var (idsStored, mark): (Int64, UInt64) = (0, 0)
        var chainsStored: [(kind: Int16, name: String, count: UInt64, last: UInt64)] = []
        for try await (position, hash, recordedAt, ids, marked, kind, name, count, last)
            in rows.decode((Int64, ByteBuffer, Int64?, Int64, Int64, Int16?, String?, Int64?, Int64?).self)
        {
            head = LogHead(
                position: UInt64(position), hash: Digest(bytes: Array(hash.readableBytesView)),
                recordedAt: recordedAt.map(Timestamp.init(nanosecondsSinceEpoch:)))
            (idsStored, mark) = (ids, UInt64(marked))
            if let kind, let name, let count, let last { chainsStored.append((kind, name, UInt64(count), UInt64(last))) }
        }
        var problems: [VerifyProblem] = []
        func note(_ kind: VerifyProblem.Kind, _ position: UInt64?, _ detail: String) {
            if problems.count < EventLog.verifyProblemsMax {
                problems.append(VerifyProblem(kind: kind, position: position, detail: detail))
            }
        }
        var previous = LogHead.empty
        var streams: [String: ChainSeen] = [:]
        var streamsAtMark = streams
        var actors: [String: ChainSeen] = [:]
        var types: [String: ChainSeen] = [:]
        var (actorsAtMark, typesAtMark) = (actors, types)
        var checked = 0
        var next: Int64 = 1
        while UInt64(next) <= head.position {
            // A page of writes, record by record, with the position its id names.
            let rows = try await run { client in
                try await client.query(
                    """
                    SELECT w.first, w.last, w.recorded_at, cardinality(w.records), w.first + u.ord - 1, u.s, u.ty, u.ac, u.rec,
                        i.position
                    FROM (SELECT * FROM emporium_writes WHERE first >= \(next) AND first <= \(Int64(head.position))
                          ORDER BY first LIMIT 100) AS w
                    CROSS JOIN LATERAL UNNEST(w.streams, w.types, w.actors, w.records) WITH ORDINALITY AS u(s, ty, ac, rec, ord)
                    LEFT JOIN emporium_event_ids AS i ON i.event_id = CAST(encode(substr(u.rec, 31, 16), 'hex') AS uuid)
                    ORDER BY w.first, u.ord
                    """, logger: options.logger)
            }
            var any = false
            for try await (first, last, writeTime, count, position, stream, type, actor, record, idPosition)
                in rows.decode((Int64, Int64, Int64, Int64, Int64, String?, String?, String?, ByteBuffer?, Int64?).self)
            {
                any = true
                let position = UInt64(position)
                next = last + 1
                if position != previous.position + 1 {
                    note(.positionGap, previous.position + 1, "the next stored position is \(position)")
                }
                guard let record else {
                    note(.indexMismatch, position, "the write at \(first) holds fewer records than names")
                    continue
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
                let seen = streams[event.stream.rawValue] ?? ChainSeen(begunIn: first)
                if event.version != seen.count + 1 {
                    note(.versionGap, position, "\(event.stream) version \(event.version) after \(seen.count)")
                }
                let seenActor = actors[event.metadata.actor] ?? ChainSeen(begunIn: first)
                let seenType = types[event.type] ?? ChainSeen(begunIn: first)
                if event.links != ChainLinks(stream: seen.last, actor: seenActor.last, type: seenType.last) {
                    note(
                        .chainMismatch, position,
                        "back-pointers \(event.links) do not name the previous events of its stream, actor and type")
                }
                if stream != event.stream.rawValue || type != event.type || actor != event.metadata.actor
                    || UInt64(first) + UInt64(count) - 1 != UInt64(last)
                    || (position == UInt64(last) && writeTime != event.recordedAt.nanosecondsSinceEpoch)
                {
                    note(.indexMismatch, position, "the write's row at \(first) differs from its records")
                }
                if idPosition.map(UInt64.init) != position {
                    note(.indexMismatch, position, "the event id \(event.eventId) names \(idPosition.map(String.init) ?? "no position")")
                }
                streams[event.stream.rawValue] = seen.extended(to: position, inWrite: first)
                actors[event.metadata.actor] = seenActor.extended(to: position, inWrite: first)
                types[event.type] = seenType.extended(to: position, inWrite: first)
                if position == mark { (streamsAtMark, actorsAtMark, typesAtMark) = (streams, actors, types) }
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
        if UInt64(idsStored) != head.position {
            note(.indexCount, nil, "\(idsStored) event ids stored, \(head.position) records")
        }
        for chain in chainsStored {
            // A row counts its records up to the mark and names the newest of them; one begun past the mark counts those of
            // the write that began it (a log of schema 5: none) and names the newest of them.
            let (atMark, seen) =
                switch chain.kind {
                case 0: (streamsAtMark, streams)
                case 1: (actorsAtMark, actors)
                case 2: (typesAtMark, types)
                default: ([String: ChainSeen](), [String: ChainSeen]())
                }
            let expected = atMark[chain.name]
            let holds =
                if let expected { expected.count == chain.count && expected.last == chain.last } else {
                    seen[chain.name].map { seen in
                        chain.count == 0
                            ? seen.first <= chain.last && chain.last <= seen.last
                            : chain.count == seen.inBegun.count && chain.last == seen.inBegun.last
                    } == true
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
        if chains != streams.count + actors.count + types.count {
            note(
                .indexCount, nil,
                "\(chains) stream, actor and type chains stored, \(streams.count + actors.count + types.count) found in the records")
        }
        progress?(checked, head.position)
        return VerifyReport(head: head, eventsChecked: checked, streamsSeen: streams.count, problems: problems)
    }
}

/// A chain as a walk of the records finds it: its records so far, and those of the write that began it.
private struct ChainSeen {
    /// The first position of the write that began the chain.
    let begunIn: Int64
    private(set) var first: UInt64 = 0
    private(set) var count: UInt64 = 0
    private(set) var last: UInt64 = 0
    private(set) var inBegun: (count: UInt64, last: UInt64) = (0, 0)

    init(begunIn: Int64) { self.begunIn = begunIn }

    /// The chain with the record at `position`, of the write beginning at `write`, added.
    func extended(to position: UInt64, inWrite write: Int64) -> ChainSeen {
        var chain = self
        if chain.count == 0 { chain.first = position }
        chain.count += 1
        chain.last = position
        if write == begunIn { chain.inBegun = (chain.count, position) }
        return chain
    }
}
