-- finish-job: a job's end, DONE or FAILED, with its final counts and, when FAILED, why.
-- params: $1 id, $2 status, $3 bytes read, $4 rows, $5 applied, $6 duplicates, $7 refused,
--         $8 error code, $9 error message, $10 error field (each null unless FAILED)
-- returns: nothing
UPDATE profile_imports
SET status = $2, bytes_read = $3, rows = $4, applied = $5, duplicates = $6, refused = $7,
    error_code = $8, error_message = $9, error_field = $10, updated_at = now(), finished_at = now()
WHERE id = $1
