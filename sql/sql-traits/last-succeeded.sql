-- last-succeeded: the number of a SQL trait's latest SUCCEEDED run before a given run (0: none), the basis
-- of that run's messageIds (docs/adr/0025-sql-traits.md): a run that died and the run after it share it.
-- params: $1 space, $2 key, $3 the run asking
-- returns: run
SELECT coalesce(max(run), 0)::int AS run
FROM sql_trait_runs
WHERE space = $1 AND key = $2 AND status = 'SUCCEEDED' AND run < $3
