import EventStore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// One append transaction as it is built: the head (locked), the chains and
/// event ids the batch touches, and the rows placed so far (and the actors'
/// and types' chains they begin, whose rows the write inserts). Placing an append
/// checks it against what earlier appends of the same batch placed, exactly
/// as the LMDB writer applies a batch one append at a time.
struct AppendPlan {
    /// A chain's length and newest position. A stream's count is its version; an actor's or type's is not used. Read
    /// under the head's lock, after keeping the chains up to it, or known by the node from its own writes.
    struct Chain: Equatable {
        var count: UInt64
        var last: UInt64
    }

    struct ChainKey: Hashable {
        /// 0 stream, 1 actor, 2 type: each chain's row counts it up to the chains' mark (`emporium_keep_chains`), or, when
        /// begun past it, up to the newest record of the write that began it.
        let kind: Int16
        let name: String
        /// The name's hash, taken once: a key is looked up five to seven times between the plan, its placing and what the
        /// node knows, and hashing the name each time was a twentieth of a node's CPU (64 appenders, `perf record`).
        private let hashed: Int

        init(kind: Int16, name: String) {
            self.kind = kind
            self.name = name
            self.hashed = name.hashValue
        }

        var isStream: Bool { kind == 0 }

        static func == (lhs: Self, rhs: Self) -> Bool { lhs.hashed == rhs.hashed && lhs.kind == rhs.kind && lhs.name == rhs.name }

        func hash(into hasher: inout Hasher) {
            hasher.combine(hashed)
            hasher.combine(kind)
        }
    }

    struct Row {
        let event: ProposedEvent
        let position: UInt64
        let stream: StreamName
        let version: UInt64
        let recordedAt: Timestamp
        let record: [UInt8]
        /// The same record, decoded (handed to the node's replica, which need not read it back).
        let recorded: RecordedEvent
    }

    private(set) var head: LogHead
    /// The head the plan started from.
    let start: LogHead
    private(set) var chains: [ChainKey: Chain]
    /// Every event id of the batch already stored (before it, or placed by it): where, in which stream, at which version.
    private var stored: [UUID: (position: UInt64, stream: StreamName, version: UInt64)]
    private(set) var rows: [Row] = []
    /// Chains the rows begin (streams, actors and types): no row of theirs exists (the write checks, when it was taken from
    /// what the node knows), and the write inserts it.
    private(set) var begun: Set<ChainKey> = []

    /// Locks the head, keeps the chains up to it, then reads what the batch's appends are checked against: the statements
    /// sent at once, one round trip under the lock. PostgreSQL runs the read once the lock is held, and takes its snapshot
    /// then, so it reads what the previous holder committed.
    static func load(_ appends: [StreamAppend], connection: PostgresConnection, logger: Logger) async throws -> AppendPlan {
        let events = appends.flatMap(\.events)
        let ids = events.map(\.eventId)
        let streams = Array(Set(appends.map(\.stream.rawValue)))
        let actors = Array(Set(events.map(\.metadata.actor)))
        let types = Array(Set(events.map(\.type)))
        let locked: EventLoopFuture<PostgresQueryResult> = connection.query(
            "SELECT position, hash, recorded_at FROM emporium_log_head FOR UPDATE", logger: logger)
        let kept: EventLoopFuture<PostgresQueryResult> = connection.query("SELECT emporium_keep_chains(true)", logger: logger)
        // The batch's event ids already stored (with their records, which name their streams and versions), and the chains
        // it extends.
        let read: EventLoopFuture<PostgresQueryResult> = connection.query(
            """
            SELECT 0::smallint, i.position, \(unescaped: PostgresLog.recordAt("i")), NULL, NULL FROM emporium_event_ids AS i
            WHERE i.event_id = ANY(\(ids))
            UNION ALL
            SELECT (kind + 1)::smallint, count, NULL, name, last FROM emporium_chains
            WHERE (kind = 0 AND name = ANY(\(streams))) OR (kind = 1 AND name = ANY(\(actors))) OR (kind = 2 AND name = ANY(\(types)))
            """, logger: logger)
        var head = LogHead.empty
        for row in try await locked.get().rows {
            let (position, hash, recordedAt) = try row.decode((Int64, ByteBuffer, Int64?).self)
            head = LogHead(
                position: UInt64(position), hash: Digest(bytes: Array(hash.readableBytesView)),
                recordedAt: recordedAt.map(Timestamp.init(nanosecondsSinceEpoch:)))
        }
        _ = try await kept.get()
        var stored: [UUID: (UInt64, StreamName, UInt64)] = [:]
        var chains: [ChainKey: Chain] = [:]
        for row in try await read.get().rows {
            let (part, number, record, name, other) = try row.decode((Int16, Int64, ByteBuffer?, String?, Int64?).self)
            if part == 0, let record {
                let event = try PostgresLog.decode(record, position: UInt64(number))
                stored[event.eventId] = (event.position, event.stream, event.version)
            } else if let name, let other {
                chains[ChainKey(kind: part - 1, name: name)] = Chain(count: UInt64(number), last: UInt64(other))
            }
        }
        return AppendPlan(head: head, start: head, chains: chains, stored: stored)
    }

