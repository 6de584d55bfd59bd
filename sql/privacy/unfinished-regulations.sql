-- unfinished-regulations: requests not FINISHED or FAILED whose worker has been silent since $1, oldest
-- first, for the recovery pass.
-- params: $1 silent since (timestamptz), $2 limit
-- returns: id
SELECT id FROM regulations
WHERE status IN ('INITIALIZED', 'RUNNING') AND updated_at < $1
ORDER BY created_at
LIMIT $2
