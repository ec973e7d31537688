-- The peer for search: PostgreSQL full-text search over the same goods, the
-- classic way (a weighted tsvector with a GIN index, ts_rank ordering).
DROP TABLE IF EXISTS goods, queries;
CREATE TABLE goods (
    id text PRIMARY KEY,
    title text NOT NULL,
    description text NOT NULL,
    category text NOT NULL,
    brand text NOT NULL,
    tags text NOT NULL,
    price bigint NOT NULL
);
CREATE TABLE queries (id serial PRIMARY KEY, q text NOT NULL);
