-- One event appended to a stream of its own, as a shop's orders are (named in time order, as the Emporium side names
-- them), its version checked the classic way (the next version computed under the unique (stream_id, version) constraint).
WITH s AS (SELECT :prefix || '-' || (extract(epoch FROM clock_timestamp()) * 1000000)::bigint || '-' || :client_id AS id)
INSERT INTO events (stream_id, version, type, data)
SELECT s.id, coalesce((SELECT max(e.version) FROM events AS e WHERE e.stream_id = s.id), 0) + 1, 'BenchEvent', :payload::jsonb
FROM s;
