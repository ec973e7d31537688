SET client_min_messages = warning;
-- The peer of the history benchmark: the same events, indexed the way an
-- audit store would be (by position, by stream and version, by actor and position).
DROP TABLE IF EXISTS events, actors, orders_at;
CREATE TABLE events (
  position bigint PRIMARY KEY,
  stream text NOT NULL,
  version bigint NOT NULL,
  type text NOT NULL,
  actor text NOT NULL,
  recorded_at bigint NOT NULL,
  payload jsonb NOT NULL
);
CREATE TABLE actors (id serial PRIMARY KEY, actor text NOT NULL);
CREATE TABLE orders_at (id serial PRIMARY KEY, stream text NOT NULL, position bigint NOT NULL);
