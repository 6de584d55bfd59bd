-- due-traits: live SQL traits whose scheduled slot has come, every space, the most overdue first.
-- params: $1 at most this many
-- returns: space, key, schedule, slot (next_run_at as text, exact, for claim-slot)
SELECT space, key, schedule, next_run_at::text AS slot
FROM sql_traits
WHERE deleted_at IS NULL AND next_run_at <= now()
ORDER BY next_run_at
LIMIT $1
