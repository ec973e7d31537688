-- 32 events as one row of records end to end and one narrow row per event for its id only (idempotency checked in the
-- serial section; streams' versions and chains from the records, behind the head).
WITH head AS (SELECT position FROM serial_head WHERE layout = 'one-row-ids' FOR UPDATE),
segment AS (INSERT INTO one_row_ids_segments SELECT position + 1, position + 32,
  string_agg(decode(repeat('ab', 300), 'hex'), ''::bytea) FROM head, generate_series(1, 32) AS g GROUP BY position),
ids AS (INSERT INTO one_row_ids SELECT lpad(to_hex(position + g), 32, '0')::uuid, position + 1
  FROM head, generate_series(1, 32) AS g)
UPDATE serial_head SET position = (SELECT position + 32 FROM head), hash = '\xcd' WHERE layout = 'one-row-ids';
