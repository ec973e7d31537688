\set i random(1, :queries)
SELECT g.id, ts_rank(g.doc, q.query) AS rank
  FROM goods g, (SELECT websearch_to_tsquery('simple', q) AS query FROM queries WHERE id = :i) q
 WHERE g.doc @@ q.query
 ORDER BY rank DESC, g.id
 LIMIT 20;
