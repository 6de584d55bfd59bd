-- replay-deliveries: given-up deliveries (one by id, or all of a destination) sent again: PENDING, due now,
-- their attempts counted afresh. They keep their place in their subject's order (their id).
-- params: $1 space, $2 destination id (or null), $3 delivery id (or null)
-- returns: id, destination_id
UPDATE destination_deliveries
SET status = 'PENDING', attempts = 0, next_attempt_at = now(), leased_until = NULL
WHERE space = $1 AND status = 'FAILED'
  AND ($2::text IS NULL OR destination_id = $2) AND ($3::bigint IS NULL OR id = $3::bigint)
RETURNING id::text AS id, destination_id
