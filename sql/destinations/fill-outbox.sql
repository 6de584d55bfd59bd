-- fill-outbox: a destination's next changes turned into deliveries, and its cursor moved past them, in one
-- statement (docs/adr/0023): a crash before the commit leaves both as they were, after it both are done.
-- Changes are read in commit-safe order (as read-changes.sql: only transactions older than every one still
-- running), so none can later appear behind the cursor. A change is delivered when it is not already part
-- of its key's initial sync (its transaction not visible in the key's snapshot), is an entry or exit for
-- an audience, and is not a merged-away profile's values going (its survivor's own changes say what
-- holds now). The destination row is locked (SKIP LOCKED): one process fills a destination at a time.
-- params: $1 destination id, $2 limit
-- returns: read (changes read), queued (deliveries written)
WITH d AS (
  SELECT id, space, modes, cursor_txid, cursor_id FROM destinations WHERE id = $1 FOR UPDATE SKIP LOCKED
),
c AS (
  SELECT c.id, c.txid, c.subject_id, c.trait_key, c.old_value, c.new_value, c.at, c.cause, k.computation,
         k.level, k.snapshot
  FROM d
  JOIN destination_keys k ON k.destination_id = d.id
  JOIN computed_value_changes c ON c.space = d.space AND c.level = k.level AND c.trait_key = k.trait_key
  WHERE (c.txid, c.id) > (d.cursor_txid, d.cursor_id)
    AND c.txid < pg_snapshot_xmin(pg_current_snapshot())
  ORDER BY c.txid, c.id
  LIMIT $2
),
queued AS (
  INSERT INTO destination_deliveries
    (destination_id, space, subject_id, computation, trait_key, mode, old_value, new_value, change_id, message_id, at)
  SELECT d.id, d.space, c.subject_id, c.computation, c.trait_key, m.mode, c.old_value, c.new_value, c.id,
         'sg-' || c.id || '-' || m.mode, c.at
  FROM c CROSS JOIN d CROSS JOIN unnest(d.modes) AS m(mode)
  WHERE NOT pg_visible_in_snapshot(c.txid, c.snapshot)
    -- A user-level key in the modes identify and track, an account-level one as a group call.
    AND (c.level = 'ACCOUNTS') = (m.mode = 'group')
    AND (c.computation = 'computed_trait'
         OR coalesce(c.new_value = 'true'::jsonb, false) <> coalesce(c.old_value = 'true'::jsonb, false))
    AND NOT (c.cause = 'merge' AND c.new_value IS NULL
             AND EXISTS (SELECT 1 FROM profile_merges pm WHERE pm.space = d.space AND pm.merged_id = c.subject_id))
  ORDER BY c.txid, c.id, m.mode
  ON CONFLICT (destination_id, message_id) DO NOTHING
  RETURNING 1
),
moved AS (
  UPDATE destinations SET cursor_txid = last.txid, cursor_id = last.id
  FROM (SELECT txid, id FROM c ORDER BY txid DESC, id DESC LIMIT 1) AS last
  WHERE destinations.id = $1
  RETURNING 1
)
SELECT (SELECT count(*) FROM c)::int AS read, (SELECT count(*) FROM queued)::int AS queued,
       (SELECT count(*) FROM moved)::int AS moved
