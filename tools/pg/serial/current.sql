-- 32 events, as the log of record wrote them until the thirty-fifth session: rows, actor and type chains upserted, the head moved (one statement).
WITH head AS (SELECT position FROM serial_head WHERE layout = 'current' FOR UPDATE),
placed AS (SELECT head.position + g AS p, g FROM head, generate_series(1, 32) AS g),
events AS (INSERT INTO current_events SELECT p, lpad(to_hex(p), 32, '0')::uuid, 'stream-' || p, 1, 'BenchEvent',
  'actor-' || g, lpad(to_hex(p), 32, '0')::uuid, p, decode(repeat('ab', 300), 'hex') FROM placed),
chains AS (INSERT INTO current_chains SELECT 1, 'actor-' || g, 1, p FROM placed
  UNION ALL SELECT 2, 'BenchEvent', 32, (SELECT position + 32 FROM head)
  ON CONFLICT (kind, name) DO UPDATE SET count = current_chains.count + EXCLUDED.count, last = EXCLUDED.last)
UPDATE serial_head SET position = (SELECT position + 32 FROM head), hash = '\xcd' WHERE layout = 'current';
