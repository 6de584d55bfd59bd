-- delivery-counts: a destination's deliveries by status.
-- params: $1 space, $2 destination id
-- returns: status, n
SELECT status, count(*)::int AS n FROM destination_deliveries
WHERE space = $1 AND destination_id = $2 GROUP BY status
