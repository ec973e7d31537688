ALTER TABLE goods ADD COLUMN doc tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', title), 'A') ||
    setweight(to_tsvector('simple', brand || ' ' || category || ' ' || tags), 'B') ||
    setweight(to_tsvector('simple', description), 'C')) STORED;
CREATE INDEX goods_doc ON goods USING gin (doc);
ANALYZE goods;
