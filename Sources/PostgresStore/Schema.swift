/// The log's tables. Records are stored as the LMDB log stores them (the same
/// bytes, the same hash chain), one row per write; the tables beside them are the indexes.
enum Schema {
    /// The channel a commit notifies, with the new head position as payload.
    static let channel = "emporium_log"
    /// How far behind the head a node's knowledge may be for `emporium_rebase` to answer the chains written since
    /// (farther, the node forgets what it knew of the actors' and types' chains its write did not move).
    static let knownMost = 4_096

    /// The schema's version, kept in the log of record (`emporium_schema`): a node refuses one newer than its build's.
    /// 6: a chain's row is inserted counting the records of the write that begins it (not 0), and the keeper leaves it
    /// be until another write extends it; 5: `emporium_rebase` takes the links the node placed within the write (no
    /// window over the write's names); 4: `emporium_rebase` answers the chains written since what the node knew
    /// (`known`); 3: one row per write (`emporium_writes`), streams' chains kept behind the head too; 2: actors' and
    /// types' chains kept behind the head (`emporium_keep_chains`); 1 (no row): before. A node of a build before version 2 knows no
    /// version and would put its own functions back: every node of a log of record runs the
    /// same build (upgrading: stop them all, start the new build).
    static let version: Int32 = 6

    static let versionTable = """
        CREATE TABLE IF NOT EXISTS emporium_schema (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            version integer NOT NULL)
        """

    /// A log of record written before version 3 (a row per event, `emporium_events`) is rewritten in this layout when a
    /// node of this build first connects (`PostgresLog.migrate`), under the migration's lock, in transactions of a bounded
    /// size each, so that a large log is not one transaction longer than a start may take, and a rewrite cut short goes on
    /// where it stopped at the next start (the old table is there until it is empty). While it is, the chains' rows are let
    /// go and their mark set to 0 at every start (version 2 kept no stream's row): they are counted again, in steps too,
    /// once every record has moved.
    static let rewriteBegins = """
        DO $$
        BEGIN
            IF to_regclass('emporium_events') IS NOT NULL THEN
                DELETE FROM emporium_chains;
                UPDATE emporium_chains_mark SET position = 0;
            END IF;
        END
        $$
        """

    /// Moves the oldest `$1` records of `emporium_events` (at most) into rows of up to 32, with their ids. Answers how many
    /// moved (0: none was left, and the table is dropped).
    static let rewriteStep = """
        WITH moved AS (
            DELETE FROM emporium_events WHERE position < (SELECT min(position) FROM emporium_events) + $1::bigint
            RETURNING position, event_id, stream, type, actor, recorded_at, record),
        written AS (
            INSERT INTO emporium_writes (first, last, recorded_at, streams, types, actors, records)
            SELECT min(m.position), max(m.position), max(m.recorded_at), array_agg(m.stream ORDER BY m.position),
                array_agg(m.type ORDER BY m.position), array_agg(m.actor ORDER BY m.position), array_agg(m.record ORDER BY m.position)
            FROM moved AS m GROUP BY (m.position - 1) / 32),
        ids AS (
            INSERT INTO emporium_event_ids (event_id, position) SELECT m.event_id, m.position FROM moved AS m)
        SELECT count(*) FROM moved
        """

    /// Each chain the records `rows` name extend (their columns `s`, `ty`, `ac`: a record's stream, type and actor,
    /// unnested in step with its `position` in the select list, so no tuplestore is materialized), as `kind` (0 stream, 1
    /// actor, 2 type), `name`, how many records it `added` and the `newest` of them: one pass, a grouping set per kind.
    /// The chains' keeper counts the writes past the mark with it, `emporium_rebase` the write it placed again.
    static func chainsExtended(by rows: String) -> String {
        """
        SELECT (CASE WHEN GROUPING(p.s) = 0 THEN 0 WHEN GROUPING(p.ac) = 0 THEN 1 ELSE 2 END)::smallint AS kind,
            coalesce(p.s, p.ac, p.ty) AS name, count(*) AS added, max(p.position) AS newest
        FROM (\(rows)) AS p
        GROUP BY GROUPING SETS ((p.s), (p.ac), (p.ty))
        """
    }