    /// A plan on what this node knew after its last commit (`head`, and the chains it had read or moved): no read, and
    /// every chain it does not know is taken to be new (`begun`). `writeIfCurrent` writes it
    /// as placed only when that was all still true, and only when the node's knowledge is `exact` (no write of it placed
    /// differently since, or refused, with writes behind it in flight); otherwise PostgreSQL places it again on the head as
    /// it is (`emporium_rebase`).
    init(
        cached head: LogHead, exact: Bool, streams: KnownChains<String>, names: KnownChains<ChainKey>, for appends: [StreamAppend]
    ) {
        self.init(cached: head, exact: exact)
        know(appends, streams: streams, names: names)
    }

    /// A plan on what this node knew after its last commit that knows no chain yet: `know` adds those of the appends to be
    /// placed on it.
    init(cached head: LogHead, exact: Bool) {
        self.head = head
        self.start = head
        self.exact = exact
        self.chains = [:]
        self.stored = [:]
    }

    /// Adds what the node knows (`streams`, `names`: its knowledge at the plan's start) of the chains `appends` extend,
    /// before they are placed. Each key looked up once in what the node knows, however many events share it; a chain
    /// the node does not know is left out: placing begins it.
    mutating func know(_ appends: [StreamAppend], streams: KnownChains<String>, names: KnownChains<ChainKey>) {
        if chains.isEmpty { chains.reserveCapacity(appends.reduce(1) { $0 + 2 * $1.events.count }) }
        func look(_ key: ChainKey) {
            guard chains[key] == nil else { return }  // known, or placed by this plan already
            if let chain = key.isStream ? streams[key.name] : names[key] {
                chains[key] = chain
            }
        }
        for append in appends {
            look(ChainKey(kind: 0, name: append.stream.rawValue))
            for event in append.events {
                look(ChainKey(kind: 1, name: event.metadata.actor))
                look(ChainKey(kind: 2, name: event.type))
            }
        }
    }

    private init(
        head: LogHead, start: LogHead, chains: [ChainKey: Chain], stored: [UUID: (position: UInt64, stream: StreamName, version: UInt64)]
    ) {
        self.head = head
        self.start = start
        self.exact = true
        self.chains = chains
        self.stored = stored
    }

    /// Whether the plan starts from what the node knows to be exact: only then may it be written as placed.
    let exact: Bool
    /// Whether the write notifies listeners of the new head at commit (not when no one but the writing node listens:
    /// `PostgresLog.othersListen`).
    var notifies = true

