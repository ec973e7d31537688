-- Tables for tools/bench-serial.sh: eight ways to store a log whose appends are serialized through a one-row head.
CREATE TABLE serial_head (layout text PRIMARY KEY, position bigint NOT NULL, hash bytea NOT NULL);
INSERT INTO serial_head VALUES ('current', 0, '\x00'), ('actor-index', 0, '\x00'), ('narrow', 0, '\x00'), ('segments', 0, '\x00'),
  ('one-row', 0, '\x00'), ('one-row-ids', 0, '\x00'), ('no-chains', 0, '\x00'), ('ids-only', 0, '\x00');
-- The log of record's table as it is (Sources/PostgresStore/Schema.swift): wide rows, three unique indexes, actor and
-- type chains as rows upserted per write.
CREATE TABLE current_events (position bigint PRIMARY KEY, event_id uuid NOT NULL UNIQUE, stream text COLLATE "C" NOT NULL,
  version bigint NOT NULL, type text COLLATE "C" NOT NULL, actor text COLLATE "C" NOT NULL, correlation_id uuid NOT NULL,
  recorded_at bigint NOT NULL, record bytea NOT NULL, UNIQUE (stream, version));
CREATE TABLE current_chains (kind smallint NOT NULL, name text COLLATE "C" NOT NULL, count bigint NOT NULL,
  last bigint NOT NULL, PRIMARY KEY (kind, name));
-- The actors' chains read from an (actor, position) index instead of rows upserted per write.
CREATE TABLE actor_index_events (LIKE current_events INCLUDING ALL);
CREATE INDEX ON actor_index_events (actor, position);
-- Narrow rows: only what appending needs beside the record (type, actor, correlation and time are in it).
CREATE TABLE narrow_events (position bigint PRIMARY KEY, event_id uuid NOT NULL UNIQUE, stream text COLLATE "C" NOT NULL,
  version bigint NOT NULL, record bytea NOT NULL, UNIQUE (stream, version));
-- One row per write holding its records end to end, and a narrow row per event for the ids and streams.
CREATE TABLE segments (first bigint PRIMARY KEY, last bigint NOT NULL, records bytea NOT NULL);
ALTER TABLE segments ALTER COLUMN records SET STORAGE EXTERNAL;
CREATE TABLE segment_index (event_id uuid PRIMARY KEY, stream text COLLATE "C" NOT NULL, version bigint NOT NULL,
  position bigint NOT NULL, UNIQUE (stream, version));
-- One row per write and nothing per event: the floor of any layout.
CREATE TABLE one_row_segments (first bigint PRIMARY KEY, last bigint NOT NULL, records bytea NOT NULL);
ALTER TABLE one_row_segments ALTER COLUMN records SET STORAGE EXTERNAL;
-- One row per write and a narrow row per event for its id only.
CREATE TABLE one_row_ids_segments (LIKE one_row_segments INCLUDING ALL);
CREATE TABLE one_row_ids (event_id uuid PRIMARY KEY, segment bigint NOT NULL);
-- The log of record's rows without the chains' rows; and without the (stream, version) index either.
CREATE TABLE no_chains_events (LIKE current_events INCLUDING ALL);
CREATE TABLE ids_only_events (position bigint PRIMARY KEY, event_id uuid NOT NULL UNIQUE, stream text COLLATE "C" NOT NULL,
  version bigint NOT NULL, type text COLLATE "C" NOT NULL, actor text COLLATE "C" NOT NULL, correlation_id uuid NOT NULL,
  recorded_at bigint NOT NULL, record bytea NOT NULL);
