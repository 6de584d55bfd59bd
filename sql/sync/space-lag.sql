-- space-lag: the change-log rows of a space after a position, committed (commit-safe order, as
-- read-changes.sql), and when the oldest of them was written: a target's lag.
-- params: $1 space, $2 after txid (text, '0' from the start), $3 after position (text)
-- returns: pending (int), oldest (epoch ms or null)
SELECT count(*)::int AS pending, round(extract(epoch FROM min(at)) * 1000)::float8 AS oldest
FROM changes
WHERE space = $1
  AND (txid, position) > ($2::xid8, $3::bigint)
  AND txid < pg_snapshot_xmin(pg_current_snapshot())
