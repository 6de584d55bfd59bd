-- lock-subjects: serialises recomputations of the same subjects (the worker's and a backfill's) until the
-- transaction ends, so each reads the values the other wrote and records every change once. Locks are
-- taken in sorted order, so two transactions never wait on each other in a cycle.
-- params: $1 space, $2 subject ids (text[]), $3 level
-- returns: locked (one row per subject)
SELECT 1 AS locked
FROM (SELECT DISTINCT s FROM unnest($2::text[]) AS s ORDER BY s) AS ids,
     LATERAL (SELECT pg_advisory_xact_lock(hashtext('stitchgraph.computed'), hashtext($1 || chr(1) || $3 || chr(1) || ids.s))) AS l
