-- start-run: a new RUNNING run of a live trait, numbered after the last; nothing when the trait is
-- deleted or another run of it is RUNNING (the partial unique index), in this or another process.
-- params: $1 space, $2 key, $3 trigger (SCHEDULE | MANUAL)
-- returns: run (1 row when started)
INSERT INTO sql_trait_runs (space, key, run, trigger, status)
SELECT $1, $2, coalesce((SELECT max(run) FROM sql_trait_runs WHERE space = $1 AND key = $2), 0) + 1,
       $3, 'RUNNING'
WHERE EXISTS (SELECT 1 FROM sql_traits WHERE space = $1 AND key = $2 AND deleted_at IS NULL)
ON CONFLICT DO NOTHING
RETURNING run
