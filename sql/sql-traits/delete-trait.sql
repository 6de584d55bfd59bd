-- delete-trait: marks a SQL trait deleted (its key stays taken, its runs stay); its last values stay on
-- the profiles as ordinary traits, as a deleted computed trait's do (SEMANTICS.md §9).
-- params: $1 space, $2 key
-- returns: deleted (1 row when a live trait was deleted)
UPDATE sql_traits SET deleted_at = now()
WHERE space = $1 AND key = $2 AND deleted_at IS NULL
RETURNING 1 AS deleted
