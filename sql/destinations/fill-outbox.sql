-- fill-outbox: a destination's next changes turned into deliveries, and its cursor moved past them, in one
-- statement (docs/adr/0023): a crash before the commit leaves both as they were, after it both are done.
-- Changes are read in commit-safe order (as read-changes.sql: only transactions older than every one still
-- running), so none can later appear behind the cursor. A change is delivered when it is not already part
-- of its key's initial sync (its transaction not visible in the key's snapshot), is an entry or exit for
-- an audience, and is not a merged-away profile's values going (its survivor's own changes say what
-- holds now; in the identify mode the survivor's current value is restated). The destination row is locked (SKIP LOCKED): one process fills a destination at a time.
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
  SELECT q.destination_id, q.space, q.subject_id, q.computation, q.trait_key, q.mode, q.old_value, q.new_value,
         q.change_id, q.message_id, q.at
  FROM (
    SELECT d.id AS destination_id, d.space, c.subject_id, c.computation, c.trait_key, m.mode, c.old_value,
           c.new_value, c.id AS change_id, 'sg-' || c.id || '-' || m.mode AS message_id, c.at, c.txid,
           0 AS restated
    FROM c CROSS JOIN d CROSS JOIN unnest(d.modes) AS m(mode)
    WHERE NOT pg_visible_in_snapshot(c.txid, c.snapshot)
      -- A user-level key in the modes identify and track, an account-level one as a group call.
      AND (c.level = 'ACCOUNTS') = (m.mode = 'group')
      AND (c.computation = 'computed_trait'
           OR coalesce(c.new_value = 'true'::jsonb, false) <> coalesce(c.old_value = 'true'::jsonb, false))
      AND NOT (c.cause = 'merge' AND c.new_value IS NULL
               AND EXISTS (SELECT 1 FROM profile_merges pm WHERE pm.space = d.space AND pm.merged_id = c.subject_id))
    UNION ALL
    -- A merged-away profile's value going: in the identify mode its survivor's current value is restated
    -- (read now; null when it has none), so a receiver that held the merged-away ids' last state hears
    -- what holds for the person (docs/adr/0023, "Merges"). Track calls are history and are not restated.
    SELECT d.id, d.space, pm.survivor_id, c.computation, c.trait_key, 'identify', NULL, v.value, c.id,
           'sg-' || c.id || '-restate', c.at, c.txid, 1
    FROM c CROSS JOIN d
    JOIN profile_merges pm ON pm.space = d.space AND pm.merged_id = c.subject_id
    LEFT JOIN computed_values v ON v.space = d.space AND v.level = 'USERS' AND v.subject_id = pm.survivor_id
                               AND v.trait_key = c.trait_key
    WHERE NOT pg_visible_in_snapshot(c.txid, c.snapshot)
      AND c.level = 'USERS' AND 'identify' = ANY(d.modes)
      AND c.cause = 'merge' AND c.new_value IS NULL
  ) AS q
  ORDER BY q.txid, q.change_id, q.restated, q.mode
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