    /// The records of a write placed again, in order, as `emporium_rebase` reads them (its variables, or a test's
    /// parameters, named by the arguments): each record's fields before its previous hash (position and time patched in:
    /// its own, or one past the record's before it, whichever is later), and after it (its back-pointers, then the rest);
    /// whether its stream stands where the node placed it (its first event of it). A chain's row is looked up only for a
    /// record that follows none of the write, each by its index: `OFFSET 0` keeps the planner from joining the write
    /// against every stream's row instead (a generic plan made while the chains were few did, and scanned every stream
    /// for every write placed again for as long as the connection lived: 0.08× the writes beside a quiet node in a shop
    /// of a stream per order, README "Forty-third session").
    static func placingAgain(
        at: String, atTime: String, streams: String, versions: String, types: String, actors: String, times: String,
        records: String, links: String
    ) -> String {
        """
        SELECT u.ls > 0 OR coalesce(newest.count, 0) = u.v - 1 AS fits, greatest(u.g, \(atTime) + u.ord) AS t,
            substr(u.rec, 1, 6) || int8send(\(at) + u.ord) || substr(u.rec, 15, 8)
                || int8send(greatest(u.g, \(atTime) + u.ord)) || substr(u.rec, 31, 48) AS front,
            int8send(CASE WHEN u.ls > 0 THEN \(at) + u.ls ELSE coalesce(newest.last, 0) END)
                || int8send(CASE WHEN u.la > 0 THEN \(at) + u.la ELSE coalesce(
                    (SELECT c.last FROM emporium_chains AS c WHERE c.kind = 1 AND c.name = u.ac), 0) END)
                || int8send(CASE WHEN u.lt > 0 THEN \(at) + u.lt ELSE coalesce(
                    (SELECT c.last FROM emporium_chains AS c WHERE c.kind = 2 AND c.name = u.ty), 0) END)
                || substr(u.rec, 135, length(u.rec) - 166) AS back
        FROM (SELECT x.*, (\(links))[3 * x.ord - 2] AS ls, (\(links))[3 * x.ord - 1] AS la, (\(links))[3 * x.ord] AS lt
              FROM UNNEST(\(streams), \(versions), \(types), \(actors), \(times), \(records)) WITH ORDINALITY AS x(s, v, ty, ac, g, rec, ord)) AS u
        LEFT JOIN LATERAL (
            SELECT c.count, c.last FROM emporium_chains AS c WHERE c.kind = 0 AND c.name = u.s AND u.ls = 0 OFFSET 0
        ) AS newest ON true
        ORDER BY u.ord
        """
    }

    /// Every chain (`kind`, `name`, `count`, `last`) the records after position `known` extend, up to the write ending
    /// the head `at`, as their rows stand (kept up to the head): what `emporium_rebase` answers a node that asked. The rows
    /// of the writes from `known` on are read for their names (not their records); each chain's row is looked up by its
    /// index (`OFFSET 0`: never a join against every row of a kind, whatever plan was cached).
    static func chainsSince(known: String, at: String) -> String {
        """
        SELECT c.kind, c.name::text, c.count, c.last, NULL::bytea
        FROM (SELECT DISTINCT n.k, n.nm
              FROM emporium_writes AS w
              CROSS JOIN LATERAL (
                  SELECT 0::smallint, st.nm, st.ord FROM UNNEST(w.streams) WITH ORDINALITY AS st(nm, ord)
                  UNION ALL SELECT 1::smallint, a.nm, a.ord FROM UNNEST(w.actors) WITH ORDINALITY AS a(nm, ord)
                  UNION ALL SELECT 2::smallint, t.nm, t.ord FROM UNNEST(w.types) WITH ORDINALITY AS t(nm, ord)) AS n(k, nm, ord)
              -- A head ends a write, so the first row after `known` begins right after it; a row a log of
              -- version 2 was rewritten into (32 records, whatever its writes) may begin up to 31 before it.
              WHERE w.first > \(known) - 32 AND w.first <= \(at) AND w.last > \(known) AND w.first + n.ord - 1 > \(known)) AS f
        CROSS JOIN LATERAL (
            SELECT x.kind, x.name, x.count, x.last FROM emporium_chains AS x WHERE x.kind = f.k AND x.name = f.nm OFFSET 0) AS c
        """
    }

