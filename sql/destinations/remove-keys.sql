-- remove-keys: audiences and computed traits a destination no longer receives (deliveries already queued
-- for them are still sent).
-- params: $1 destination id, $2 keys (text[])
-- returns: removed
WITH gone AS (
  DELETE FROM destination_keys WHERE destination_id = $1 AND trait_key = ANY($2::text[]) RETURNING 1
)
SELECT count(*)::int AS removed FROM gone
