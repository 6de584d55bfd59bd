-- list-deliveries: a destination's deliveries, newest first, of one status or all, after a cursor (an id).
-- params: $1 space, $2 destination id, $3 status (or null), $4 before id (or null), $5 limit
-- returns: the deliveries' columns (times as epoch ms)
SELECT d.id::text AS id, d.subject_id, d.computation, d.trait_key, d.mode, d.old_value, d.new_value,
       d.change_id::text AS change_id, d.message_id, d.status, d.attempts,
       round(extract(epoch FROM d.at) * 1000)::float8 AS at,
       round(extract(epoch FROM d.next_attempt_at) * 1000)::float8 AS next_attempt_at,
       d.last_error, d.last_status, d.payload,
       round(extract(epoch FROM d.created_at) * 1000)::float8 AS created_at,
       round(extract(epoch FROM d.delivered_at) * 1000)::float8 AS delivered_at
FROM destination_deliveries d
WHERE d.space = $1 AND d.destination_id = $2 AND ($3::text IS NULL OR d.status = $3)
  AND ($4::bigint IS NULL OR d.id < $4::bigint)
ORDER BY d.id DESC
LIMIT $5
