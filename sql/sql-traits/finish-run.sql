-- finish-run: a run's outcome and counts; an error code and message when it was refused or failed.
-- params: $1 space, $2 key, $3 run, $4 status (SUCCEEDED | FAILED), $5 rows, $6 changed, $7 removed,
--         $8 refused, $9 error code, $10 error message
-- returns: nothing
UPDATE sql_trait_runs
SET status = $4, finished_at = now(), heartbeat_at = now(), rows_read = $5, changed = $6, removed = $7,
    refused = $8, error_code = $9, error = $10
WHERE space = $1 AND key = $2 AND run = $3