    /// Places one append after everything placed before it, or says why it cannot be (and then places nothing).
    mutating func place(_ appends: [StreamAppend], clock: any LogClock) throws(EventLogError) -> AppendResult {
        if let result = try alreadyStored(appends) { return result }
        for append in appends {
            let known = chains[ChainKey(kind: 0, name: append.stream.rawValue)]?.count
            let current = assumedVersion(append, known: known) ?? known
            guard append.expected.isSatisfied(byCurrent: current) else {
                throw .wrongExpectedVersion(stream: append.stream, expected: append.expected, current: current)
            }
        }
        var positions: [UInt64] = []
        var results: [StreamAppendResult] = []
        for append in appends {
            let streamKey = ChainKey(kind: 0, name: append.stream.rawValue)
            var first = (chains[streamKey]?.count ?? 0) + 1
            if let assumed = assumedVersion(append, known: first - 1) {
                chains[streamKey] = Chain(count: assumed, last: 0)  // its newest position is PostgreSQL's to find
                first = assumed + 1
            }
            var last = first
            for event in append.events {
                let position = head.position + 1
                let stream = extend(streamKey, to: position)
                let links = ChainLinks(
                    stream: stream.previous, actor: extend(ChainKey(kind: 1, name: event.metadata.actor), to: position).previous,
                    type: extend(ChainKey(kind: 2, name: event.type), to: position).previous)
                let version = stream.count
                last = version
                let now = event.recordedAt ?? clock.now()
                let recordedAt = head.recordedAt.map { max(now, Timestamp(nanosecondsSinceEpoch: $0.nanosecondsSinceEpoch + 1)) } ?? now
                let placement = RecordCodec.Placement(
                    position: position, version: version, recordedAt: recordedAt, previousHash: head.hash, links: links)
                var record = [UInt8](repeating: 0, count: RecordCodec.encodedSize(of: event, stream: append.stream))
                let hash = record.withUnsafeMutableBytes {
                    RecordCodec.encode(event, stream: append.stream, placement: placement, into: $0)
                }
                rows.append(
                    Row(
                        event: event, position: position, stream: append.stream, version: version, recordedAt: recordedAt, record: record,
                        recorded: RecordedEvent(event, stream: append.stream, placement: placement, hash: hash)))
                stored[event.eventId] = (position, append.stream, version)
                head = LogHead(position: position, hash: hash, recordedAt: recordedAt)
                positions.append(position)
            }
            results.append(StreamAppendResult(stream: append.stream, firstVersion: first, lastVersion: last))
        }
        return AppendResult(positions: positions, streams: results, wasAlreadyStored: false)
    }

    /// The version a stream stands at, taken from what `append` expects, when the plan knows it at none or at an older
    /// one (`known`) and is not `exact`: PostgreSQL places such a write again whatever it finds (`emporium_rebase`),
    /// linking each stream's first record of it to the stream's newest and writing nothing unless that stream stands at
    /// the version placed before it (`Schema.placingAgain`'s `fits`). So an append with the version its command read, to
    /// an order another node began (or this one let go of) or to goods another node sold since, goes in the write as
    /// placed rather than under the lock (where it went when refused on what the node knew). An exact plan is written as
    /// placed when the head has not moved: it takes nothing on trust.
    private func assumedVersion(_ append: StreamAppend, known: UInt64?) -> UInt64? {
        guard !exact, case .exact(let version) = append.expected, version > (known ?? 0) else { return nil }
        return version
    }

    /// Adds `position` to a chain; returns the position it follows (0 for a new chain, which it then begins) and the
    /// chain's length with it. The key is hashed once when the chain is known (three chains an event).
    private mutating func extend(_ key: ChainKey, to position: UInt64) -> (previous: UInt64, count: UInt64) {
        guard let index = chains.index(forKey: key) else {
            chains[key] = Chain(count: 1, last: position)
            begun.insert(key)
            return (0, 1)
        }
        let chain = chains.values[index]
        chains.values[index] = Chain(count: chain.count + 1, last: position)
        return (chain.last, chain.count + 1)
    }