    static let statements: [String] = [
        """
        CREATE TABLE IF NOT EXISTS emporium_log_head (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            position bigint NOT NULL,
            hash bytea NOT NULL,
            recorded_at bigint)
        """,
        """
        INSERT INTO emporium_log_head (singleton, position, hash) VALUES (true, 0, decode(repeat('00', 32), 'hex'))
        ON CONFLICT (singleton) DO NOTHING
        """,
        // One row per write: its records end to end in position order (the same bytes as the LMDB log's, the same hash
        // chain), and beside them the names the chains' keeper needs (stream, type and actor of each record, in order).
        // Appending writes this row, a row per event id and the rows of the chains it begins, and nothing more: every row
        // and index entry is paid under the log head's lock (a row per event indexed by position, id and stream version
        // paid three; README, "One row per write"). The chains' rows are kept behind the head; a stream's events are read
        // by walking its back-pointers from its newest (`PostgresLog.readStream`). Reads by position, id, actor, type,
        // correlation and time are answered from these rows; a node's replica indexes them all. The records are stored
        // out of line uncompressed (`EXTERNAL`: hashes and ids do not compress, and compressing costs the writer).
        """
        CREATE TABLE IF NOT EXISTS emporium_writes (
            first bigint PRIMARY KEY,
            last bigint NOT NULL,
            recorded_at bigint NOT NULL,
            streams text[] COLLATE "C" NOT NULL,
            types text[] COLLATE "C" NOT NULL,
            actors text[] COLLATE "C" NOT NULL,
            records bytea[] NOT NULL)
        """,
        "ALTER TABLE emporium_writes ALTER COLUMN records SET STORAGE EXTERNAL",
        // The names beside them are compressed with lz4 where the server has it (PostgreSQL 14 on, built with it; pglz
        // otherwise): in a profile of a concurrent run pglz's compression of a write's names was 4% of PostgreSQL's
        // samples, lz4's under 1% (README, "Forty-first session"). Altered only when not so already (the table's lock).
        """
        DO $$
        BEGIN
            IF current_setting('server_version_num')::int >= 140000 THEN
                IF EXISTS (
                    SELECT 1 FROM pg_attribute WHERE attrelid = 'emporium_writes'::regclass
                    AND attname IN ('streams', 'types', 'actors') AND attcompression IS DISTINCT FROM 'l')
                THEN
                    EXECUTE 'ALTER TABLE emporium_writes ALTER COLUMN streams SET COMPRESSION lz4, '
                        'ALTER COLUMN types SET COMPRESSION lz4, ALTER COLUMN actors SET COMPRESSION lz4';
                END IF;
            END IF;
        EXCEPTION WHEN feature_not_supported THEN
            NULL;  -- a server built without lz4: pglz, as before
        END
        $$
        """,
        // Every event id and its position: the one index appending keeps per event, since an id must be unique in the
        // whole log (a retry of a stored append is answered from it).
        "CREATE TABLE IF NOT EXISTS emporium_event_ids (event_id uuid PRIMARY KEY, position bigint NOT NULL)",
        // Streams' (0), actors' (1) and types' (2) chains: how many events each holds up to the chains' mark, and the newest
        // (a chain begun past the mark: up to the newest of the write that began it).
        """
        CREATE TABLE IF NOT EXISTS emporium_chains (
            kind smallint NOT NULL,
            name text COLLATE "C" NOT NULL,
            count bigint NOT NULL,
            last bigint NOT NULL,
            PRIMARY KEY (kind, name))
        """,
        // How far the chains' rows are kept (`emporium_keep_chains`): a chain's row counts its
        // events at or before this position and names the newest of them. They are kept behind the head, so that a write
        // placed as the node placed it moves no row of a chain that exists: it inserts only the rows of the chains it
        // begins (how many of its records each holds, and the newest of them: a row past the mark is one such), which the
        // next write taking a chain to be new looks up; the keeper leaves such a row be until a later write extends it. A
        // node keeps them outside the head's lock every so many positions (`PostgresLog.keepChains`); a write that reads
        // chains under the lock (placed again by PostgreSQL, or decided in a transaction) keeps them first.
        """
        CREATE TABLE IF NOT EXISTS emporium_chains_mark (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            position bigint NOT NULL)
        """,
        """
        INSERT INTO emporium_chains_mark (singleton, position) SELECT true, position FROM emporium_log_head
        ON CONFLICT (singleton) DO NOTHING
        """,
        // Brings every chain's row up to the head (or the end of the last write at most `most` positions past the mark,
        // at least one write) and moves the chains' mark there: the writes past the mark read once (their names, not their
        // records), each chain they extend counted and moved once (a row begun past the mark counts its write's records
        // already: counted again from none, and not moved at all when no later write extends it, which in a shop of a
        // stream per order is most of them). Nothing is locked when the mark is at the head already (it only moves
        // forward, to a head). Otherwise waits for the mark's lock (`wait`: a transaction that holds the head's, which a
        // keeping outside it never waits for) or gives up at once when another holds it (nil). The head it reads is a
        // committed one, a write's end, so every write up to it is committed and seen, with the row of every chain it
        // begins. Answers the new mark (nil: nothing was past it).
        "DROP FUNCTION IF EXISTS emporium_keep_chains(boolean)",
        """
        CREATE OR REPLACE FUNCTION emporium_keep_chains(wait boolean, most bigint DEFAULT NULL) RETURNS bigint
        LANGUAGE plpgsql AS $$
        DECLARE
            kept bigint;
            upto bigint;
        BEGIN
            SELECT h.position INTO upto FROM emporium_log_head AS h;
            IF (SELECT m.position FROM emporium_chains_mark AS m) >= upto THEN
                RETURN NULL;
            END IF;
            IF wait THEN
                SELECT m.position INTO kept FROM emporium_chains_mark AS m FOR UPDATE;
            ELSE
                SELECT m.position INTO kept FROM emporium_chains_mark AS m FOR UPDATE SKIP LOCKED;
            END IF;
            IF kept IS NULL OR upto <= kept THEN
                RETURN NULL;
            END IF;
            IF most IS NOT NULL AND upto > kept + most THEN
                SELECT coalesce(max(w.last), (SELECT x.last FROM emporium_writes AS x WHERE x.first = kept + 1)) INTO upto
                FROM emporium_writes AS w WHERE w.first > kept AND w.last <= kept + most;
            END IF;
            INSERT INTO emporium_chains AS c (kind, name, count, last)
            SELECT e.kind, e.name, e.added, e.newest FROM (\(chainsExtended(by: """
                SELECT UNNEST(w.streams) AS s, UNNEST(w.types) AS ty, UNNEST(w.actors) AS ac,
                    generate_series(w.first, w.last) AS position
                FROM emporium_writes AS w WHERE w.first > kept AND w.first <= upto
                """))) AS e
            -- A row begun past the mark (its newest past it) counts its write's records: left be unless a later write
            -- extends it, else counted again from none. (Schema 5 began rows at 0: counted again too.)
            WHERE NOT EXISTS (
                SELECT 1 FROM emporium_chains AS b
                WHERE b.kind = e.kind AND b.name = e.name AND b.last > kept AND b.count > 0 AND b.last >= e.newest OFFSET 0)
            ON CONFLICT (kind, name) DO UPDATE
            SET count = CASE WHEN c.last > kept THEN EXCLUDED.count ELSE c.count + EXCLUDED.count END,
                last = greatest(c.last, EXCLUDED.last);
            UPDATE emporium_chains_mark SET position = upto;
            RETURN upto;
        END
        $$
        """,
        // A write placed on a head that has moved since (another node committed) placed again by PostgreSQL itself, under
        // the head's lock, so a node whose knowledge is stale needs no transaction of its own to learn the head: each
        // record's position, time, previous hash and back-pointers written into it at their offsets (`RecordCodec`), its
        // hash taken again, in order. Only when every stream of the write stands where the node placed it (so every
        // expectation it checked still holds and every version is the same); otherwise it writes nothing. The chains are
        // kept up to the head first (what was written as placed since the last keeping), so a chain's row is exact; then
        // the write's own chains' rows are moved and the mark with them (on a cluster's nodes, whose writes are placed
        // again most of the time, the first keeping then finds nothing). `links` says, three to a record (its stream's,
        // actor's and type's), which record of the write itself it follows (1 the first; 0: one before the write, looked up
        // in its chain's row): the node placed them, and they hold wherever the write goes. Answers the head it
        // wrote (kind -1: first position, time, hash) and the actor (1) and type (2) chains it moved, with their newest
        // positions. Given `known` (the head the node placed the write on, no further back than `knownMost` from the head),
        // also every chain (streams', actors', types') the records after it extend, as they stand after this write, and a
        // row of kind -2 saying so: what the node knew of every other chain still holds.
        """
        DROP FUNCTION IF EXISTS emporium_rebase(bigint, bytea, bigint, uuid[], text[], bigint[], text[], text[], uuid[], bigint[], bytea[])
        """,
        """
        DROP FUNCTION IF EXISTS emporium_rebase(bigint, bytea, bigint, uuid[], text[], bigint[], text[], text[], bigint[], bytea[])
        """,
        """
        DROP FUNCTION IF EXISTS emporium_rebase(
            bigint, bytea, bigint, uuid[], text[], bigint[], text[], text[], bigint[], bytea[], bigint)
        """,
        """
        CREATE OR REPLACE FUNCTION emporium_rebase(
            at bigint, at_hash bytea, at_time bigint, ids uuid[], streams text[], versions bigint[], types text[],
            actors text[], times bigint[], records bytea[], known bigint, links bigint[])
        RETURNS TABLE (r_kind smallint, r_name text, r_count bigint, r_last bigint, r_hash bytea)
        LANGUAGE plpgsql ROWS 8 AS $$
        DECLARE
            placed record;
            previous bytea := at_hash;
            body bytea;
            written bytea[] := '{}';
            stamps bigint[] := '{}';
            i int := 0;
        BEGIN
            IF (SELECT m.position FROM emporium_chains_mark AS m) < at THEN
                PERFORM emporium_keep_chains(true);
            END IF;
            -- The records in order, as placed again (`Schema.placingAgain`).
            FOR placed IN
                \(placingAgain(
                    at: "at", atTime: "at_time", streams: "streams", versions: "versions", types: "types", actors: "actors",
                    times: "times", records: "records", links: "links"))
            LOOP
                -- A time no later than the record's before it (never from a node that placed the write): nothing written.
                IF NOT placed.fits OR placed.t <= coalesce(stamps[i], at_time) THEN
                    RETURN;
                END IF;
                body := placed.front || previous || placed.back;
                previous := sha256(body);
                i := i + 1;
                written[i] := body || previous;
                stamps[i] := placed.t;
            END LOOP;
            RETURN QUERY
            WITH w AS (
                INSERT INTO emporium_writes (first, last, recorded_at, streams, types, actors, records)
                VALUES (at + 1, at + i, stamps[i], streams, types, actors, written)),
            e AS (
                INSERT INTO emporium_event_ids (event_id, position) SELECT u.id, at + u.ord FROM UNNEST(ids) WITH ORDINALITY AS u(id, ord)),
            h AS (
                UPDATE emporium_log_head SET position = at + i, hash = previous, recorded_at = stamps[i]
                RETURNING pg_notify('\(channel)', (at + i)::text))
            SELECT -1::smallint, NULL::text, at + 1, stamps[i], previous FROM h;
            -- Everything is kept up to `at` here: this write's chains moved, as the write of old moved them, and the mark
            -- with them, so the next write placed again finds nothing past it but what was written as placed since. The
            -- mark's lock first (waiting for a keeping outside the head's lock to end), then the rows, in the order every
            -- keeping takes them.
            UPDATE emporium_chains_mark SET position = at + i;
            RETURN QUERY
            WITH moved AS (
                \(chainsExtended(by: """
                    SELECT UNNEST(streams) AS s, UNNEST(types) AS ty, UNNEST(actors) AS ac, generate_series(at + 1, at + i) AS position
                    """))),
            upserted AS (
                INSERT INTO emporium_chains AS c (kind, name, count, last)
                SELECT moved.kind, moved.name, moved.added, moved.newest FROM moved
                ON CONFLICT (kind, name) DO UPDATE SET count = c.count + EXCLUDED.count, last = EXCLUDED.last
                RETURNING c.kind, c.name::text AS name, c.count, c.last)
            SELECT u.kind, u.name, u.count, u.last, NULL::bytea FROM upserted AS u WHERE u.kind > 0;
            -- The chains every record after `known` extends (this write's own included), as they stand now; the rows of
            -- the writes from `known` on (their names, not their records).
            IF known >= 0 AND at - known <= \(knownMost) THEN
                RETURN QUERY SELECT -2::smallint, NULL::text, known, 0::bigint, NULL::bytea;
                RETURN QUERY
                \(chainsSince(known: "known", at: "at"));
            END IF;
        END
        $$
        """,
        // The key vault every node shares: per-user keys and shop keys, wrapped under the cluster's master key.
        """
        CREATE TABLE IF NOT EXISTS emporium_keys (
            sequence bigserial UNIQUE,
            owner bytea PRIMARY KEY,
            wrapped bytea,
            destroyed boolean NOT NULL DEFAULT false)
        """,
        "CREATE TABLE IF NOT EXISTS emporium_shop_keys (name text PRIMARY KEY, wrapped bytea NOT NULL)",
        // Engine nodes and how far their replicas have copied (`emporium cluster status`).
        """
        CREATE TABLE IF NOT EXISTS emporium_nodes (
            name text PRIMARY KEY,
            address text NOT NULL,
            replica_head bigint NOT NULL,
            started_at bigint NOT NULL,
            seen_at bigint NOT NULL)
        """,
    ]
}
