-- read-space-changes: one space's change log after a position, in commit-safe order (as read-changes.sql):
-- only rows of transactions older than every transaction still running. Profiles Sync reads it.
-- params: $1 space, $2 after txid (xid8 as text, '0' from the start), $3 after position (bigint), $4 limit
-- returns: txid (text), position (text), space, kind, payload (jsonb), at (epoch ms)
SELECT txid::text AS txid, position::text AS position, space, kind, payload,
       round(extract(epoch FROM at) * 1000)::float8 AS at
FROM changes
WHERE space = $1
  AND (txid, position) > ($2::xid8, $3::bigint)
  AND txid < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY changes.txid, changes.position
LIMIT $4
