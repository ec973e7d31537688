-- 32 events in narrow rows, the chains as the log of record keeps them.
WITH head AS (SELECT position FROM serial_head WHERE layout = 'narrow' FOR UPDATE),
placed AS (SELECT head.position + g AS p, g FROM head, generate_series(1, 32) AS g),
events AS (INSERT INTO narrow_events SELECT p, lpad(to_hex(p), 32, '0')::uuid, 'stream-' || p, 1,
  decode(repeat('ab', 300), 'hex') FROM placed),
chains AS (INSERT INTO current_chains SELECT 1, 'narrow-actor-' || g, 1, p FROM placed
  UNION ALL SELECT 2, 'BenchEvent-narrow', 32, (SELECT position + 32 FROM head)
  ON CONFLICT (kind, name) DO UPDATE SET count = current_chains.count + EXCLUDED.count, last = EXCLUDED.last)
UPDATE serial_head SET position = (SELECT position + 32 FROM head), hash = '\xcd' WHERE layout = 'narrow';
