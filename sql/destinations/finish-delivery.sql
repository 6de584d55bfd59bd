-- finish-delivery: the outcome of one attempt: DELIVERED, PENDING again at a later time, or FAILED (given
-- up); the lease ends. Only while the attempt's lease is held ($7: the attempts count it was taken with),
-- so a sender whose lease ran out and whose delivery was taken again does not overwrite the newer attempt.
-- params: $1 id, $2 status, $3 next attempt (timestamptz or null), $4 HTTP status (or null),
--   $5 error (or null), $6 payload (jsonb), $7 attempts
-- returns: id
UPDATE destination_deliveries
SET status = $2, next_attempt_at = coalesce($3::timestamptz, next_attempt_at), leased_until = NULL,
    last_status = $4, last_error = $5, payload = $6::jsonb,
    delivered_at = CASE WHEN $2 = 'DELIVERED' THEN now() ELSE delivered_at END
WHERE id = $1::bigint AND status = 'PENDING' AND attempts = $7
RETURNING id
