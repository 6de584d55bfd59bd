-- heartbeat: a running run is alive, with its counts so far.
-- params: $1 space, $2 key, $3 run, $4 rows, $5 changed, $6 removed, $7 refused
-- returns: nothing
UPDATE sql_trait_runs
SET heartbeat_at = now(), rows_read = $4, changed = $5, removed = $6, refused = $7
WHERE space = $1 AND key = $2 AND run = $3 AND status = 'RUNNING'
