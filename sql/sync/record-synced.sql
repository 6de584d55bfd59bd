-- record-synced: copies a target's position after a commit in the target, for status and lag, and clears
-- its last error. Never moves the copy backwards (two processes may report out of order) unless a resync
-- started a new generation.
-- params: $1 id, $2 txid (text), $3 position (text), $4 generation (text), $5 rows the target holds from
--   this generation (its own count, committed with its cursor), $6 values txid (text) and $7 values change
--   id (text): its position in computed_value_changes, or null before it read any
-- returns: nothing
UPDATE sync_targets
SET synced_txid = $2, synced_position = $3::bigint, synced_generation = $4::bigint,
    rows_written = $5::bigint, synced_values_txid = $6, synced_values_id = $7::bigint,
    last_synced_at = now(), last_error = NULL, last_error_at = NULL, failures = 0
WHERE id = $1
  AND (synced_generation IS DISTINCT FROM $4::bigint
       OR synced_txid IS NULL
       OR ($2::xid8, $3::bigint) >= (synced_txid::xid8, synced_position))
