/// The log's tables. Records are stored as the LMDB log stores them (the same
/// bytes, the same hash chain); the columns beside them are the indexes.
enum Schema {
    /// The channel a commit notifies, with the new head position as payload.
    static let channel = "emporium_log"

    /// The schema's version, kept in the log of record (`emporium_schema`): a node refuses one newer than its build's.
    /// 2: actors' and types' chains kept behind the head (`emporium_keep_chains`); 1 (no row): before. A node of a build
    /// before version 2 knows no version and would put its own functions back: every node of a log of record runs the
    /// same build (upgrading: stop them all, start the new build).
    static let version: Int32 = 2

    static let versionTable = """
        CREATE TABLE IF NOT EXISTS emporium_schema (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            version integer NOT NULL)
        """

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
        // Indexed for what appending needs (position, event id, stream and version) and nothing more: every index costs
        // each append a b-tree insert under the log head's lock. Reads by actor, type, correlation and time are answered
        // by a node's replica (and `emporium cluster sync`'s copy), which indexes them all; the log of record answers
        // them too, by walking positions. Names compare as bytes (`COLLATE "C"`, whatever the database's locale).
        """
        CREATE TABLE IF NOT EXISTS emporium_events (
            position bigint PRIMARY KEY,
            event_id uuid NOT NULL UNIQUE,
            stream text COLLATE "C" NOT NULL,
            version bigint NOT NULL,
            type text COLLATE "C" NOT NULL,
            actor text COLLATE "C" NOT NULL,
            correlation_id uuid NOT NULL,
            recorded_at bigint NOT NULL,
            record bytea NOT NULL,
            UNIQUE (stream, version))
        """,
        // Logs of record made before these four indexes were let go.
        "DROP INDEX IF EXISTS emporium_events_by_actor",
        "DROP INDEX IF EXISTS emporium_events_by_type",
        "DROP INDEX IF EXISTS emporium_events_by_correlation",
        "DROP INDEX IF EXISTS emporium_events_by_time",
        """
        CREATE TABLE IF NOT EXISTS emporium_chains (
            kind smallint NOT NULL,
            name text COLLATE "C" NOT NULL,
            count bigint NOT NULL,
            last bigint NOT NULL,
            PRIMARY KEY (kind, name))
        """,
        // Actors' (1) and types' (2) chains: a stream's is its newest row. Logs of record made before kept streams' (0) here.
        "DELETE FROM emporium_chains WHERE kind = 0",
        // How far the chains' rows are kept (`emporium_keep_chains`): a chain's row counts its events at or before this
        // position and names the newest of them. Rows are kept behind the head, so that a write placed as the node placed
        // it moves no row of a chain that exists (33 rows a write of 32 events in `tools/bench-serial.sh`, the largest part
        // of what it does under the head's lock): it inserts only the rows of the chains it begins (count 0, its newest
        // position in them), which the next write taking a chain to be new looks up. A node keeps them outside the head's
        // lock every so many positions (`PostgresLog.keepChains`); a write that reads chains under the lock (placed again
        // by PostgreSQL, or decided in a transaction) keeps them first. Logs of record made before kept every row at the
        // head.
        """
        CREATE TABLE IF NOT EXISTS emporium_chains_mark (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            position bigint NOT NULL)
        """,
        """
        INSERT INTO emporium_chains_mark (singleton, position) SELECT true, position FROM emporium_log_head
        ON CONFLICT (singleton) DO NOTHING
        """,
        // Brings every actor's and type's chain row up to the head and moves the chains' mark there: the records past the
        // mark read once, each chain they extend counted and moved once. Nothing is locked when the mark is at the head
        // already (it only moves forward, to a head). Otherwise waits for the mark's lock (`wait`: a transaction that
        // holds the head's, which a keeping outside it never waits for) or gives up at once when another holds it (nil).
        // The head it reads is a committed one, a write's end, so every record up to it is committed and seen, with the
        // row of every chain it begins. Answers the new mark (nil: nothing was past it).
        """
        CREATE OR REPLACE FUNCTION emporium_keep_chains(wait boolean) RETURNS bigint
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
            WITH past AS MATERIALIZED (
                SELECT e.actor, e.type, e.position FROM emporium_events AS e WHERE e.position > kept AND e.position <= upto)
            INSERT INTO emporium_chains AS c (kind, name, count, last)
            SELECT 1::smallint, p.actor, count(*), max(p.position) FROM past AS p GROUP BY p.actor
            UNION ALL
            SELECT 2::smallint, p.type, count(*), max(p.position) FROM past AS p GROUP BY p.type
            ON CONFLICT (kind, name) DO UPDATE SET count = c.count + EXCLUDED.count, last = greatest(c.last, EXCLUDED.last);
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
        // kept up to the head first (what was written as placed since the last keeping), so an actor's or type's newest
        // position is its row's; then its own chains' rows are moved and the mark with them, as the write of old moved
        // the rows (on a cluster's nodes, whose writes are placed again most of the time, the first keeping then finds
        // little or nothing). Answers the head it wrote (kind -1: first position, time, hash) and the actor (1) and type (2) chains
        // it moved, with their newest positions.
        """
        CREATE OR REPLACE FUNCTION emporium_rebase(
            at bigint, at_hash bytea, at_time bigint, ids uuid[], streams text[], versions bigint[], types text[],
            actors text[], correlations uuid[], times bigint[], records bytea[])
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
            PERFORM emporium_keep_chains(true);
            -- In order: each record's fields before its previous hash (position and time patched in), and after it (its
            -- back-pointers, then the rest); whether its stream stands where the node placed it (its first event of it).
            FOR placed IN
                SELECT lag(u.ord) OVER w_s IS NOT NULL OR coalesce(newest.version, 0) = u.v - 1 AS fits,
                    u.ord + greatest(max(u.g - u.ord) OVER w_o, at_time) AS t,
                    substr(u.rec, 1, 6) || int8send(at + u.ord) || substr(u.rec, 15, 8)
                        || int8send(u.ord + greatest(max(u.g - u.ord) OVER w_o, at_time)) || substr(u.rec, 31, 48) AS front,
                    int8send(coalesce(at + lag(u.ord) OVER w_s, newest.position, 0))
                        || int8send(coalesce(at + lag(u.ord) OVER w_a,
                            (SELECT c.last FROM emporium_chains AS c WHERE c.kind = 1 AND c.name = u.ac), 0))
                        || int8send(coalesce(at + lag(u.ord) OVER w_t,
                            (SELECT c.last FROM emporium_chains AS c WHERE c.kind = 2 AND c.name = u.ty), 0))
                        || substr(u.rec, 135, length(u.rec) - 166) AS back
                FROM UNNEST(streams, versions, types, actors, times, records) WITH ORDINALITY AS u(s, v, ty, ac, g, rec, ord)
                LEFT JOIN LATERAL (
                    SELECT e.version, e.position FROM emporium_events AS e WHERE e.stream = u.s ORDER BY e.version DESC LIMIT 1
                ) AS newest ON true
                WINDOW w_s AS (PARTITION BY u.s ORDER BY u.ord), w_a AS (PARTITION BY u.ac ORDER BY u.ord),
                    w_t AS (PARTITION BY u.ty ORDER BY u.ord), w_o AS (ORDER BY u.ord)
                ORDER BY u.ord
            LOOP
                IF NOT placed.fits THEN
                    RETURN;
                END IF;
                body := placed.front || previous || placed.back;
                previous := sha256(body);
                i := i + 1;
                written[i] := body || previous;
                stamps[i] := placed.t;
            END LOOP;
            INSERT INTO emporium_events (position, event_id, stream, version, type, actor, correlation_id, recorded_at, record)
            SELECT at + u.ord, u.id, u.s, u.v, u.ty, u.ac, u.co, u.t, u.rec
            FROM UNNEST(ids, streams, versions, types, actors, correlations, stamps, written) WITH ORDINALITY
                AS u(id, s, v, ty, ac, co, t, rec, ord);
            UPDATE emporium_log_head SET position = at + i, hash = previous, recorded_at = stamps[i];
            PERFORM pg_notify('\(channel)', (at + i)::text);
            RETURN QUERY SELECT -1::smallint, NULL::text, at + 1, stamps[i], previous;
            -- The rows are kept up to `at` here: this write's chains moved in them, as the write of old did, and the mark
            -- with them, so the next write placed again finds nothing past it but what was written as placed since. The
            -- mark's lock first (waiting for a keeping outside the head's lock to end), then the rows, in the order every
            -- keeping takes them.
            UPDATE emporium_chains_mark SET position = at + i;
            RETURN QUERY
            WITH moved AS (
                SELECT m.k, m.nm, count(*) AS added, at + max(m.ord) AS newest
                FROM (SELECT 1::smallint, a.nm, a.ord FROM UNNEST(actors) WITH ORDINALITY AS a(nm, ord)
                      UNION ALL SELECT 2::smallint, t.nm, t.ord FROM UNNEST(types) WITH ORDINALITY AS t(nm, ord)) AS m(k, nm, ord)
                GROUP BY m.k, m.nm)
            INSERT INTO emporium_chains AS c (kind, name, count, last)
            SELECT moved.k, moved.nm, moved.added, moved.newest FROM moved
            ON CONFLICT (kind, name) DO UPDATE SET count = c.count + EXCLUDED.count, last = EXCLUDED.last
            RETURNING c.kind, c.name::text, c.count, c.last, NULL::bytea;
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
