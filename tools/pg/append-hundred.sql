-- 100 events appended to the client's own stream in one transaction (one statement).
INSERT INTO events (stream_id, version, type, data)
SELECT :prefix || '-' || :client_id, current.version + series.i, 'BenchEvent', :payload::jsonb
FROM (SELECT coalesce(max(version), 0) AS version FROM events WHERE stream_id = :prefix || '-' || :client_id) AS current,
     generate_series(1, 100) AS series(i);
