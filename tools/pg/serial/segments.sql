-- 32 events as one row of records end to end, a narrow row per event for its id and stream, the chains as now.
WITH head AS (SELECT position FROM serial_head WHERE layout = 'segments' FOR UPDATE),
placed AS (SELECT head.position + g AS p, g FROM head, generate_series(1, 32) AS g),
segment AS (INSERT INTO segments SELECT min(p), max(p), string_agg(decode(repeat('ab', 300), 'hex'), ''::bytea ORDER BY p)
  FROM placed),
events AS (INSERT INTO segment_index SELECT lpad(to_hex(p), 32, '0')::uuid, 'stream-' || p, 1, p FROM placed),
chains AS (INSERT INTO current_chains SELECT 1, 'segments-actor-' || g, 1, p FROM placed
  UNION ALL SELECT 2, 'BenchEvent-segments', 32, (SELECT position + 32 FROM head)
  ON CONFLICT (kind, name) DO UPDATE SET count = current_chains.count + EXCLUDED.count, last = EXCLUDED.last)
UPDATE serial_head SET position = (SELECT position + 32 FROM head), hash = '\xcd' WHERE layout = 'segments';
