-- 32 events in the log of record's rows indexed by position and id only: no (stream, version) index, no chains' rows.
WITH head AS (SELECT position FROM serial_head WHERE layout = 'ids-only' FOR UPDATE),
placed AS (SELECT head.position + g AS p, g FROM head, generate_series(1, 32) AS g),
events AS (INSERT INTO ids_only_events SELECT p, lpad(to_hex(p), 32, '0')::uuid, 'stream-' || p, 1, 'BenchEvent',
  'actor-' || g, lpad(to_hex(p), 32, '0')::uuid, p, decode(repeat('ab', 300), 'hex') FROM placed)
UPDATE serial_head SET position = (SELECT position + 32 FROM head), hash = '\xcd' WHERE layout = 'ids-only';
