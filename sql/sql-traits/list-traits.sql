-- list-traits: a space's live SQL traits (or the one of key $2), oldest first, with their latest run.
-- params: $1 space, $2 key (or null: all)
-- returns: key, level, target_id, query, schedule, description, next_run_at, created_at (epoch ms),
--          and the latest run's run, status, error_code (null when none ran)
SELECT t.key, t.level, t.target_id, t.query, t.schedule, t.description,
       round(extract(epoch FROM t.next_run_at) * 1000)::float8 AS next_run_at,
       round(extract(epoch FROM t.created_at) * 1000)::float8 AS created_at,
       r.run, r.status, r.error_code
FROM sql_traits t
LEFT JOIN LATERAL (
  SELECT run, status, error_code FROM sql_trait_runs
  WHERE space = t.space AND key = t.key ORDER BY run DESC LIMIT 1
) r ON true
WHERE t.space = $1 AND t.deleted_at IS NULL AND ($2::text IS NULL OR t.key = $2)
ORDER BY t.created_at, t.key
