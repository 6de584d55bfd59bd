-- read-value-changes: a space's computed-value changes (audience memberships, computed-trait values) after a
-- position, in commit-safe order: only transactions older than every one still running (as
-- read-changes.sql), so none can later appear behind a position read here. With the computation's kind.
-- params: $1 space, $2 after txid (text; '0' from the start), $3 after id (text), $4 limit
-- returns: id (text), txid (text), level, subject_id, trait_key, kind, old_value, new_value (jsonb or null),
--          at (epoch ms), cause
SELECT c.id::text AS id, c.txid::text AS txid, c.level, c.subject_id, c.trait_key, t.kind, c.old_value,
       c.new_value, round(extract(epoch FROM c.at) * 1000)::float8 AS at, c.cause
FROM computed_value_changes c
JOIN computed_traits t ON t.space = c.space AND t.key = c.trait_key
WHERE c.space = $1 AND (c.txid, c.id) > ($2::xid8, $3::bigint)
  AND c.txid < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY c.txid, c.id
LIMIT $4
