-- create-destination: a destination, its keys and its initial sync, in one statement so that one snapshot
-- splits the sync from the changes that follow (docs/adr/0023): every current member of its audiences and
-- current value of its computed traits is queued, the keys record the snapshot those values were read in,
-- and the cursor starts at that snapshot's xmin (every change below it is visible in the snapshot).
-- params: $1 space, $2 id, $3 name, $4 url, $5 modes (text[]), $6 encrypted secret,
--   $7 keys (jsonb array of {key, computation, level})
-- A user-level key is sent in each of the modes `identify` and `track` the destination has; an account-level
-- key as a `group` call when the destination has that mode.
-- returns: id, queued (deliveries of the initial sync)
WITH snap AS (SELECT pg_current_snapshot() AS s),
dest AS (
  INSERT INTO destinations (space, id, name, kind, url, modes, secret, cursor_txid, cursor_id)
  SELECT $1, $2, $3, 'webhook', $4, $5::text[], $6, pg_snapshot_xmin(s), 0 FROM snap
  RETURNING id
),
keys AS (
  INSERT INTO destination_keys (destination_id, trait_key, computation, level, snapshot)
  SELECT $2, k.key, k.computation, k.level, snap.s
  FROM jsonb_to_recordset($7::jsonb) AS k(key text, computation text, level text), snap
  RETURNING trait_key, computation
),
queued AS (
  INSERT INTO destination_deliveries
    (destination_id, space, subject_id, computation, trait_key, mode, old_value, new_value, change_id, message_id, at)
  SELECT $2, $1, v.subject_id, k.computation, v.trait_key, m.mode, NULL, v.value, NULL,
         'sg-sync-' || md5($2 || E'\n' || v.subject_id || E'\n' || v.trait_key) || '-' || m.mode, now()
  FROM jsonb_to_recordset($7::jsonb) AS k(key text, computation text, level text)
  JOIN computed_values v ON v.space = $1 AND v.level = k.level AND v.trait_key = k.key
  CROSS JOIN unnest($5::text[]) AS m(mode)
  -- An audience's members (a non-member's `false` kept for its instant is not one), a trait's values.
  WHERE (k.computation = 'computed_trait' OR v.value = 'true'::jsonb)
    AND (k.level = 'ACCOUNTS') = (m.mode = 'group')
  ORDER BY v.subject_id, v.trait_key, m.mode
  RETURNING 1
)
SELECT (SELECT id FROM dest) AS id, (SELECT count(*) FROM keys)::int AS keys,
       (SELECT count(*) FROM queued)::int AS queued
