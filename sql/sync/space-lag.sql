-- space-lag: what of a space a target has yet to read, committed (commit-safe order, as read-changes.sql):
-- change-log rows after its position and computed-value changes after its values position, and when the
-- oldest of them was written: a target's lag.
-- params: $1 space, $2 after txid (text, '0' from the start), $3 after position (text),
--         $4 values after txid (text, '0' from the start), $5 values after id (text)
-- returns: pending (int), oldest (epoch ms or null)
WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
log AS (
  SELECT count(*)::int AS pending, min(at) AS oldest FROM changes, horizon
  WHERE space = $1 AND (txid, position) > ($2::xid8, $3::bigint) AND txid < horizon.xmin
),
vals AS (
  SELECT count(*)::int AS pending, min(at) AS oldest FROM computed_value_changes, horizon
  WHERE space = $1 AND (txid, id) > ($4::xid8, $5::bigint) AND txid < horizon.xmin
)
SELECT log.pending + vals.pending AS pending,
       round(extract(epoch FROM least(log.oldest, vals.oldest)) * 1000)::float8 AS oldest
FROM log, vals
