CREATE UNIQUE INDEX events_stream_version ON events (stream, version);
CREATE INDEX events_actor_position ON events (actor, position);
VACUUM ANALYZE events;
VACUUM ANALYZE actors;
VACUUM ANALYZE orders_at;
