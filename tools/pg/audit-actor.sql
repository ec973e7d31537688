\set i random(1, :actors)
SELECT position, stream, version, type, actor, recorded_at, payload FROM events
 WHERE actor = (SELECT actor FROM actors WHERE id = :i) ORDER BY position LIMIT 100;
