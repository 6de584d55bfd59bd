-- interrupt-stale: a RUNNING run of a trait whose heartbeat stopped (its process died) is FAILED,
-- INTERRUPTED, so that the trait can run again.
-- params: $1 space, $2 key, $3 stale after (ms)
-- returns: run (of each run marked)
UPDATE sql_trait_runs
SET status = 'FAILED', finished_at = now(), error_code = 'INTERRUPTED',
    error = 'the process running it stopped before it finished; the next run sends what it did not'
WHERE space = $1 AND key = $2 AND status = 'RUNNING'
  AND heartbeat_at < now() - make_interval(secs => $3::float8 / 1000)
RETURNING run
