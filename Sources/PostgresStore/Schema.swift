/// The log's tables. Records are stored as the LMDB log stores them (the same
/// bytes, the same hash chain); the columns beside them are the indexes.
enum Schema {
    /// The channel a commit notifies, with the new head position as payload.
    static let channel = "emporium_log"

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
