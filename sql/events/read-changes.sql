-- read-changes: the change log after a position, in commit-safe order: only rows of transactions older
-- than every transaction still running, so no row can later appear before one already read. A read never
-- ends inside a commit: `limit` rows, then the rest of the last one's transaction (a commit's entries,
-- such as a group call's `events` and `memberships`, are read by one pass, so that a consumer sees them
-- together).
-- params: $1 after txid (xid8 as text, '0' from the start), $2 after position (bigint), $3 limit
-- returns: txid (text), position (text), space, kind, payload (jsonb), at (epoch ms)
WITH page AS (
  SELECT txid FROM changes
  WHERE (txid, position) > ($1::xid8, $2::bigint)
    AND txid < pg_snapshot_xmin(pg_current_snapshot())
  ORDER BY txid, position
  LIMIT $3
)
SELECT txid::text AS txid, position::text AS position, space, kind, payload,
       round(extract(epoch FROM at) * 1000)::float8 AS at
FROM changes
WHERE (txid, position) > ($1::xid8, $2::bigint)
  AND txid <= (SELECT max(txid) FROM page)
-- Qualified: the bare names would sort by the text columns of the select list ('10' before '9').
ORDER BY changes.txid, changes.position
