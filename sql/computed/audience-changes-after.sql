-- audience-changes-after: an audience's entries and exits after a position, oldest first, in commit-safe
-- order (as read-changes.sql): only rows of transactions older than every transaction still running.
-- params: $1 space, $2 audience key, $3 after txid (xid8 as text), $4 after id (bigint), $5 limit
-- returns: txid (text), id (text), subject_id, entered (boolean), at (epoch ms), cause, message_id
SELECT txid::text AS txid, id::text AS id, subject_id, coalesce(new_value = 'true'::jsonb, false) AS entered,
       round(extract(epoch FROM at) * 1000)::float8 AS at, cause, message_id
FROM computed_value_changes
WHERE space = $1 AND trait_key = $2
  AND (txid, id) > ($3::xid8, $4::bigint)
  AND txid < pg_snapshot_xmin(pg_current_snapshot())
  AND coalesce(new_value = 'true'::jsonb, false) <> coalesce(old_value = 'true'::jsonb, false)
ORDER BY computed_value_changes.txid, computed_value_changes.id
LIMIT $5
