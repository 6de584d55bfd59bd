-- list-errors: a job's recorded per-row errors in line order, after a line ($2), keyset-paged.
-- params: $1 job id, $2 after line (or null), $3 page size
-- returns: line (text), code, message, field
SELECT line::text AS line, code, message, field
FROM profile_import_errors
WHERE job_id = $1 AND ($2::bigint IS NULL OR line > $2)
-- The table's line (a number), not the output column of that name (text, where 10 sorts before 9).
ORDER BY profile_import_errors.line
LIMIT $3
