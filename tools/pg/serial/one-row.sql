-- The floor of any layout: 32 events as one row of records end to end and nothing per event (no id, stream or chain
-- rows: idempotency and reads by stream would need an index built behind the head).
WITH head AS (SELECT position FROM serial_head WHERE layout = 'one-row' FOR UPDATE),
segment AS (INSERT INTO one_row_segments SELECT position + 1, position + 32,
  string_agg(decode(repeat('ab', 300), 'hex'), ''::bytea) FROM head, generate_series(1, 32) AS g GROUP BY position)
UPDATE serial_head SET position = (SELECT position + 32 FROM head), hash = '\xcd' WHERE layout = 'one-row';