    /// When every event id is stored already, the stored result (a retry); when only some are, a rejection.
    private func alreadyStored(_ appends: [StreamAppend]) throws(EventLogError) -> AppendResult? {
        var found: [(position: UInt64, stream: StreamName, version: UInt64)] = []
        var storedId: UUID?
        var anyMissing = false
        for event in appends.lazy.flatMap(\.events) {
            if let where_ = stored[event.eventId] {
                found.append(where_)
                storedId = storedId ?? event.eventId
            } else {
                anyMissing = true
            }
        }
        guard let storedId else { return nil }
        if anyMissing { throw .partiallyStored(eventId: storedId) }
        var streams: [StreamAppendResult] = []
        for event in found {
            if let last = streams.indices.last, streams[last].stream == event.stream {
                streams[last].lastVersion = event.version
            } else {
                streams.append(StreamAppendResult(stream: event.stream, firstVersion: event.version, lastVersion: event.version))
            }
        }
        return AppendResult(positions: found.map(\.position), streams: streams, wasAlreadyStored: true)
    }

    /// Writes the placed records, their ids, the chains they begin and the head, and notifies followers (at commit), inside the
    /// transaction that locked the head and read what the plan stands on (so the statement's guard holds).
    func write(connection: PostgresConnection, logger: Logger) async throws {
        try await Self.written(send(connection: connection, logger: logger))
    }

    /// Sends what `write` sends, without waiting for its answer (so the statements after it go out at once).
    func send(connection: PostgresConnection, logger: Logger) -> EventLoopFuture<PostgresQueryResult>? {
        guard !rows.isEmpty else { return nil }
        let bound = bound(mayRebase: false, askingChains: false)
        var bindings = PostgresBindings(capacity: bound.count)
        for value in bound { bindings.append(value) }
        return connection.query(PostgresQuery(unsafeSQL: Self.writeIfCurrentSQL, binds: bindings), logger: logger)
    }

    /// Waits for a write `send` sent (none: nothing to write); it fails unless it wrote.
    static func written(_ sent: EventLoopFuture<PostgresQueryResult>?) async throws {
        guard let sent else { return }
        guard let written = Written(try await sent.get().rows.map { Array($0).map(\.bytes) }, events: 1), written.rebased == nil else {
            throw EventLogError.unavailable("the log head moved under this transaction's lock; nothing was written")
        }
    }

    /// What a write's statement answers when it wrote: the position of its first row and, when PostgreSQL placed the rows
    /// again on a head that had moved (`emporium_rebase`), the head after them and the actor and type chains they moved,
    /// as they stood then.
    struct Written: Sendable {
        let first: UInt64
        /// The head after the rows and the actors' and types' chains: those the rows moved, and when `covered`, every one
        /// the records after the plan's start extend (what the node knew of any other still holds).
        let rebased: (head: LogHead, names: [ChainKey: Chain], covered: Bool)?

        /// Read by hand from the statement's rows (kind, name, count or first position, last position or time, hash), cell
        /// by cell in binary (the writer connection asks libpq for binary results; the locked path's rows come from
        /// postgres-nio). Nil when no row says where the rows went (nothing was written).
        init?(_ rows: [[ByteBuffer?]], events: Int) {
            var first: UInt64?
            var head: LogHead?
            var names: [ChainKey: Chain] = [:]
            var covered = false
            for cells in rows {
                guard cells.count == 5, var kind = cells[0], let kind = kind.readInteger(as: Int16.self),
                    var a = cells[2], let a = a.readInteger(as: Int64.self).flatMap(UInt64.init(exactly:)),
                    var b = cells[3], let b = b.readInteger(as: Int64.self)
                else { return nil }
                if kind == -2 {
                    covered = true
                } else if kind < 0 {
                    first = a
                    if var hash = cells[4], let bytes = hash.readBytes(length: hash.readableBytes) {
                        head = LogHead(
                            position: a + UInt64(events) - 1, hash: Digest(bytes: bytes),
                            recordedAt: Timestamp(nanosecondsSinceEpoch: b))
                    }
                } else if var name = cells[1], let name = name.readString(length: name.readableBytes) {
                    names[ChainKey(kind: kind, name: name)] = Chain(count: a, last: UInt64(clamping: b))
                }
            }
            guard let first, first > 0 else { return nil }
            self.first = first
            self.rebased = head.map { ($0, names, covered) }
        }
    }

