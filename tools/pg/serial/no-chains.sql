-- 32 events in the log of record's rows and indexes, without the actor and type chains' rows: as it writes them since the thirty-fifth session (a write moves no chain row that exists; the rows are kept behind the head).
WITH head AS (SELECT position FROM serial_head WHERE layout = 'no-chains' FOR UPDATE),
placed AS (SELECT head.position + g AS p, g FROM head, generate_series(1, 32) AS g),
events AS (INSERT INTO no_chains_events SELECT p, lpad(to_hex(p), 32, '0')::uuid, 'stream-' || p, 1, 'BenchEvent',
  'actor-' || g, lpad(to_hex(p), 32, '0')::uuid, p, decode(repeat('ab', 300), 'hex') FROM placed)
UPDATE serial_head SET position = (SELECT position + 32 FROM head), hash = '\xcd' WHERE layout = 'no-chains';
