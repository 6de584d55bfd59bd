-- claim-slot: takes a due slot of a SQL trait by moving next_run_at on from the value read (compare and
-- set): of processes that read the same slot, exactly one gets a row back and runs it.
-- params: $1 space, $2 key, $3 slot read (text), $4 next slot (timestamptz)
-- returns: claimed (1 row for the winner)
UPDATE sql_traits SET next_run_at = $4
WHERE space = $1 AND key = $2 AND deleted_at IS NULL AND next_run_at = $3::timestamptz
RETURNING 1 AS claimed
