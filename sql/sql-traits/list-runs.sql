-- list-runs: a SQL trait's runs, the latest first.
-- params: $1 space, $2 key, $3 at most this many
-- returns: run, trigger, status, started_at, finished_at (epoch ms), rows_read, changed, removed,
--          refused, error_code, error
SELECT run, trigger, status,
       round(extract(epoch FROM started_at) * 1000)::float8 AS started_at,
       round(extract(epoch FROM finished_at) * 1000)::float8 AS finished_at,
       rows_read, changed, removed, refused, error_code, error
FROM sql_trait_runs
WHERE space = $1 AND key = $2
ORDER BY run DESC
LIMIT $3
