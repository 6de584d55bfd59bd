-- list-pending-batches: pending batches recorded before a time, oldest first (the recovery pass).
-- params: $1 created before (timestamptz, ISO-8601), $2 limit
-- returns: batch_id (text), space, message_ids (text[])
SELECT batch_id::text AS batch_id, space, message_ids
FROM pending_batches
WHERE created_at < $1::timestamptz
ORDER BY created_at
LIMIT $2
