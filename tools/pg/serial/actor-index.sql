-- 32 events with the actors' chains as an index: only the type's chain row upserted.
WITH head AS (SELECT position FROM serial_head WHERE layout = 'actor-index' FOR UPDATE),
placed AS (SELECT head.position + g AS p, g FROM head, generate_series(1, 32) AS g),
events AS (INSERT INTO actor_index_events SELECT p, lpad(to_hex(p), 32, '0')::uuid, 'stream-' || p, 1, 'BenchEvent',
  'actor-' || g, lpad(to_hex(p), 32, '0')::uuid, p, decode(repeat('ab', 300), 'hex') FROM placed),
chains AS (INSERT INTO current_chains SELECT 2, 'BenchEvent-actor-index', 32, (SELECT position + 32 FROM head)
  ON CONFLICT (kind, name) DO UPDATE SET count = current_chains.count + EXCLUDED.count, last = EXCLUDED.last)
UPDATE serial_head SET position = (SELECT position + 32 FROM head), hash = '\xcd' WHERE layout = 'actor-index';