    /// Sends the plan in one statement of its own (its own commit) on the writer connection, at once and behind whatever
    /// was sent on it before (in the order given, on the wire before the ones ahead are answered); the answer's rows say
    /// whether and where it wrote (`Written`). It writes as placed when the head, once locked, is the one the plan started from
    /// (position and hash), the plan is `exact` and every chain it took to be new still is; otherwise PostgreSQL places
    /// it again on the head as it is (`emporium_rebase`), unless a stream of it moved (then it writes nothing). The start
    /// may be a head this node has not committed yet (a write it sent just before this one on the same connection, which
    /// PostgreSQL runs first): when that one was placed again or wrote nothing, this one is placed again too.
    func sendIfCurrent(on writer: PipelinedConnection, askingChains: Bool) -> PipelinedConnection.Reply {
        writer.execute(bound(mayRebase: true, askingChains: askingChains))
    }

    /// What a write binds, `$1` to `$21`: the records (the first's position, each's id, stream, version, type, actor and
    /// time, and its bytes), the chains they begin (taken to be new: checked; their newest positions, and at `$21` how many
    /// records of the write each holds), the new head, the notification's payload
    /// (empty: none is sent),
    /// the head the plan starts from (none, -1, when it is not `exact`), whether PostgreSQL may place the records again
    /// when the plan does not hold (not inside a transaction that locked the head and read what the plan stands on: there
    /// it holds), the head from which it should answer the chains written since (-1: none) and the links within the write.
    private func bound(mayRebase: Bool, askingChains: Bool) -> [PostgresData] {
        let begun = begun.map { (key: $0, chain: chains[$0] ?? Chain(count: 0, last: 0)) }
        return [
            Self.data(Int64(rows.first?.position ?? 0)), BinaryArray.uuid(rows.map(\.event.eventId)),
            BinaryArray.text(rows.map(\.stream.rawValue)), BinaryArray.int8(rows.map { Int64($0.version) }),
            BinaryArray.text(rows.map(\.event.type)), BinaryArray.text(rows.map(\.event.metadata.actor)),
            BinaryArray.int8(rows.map(\.recordedAt.nanosecondsSinceEpoch)), BinaryArray.bytea(rows.map(\.record)),
            BinaryArray.int2(begun.map(\.key.kind)), BinaryArray.text(begun.map(\.key.name)),
            BinaryArray.int8(begun.map { Int64($0.chain.last) }),
            Self.data(Int64(head.position)), Self.data(ByteBuffer(bytes: head.hash.bytes)),
            Self.data(head.recordedAt?.nanosecondsSinceEpoch ?? 0), Self.data(notifies ? String(head.position) : ""),
            Self.data(exact ? Int64(start.position) : -1), Self.data(ByteBuffer(bytes: start.hash.bytes)), Self.data(mayRebase),
            Self.data(askingChains ? Int64(start.position) : -1), BinaryArray.int8(withinLinks),
            BinaryArray.int8(begun.map { Int64($0.chain.count) }),
        ]
    }

    /// Which row of the write each row's stream, actor and type chain follows, three to a row (1 the first row; 0 a
    /// position before the write): what `emporium_rebase` keeps of the node's placing when it places the rows again.
    /// A back-pointer into the write's own positions need not be to a row of it: a node that does not know the head
    /// exactly keeps its streams' newest positions as a write placed again moved them, past the head it places the next
    /// write on. So a row follows a row of the write only when that row, before it, is of the same chain (the first of a
    /// chain's rows in the write follows none of them: placing it would have made that row the chain's newest).
    private var withinLinks: [Int64] {
        guard let first = rows.first?.position else { return [] }
        var links: [Int64] = []
        links.reserveCapacity(3 * rows.count)
        // By index, field by field: a row copied is some twenty references retained and released.
        func link(_ index: Int, _ previous: UInt64, sameChain: (Int) -> Bool) {
            guard previous >= first, previous < rows[index].position, sameChain(Int(previous - first)) else { return links.append(0) }
            links.append(Int64(previous - first + 1))
        }
        for index in rows.indices {
            let previous = rows[index].recorded.links
            link(index, previous.stream) { rows[$0].stream == rows[index].stream }
            link(index, previous.actor) { rows[$0].event.metadata.actor == rows[index].event.metadata.actor }
            link(index, previous.type) { rows[$0].event.type == rows[index].event.type }
        }
        return links
    }

