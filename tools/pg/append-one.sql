-- One event appended to the client's own stream, version checked the classic way
-- (next version computed under the unique (stream_id, version) constraint).
INSERT INTO events (stream_id, version, type, data)
SELECT :prefix || '-' || :client_id, coalesce(max(version), 0) + 1, 'BenchEvent', :payload::jsonb
FROM events WHERE stream_id = :prefix || '-' || :client_id;
