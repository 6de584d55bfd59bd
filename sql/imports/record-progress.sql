-- record-progress: a running job's counts so far (absolute values, so a repeat is harmless).
-- params: $1 id, $2 bytes read, $3 rows, $4 applied, $5 duplicates, $6 refused
-- returns: nothing
UPDATE profile_imports
SET bytes_read = $2, rows = $3, applied = $4, duplicates = $5, refused = $6, updated_at = now()
WHERE id = $1
