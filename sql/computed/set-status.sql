-- set-status: a trait's status and backfill progress (0-1), unless it was deleted meanwhile.
-- params: $1 space, $2 key, $3 status, $4 progress, $5 failure (or null)
-- returns: updated (1 row when set)
UPDATE computed_traits
SET status = $3, progress = $4, failure = $5, updated_at = now()
WHERE space = $1 AND key = $2 AND status <> 'DELETED'
RETURNING 1 AS updated
