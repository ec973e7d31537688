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
    /// head tables with what the walk found.
    public func verify(progress: ((Int, UInt64) -> Void)? = nil) async throws -> VerifyReport {
        let head = try await head()
        var problems: [VerifyProblem] = []
        func note(_ kind: VerifyProblem.Kind, _ position: UInt64?, _ detail: String) {
            if problems.count < EventLog.verifyProblemsMax {
                problems.append(VerifyProblem(kind: kind, position: position, detail: detail))
            }
        }
        var previous = LogHead.empty
        var streams: [String: (version: UInt64, last: UInt64)] = [:]
        var actors: [String: (count: UInt64, last: UInt64)] = [:]
        var types: [String: (count: UInt64, last: UInt64)] = [:]
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
                let seenActor = actors[event.metadata.actor] ?? (0, 0)
                let seenType = types[event.type] ?? (0, 0)
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
                actors[event.metadata.actor] = (seenActor.count + 1, position)
                types[event.type] = (seenType.count + 1, position)
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
        let chainRows = try await run { client in
            try await client.query("SELECT kind, name, count, last FROM emporium_chains", logger: options.logger)
        }
        var chains = 0
        for try await (kind, name, count, last) in chainRows.decode((Int16, String, Int64, Int64).self) {
            chains += 1
            // Actors' and types' chains (a stream's is its newest row: checked by the walk).
            let found: (UInt64, UInt64)? = kind == 1 ? actors[name] : kind == 2 ? types[name] : nil
            if found.map({ $0.0 != UInt64(count) || $0.1 != UInt64(last) }) ?? true {
                note(
                    .indexCount, nil,
                    "chain \(kind) \(name) says \(count) events ending at \(last); the records say \(found.map { "\($0.0) ending at \($0.1)" } ?? "none")"
                )
            }
        }
        if chains != actors.count + types.count {
            note(.indexCount, nil, "\(chains) actor and type chains stored, \(actors.count + types.count) found in the records")
        }
        progress?(checked, head.position)
        return VerifyReport(head: head, eventsChecked: checked, streamsSeen: streams.count, problems: problems)
    }
}
