-- request-resync: starts a new generation; the worker's next pass empties the target's tables and reads
-- the change log from the start into them, in the same target transaction as its first batch.
-- params: $1 id
-- returns: generation (text; one row when the target exists)
UPDATE sync_targets SET generation = generation + 1 WHERE id = $1
RETURNING generation::text AS generation
