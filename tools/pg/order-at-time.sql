\set i random(1, :orders)
SELECT e.version, e.type, e.payload FROM events e, orders_at o
 WHERE o.id = :i AND e.stream = o.stream AND e.position <= o.position ORDER BY e.version;
