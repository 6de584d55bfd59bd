-- list-targets: sync targets, of one space or of all ($1 null), oldest first, with what their status shows.
-- params: $1 space (or null)
-- returns: id, space, kind, name, location (encrypted), display, generation, created_at (epoch ms),
--          synced_txid, synced_position (text), synced_generation (text), synced_values_txid,
--          synced_values_id (text), rows_written (text),
--          last_synced_at, last_error, last_error_at (epoch ms or null), failures
SELECT id, space, kind, name, location, display, generation::text AS generation,
       round(extract(epoch FROM created_at) * 1000)::float8 AS created_at,
       synced_txid, synced_position::text AS synced_position, synced_generation::text AS synced_generation,
       synced_values_txid, synced_values_id::text AS synced_values_id,
       rows_written::text AS rows_written,
       round(extract(epoch FROM last_synced_at) * 1000)::float8 AS last_synced_at,
       last_error, round(extract(epoch FROM last_error_at) * 1000)::float8 AS last_error_at, failures
FROM sync_targets
WHERE $1::text IS NULL OR space = $1
-- The table's created_at, not the millisecond output column of that name.
ORDER BY sync_targets.created_at, sync_targets.id