    private static func data(_ value: some PostgresDynamicTypeEncodable) -> PostgresData {
        var buffer = ByteBuffer()
        value.encode(into: &buffer, context: .default)
        return PostgresData(type: value.psqlType, formatCode: value.psqlFormat, value: buffer)
    }

    /// The write's row, a row per event id, the rows of the chains it begins, the head, and the notification (sent at
    /// commit), in one statement, guarded by the start head (`$16`, `$17`) and the chains that must not exist (`$9`,
    /// `$10`); prepared once per writer connection (planning it cost as much as writing a dozen events). `current` locks
    /// the head, waiting for the transaction that holds it (this node's write before, or another node's; inside a
    /// transaction that locked it already, at once), and reads it as that one committed it. No row of a chain that exists
    /// is written: the chains' keeper brings those up behind the head (`PostgresLog.keepChains`). The records are written only if it is the plan's start, the very position and hash,
    /// and no chain taken to be new exists: the head is written only under its lock, so when it is the start nothing else
    /// was committed since the node learned what the plan stands on, and the statement's snapshot (taken no earlier than
    /// that) shows the chains as they were then (a chain's row is inserted by the write that begins it). Each chain taken
    /// to be new is looked up on its own (`LATERAL`), by its index (the writer connection plans no sequential scan): the
    /// generic plan of `name = ANY($10)` scans the whole table, even for an empty array, and one planned while the chains
    /// table was small would scan it for ever after.
    static let writeIfCurrentSQL = """
        WITH current AS (
            SELECT position, hash, recorded_at FROM emporium_log_head FOR UPDATE),
        checked AS (
            SELECT position, hash, recorded_at, coalesce(position = $16::bigint AND hash = $17::bytea AND NOT EXISTS (
                SELECT 1 FROM UNNEST($9::smallint[], $10::text[]) AS n(kind, name)
                CROSS JOIN LATERAL (SELECT 1 FROM emporium_chains AS c WHERE c.kind = n.kind AND c.name = n.name) AS found),
                false) AS ok
            FROM current),
        written AS (
            INSERT INTO emporium_writes (first, last, recorded_at, streams, types, actors, records)
            SELECT $1::bigint, $12::bigint, $14::bigint, $3::text[], $5::text[], $6::text[], $8::bytea[]
            WHERE (SELECT ok FROM checked)),
        ids AS (
            INSERT INTO emporium_event_ids (event_id, position)
            SELECT u.id, $1::bigint + u.ord - 1 FROM UNNEST($2::uuid[]) WITH ORDINALITY AS u(id, ord)
            WHERE (SELECT ok FROM checked)),
        begun AS (
            INSERT INTO emporium_chains (kind, name, count, last)
            SELECT n.kind, n.name, n.count, n.last
            FROM UNNEST($9::smallint[], $10::text[], $21::bigint[], $11::bigint[]) AS n(kind, name, count, last)
            WHERE (SELECT ok FROM checked)),
        head AS (
            UPDATE emporium_log_head SET position = $12::bigint, hash = $13::bytea, recorded_at = $14::bigint
            WHERE (SELECT ok FROM checked)
            RETURNING CASE WHEN $15::text <> '' THEN pg_notify('\(Schema.channel)', $15::text) END),
        rebased AS (
            SELECT r.* FROM checked AS c
            CROSS JOIN LATERAL emporium_rebase(c.position, c.hash, c.recorded_at, $2, $3, $4, $5, $6, $7, $8, $19::bigint, $20::bigint[]) AS r
            WHERE NOT c.ok AND $18::boolean)
        SELECT -1::smallint, NULL::text, $1::bigint, 0::bigint, NULL::bytea FROM head
        UNION ALL
        SELECT * FROM rebased
        """
}
