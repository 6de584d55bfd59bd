-- add-keys: audiences and computed traits added to a destination, with their initial sync, in one statement
-- (as create-destination.sql): their current members and values are queued and the keys record the
-- snapshot they were read in. The cursor stays: it is below that snapshot's xmin, so no change is missed.
-- params: $1 destination id, $2 keys (jsonb array of {key, computation, level}); modes as in
--   create-destination.sql
-- returns: queued
WITH snap AS (SELECT pg_current_snapshot() AS s),
dest AS (SELECT id, space, modes FROM destinations WHERE id = $1),
keys AS (
  INSERT INTO destination_keys (destination_id, trait_key, computation, level, snapshot)
  SELECT $1, k.key, k.computation, k.level, snap.s
  FROM jsonb_to_recordset($2::jsonb) AS k(key text, computation text, level text), snap
  ON CONFLICT (destination_id, trait_key) DO NOTHING
  RETURNING trait_key, computation, level
),
queued AS (
  INSERT INTO destination_deliveries
    (destination_id, space, subject_id, computation, trait_key, mode, old_value, new_value, change_id, message_id, at)
  SELECT d.id, d.space, v.subject_id, k.computation, v.trait_key, m.mode, NULL, v.value, NULL,
         'sg-sync-' || md5(d.id || E'\n' || v.subject_id || E'\n' || v.trait_key) || '-' || m.mode, now()
  FROM keys k
  CROSS JOIN dest d
  JOIN computed_values v ON v.space = d.space AND v.level = k.level AND v.trait_key = k.trait_key
  CROSS JOIN unnest(d.modes) AS m(mode)
  WHERE (k.computation = 'computed_trait' OR v.value = 'true'::jsonb)
    AND (k.level = 'ACCOUNTS') = (m.mode = 'group')
  ORDER BY v.subject_id, v.trait_key, m.mode
  ON CONFLICT (destination_id, message_id) DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM queued)::int AS queued
