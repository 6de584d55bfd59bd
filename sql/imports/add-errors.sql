-- add-errors: per-row errors of a job; a line already recorded is kept as it is.
-- params: $1 job id, $2 lines (bigint[]), $3 codes (text[]), $4 messages (text[]), $5 fields (text[], nulls)
-- returns: nothing
INSERT INTO profile_import_errors (job_id, line, code, message, field)
SELECT $1, e.line, e.code, e.message, e.field
FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) AS e (line, code, message, field)
ON CONFLICT (job_id, line) DO NOTHING
