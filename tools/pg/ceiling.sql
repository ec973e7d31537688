-- The ceiling of any log whose appends are serialized through a one-row head (as
-- gapless positions and a hash chain require): 32 rows per transaction, the head
-- advanced in the same statement, the three unique indexes appending needs.
-- Run by one client, which is what the head's lock allows:
--   psql -c "CREATE TABLE ceiling_head (id int PRIMARY KEY, position bigint); INSERT INTO ceiling_head VALUES (1, 0);
--            CREATE TABLE ceiling_events (position bigint PRIMARY KEY, event_id uuid NOT NULL UNIQUE,
--              stream text COLLATE \"C\" NOT NULL, version bigint NOT NULL, record bytea NOT NULL, UNIQUE (stream, version))"
--   pgbench -n -M prepared -c 1 -j 1 -T 5 -f tools/pg/ceiling.sql    (events/s = tps × 32)
WITH h AS (UPDATE ceiling_head SET position = position + 32 WHERE id = 1 RETURNING position)
INSERT INTO ceiling_events
SELECT h.position - 32 + g, gen_random_uuid(), 'stream-' || (h.position - 32 + g), 1, decode(repeat('ab', 450), 'hex')
FROM h, generate_series(1, 32) AS g;
