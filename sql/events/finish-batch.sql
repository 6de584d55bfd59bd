-- finish-batch: copies a batch's identity effect from the graph into the event store, once: the batch's
-- pending row is deleted, and only the statement that deleted it writes the rest (a second finisher waits
-- for the first's commit, then finds nothing to delete). Run after lock-identity-map in the same
-- transaction (docs/adr/0018-event-store.md).
-- params: $1 batch id (uuid), $2 space,
--   $3 identifiers of events (jsonb array of {key, timestamp, message_id, type, name, received_at}; times in
--      epoch ms): which identifiers each applied event resolved with, how profile reads find it,
--   $4 violations (jsonb array of {message_id, timestamp, received_at, violations}),
--   $5 refused (text[]: messageIds refused by resolution: their rows and claims are removed, §1),
--   $6 identity links (jsonb array of {key, profile_id}): identifiers that joined a profile,
--   $7 merges (jsonb array of {merged_id, survivor_id}; survivors final within the batch),
--   $8 changes (jsonb array of {kind, payload}, in order)
-- The memberships of the changes' `memberships` entries join account_members, and a merged-away profile's
-- memberships move to its survivor, as the graph's MEMBER_OF edges do.
-- returns: finished (1 when this statement finished the batch, 0 when it was finished already)
WITH done AS (
  DELETE FROM pending_batches WHERE batch_id = $1::uuid RETURNING batch_id
),
linked AS (
  INSERT INTO event_identifiers (space, key, "timestamp", message_id, type, name, received_at)
  SELECT $2, r.key, to_timestamp(r."timestamp" / 1000), r.message_id, r.type, r.name,
         to_timestamp(r.received_at / 1000)
  FROM jsonb_to_recordset($3::jsonb) AS r(key text, "timestamp" float8, message_id text, type text,
                                          name text, received_at float8)
  WHERE EXISTS (SELECT 1 FROM done)
),
months AS (
  -- The months each identifier has events of each stream in (0017-identifier-months.sql), in one order
  -- everywhere, so that writers adding the same new month wait for each other rather than deadlock.
  INSERT INTO identifier_months (space, key, type, name, month)
  SELECT DISTINCT $2, r.key, r.type, CASE WHEN r.type = 'track' THEN coalesce(r.name, '') ELSE '' END,
         date_trunc('month', to_timestamp(r.received_at / 1000), 'UTC')
  FROM jsonb_to_recordset($3::jsonb) AS r(key text, type text, name text, received_at float8)
  WHERE r.type IN ('track', 'page', 'screen') AND EXISTS (SELECT 1 FROM done)
  ORDER BY 2, 3, 4, 5
  ON CONFLICT DO NOTHING
),
violated AS (
  INSERT INTO event_violations (space, message_id, "timestamp", violations, received_at)
  SELECT $2, v.message_id, to_timestamp(v."timestamp" / 1000), v.violations, to_timestamp(v.received_at / 1000)
  FROM jsonb_to_recordset($4::jsonb) AS v(message_id text, "timestamp" float8, violations jsonb,
                                          received_at float8)
  WHERE EXISTS (SELECT 1 FROM done)
),
unclaimed AS (
  DELETE FROM message_ids WHERE space = $2 AND message_id = ANY($5::text[]) AND EXISTS (SELECT 1 FROM done)
),
refused_identifies AS (
  DELETE FROM identifies WHERE space = $2 AND id = ANY($5::text[]) AND EXISTS (SELECT 1 FROM done)
),
refused_tracks AS (
  DELETE FROM tracks WHERE space = $2 AND id = ANY($5::text[]) AND EXISTS (SELECT 1 FROM done)
),
refused_pages AS (
  DELETE FROM pages WHERE space = $2 AND id = ANY($5::text[]) AND EXISTS (SELECT 1 FROM done)
),
refused_screens AS (
  DELETE FROM screens WHERE space = $2 AND id = ANY($5::text[]) AND EXISTS (SELECT 1 FROM done)
),
refused_groups AS (
  DELETE FROM groups WHERE space = $2 AND id = ANY($5::text[]) AND EXISTS (SELECT 1 FROM done)
),
refused_aliases AS (
  DELETE FROM aliases WHERE space = $2 AND id = ANY($5::text[]) AND EXISTS (SELECT 1 FROM done)
),
merges AS (
  -- A survivor that an earlier batch merged away since is followed one hop (profile_merges is flat).
  SELECT m.merged_id, coalesce(pm.survivor_id, m.survivor_id) AS survivor_id
  FROM jsonb_to_recordset($7::jsonb) AS m(merged_id text, survivor_id text)
  LEFT JOIN profile_merges pm ON pm.space = $2 AND pm.merged_id = m.survivor_id
  WHERE EXISTS (SELECT 1 FROM done)
),
merged AS (
  INSERT INTO profile_merges (space, merged_id, survivor_id, at)
  SELECT $2, merged_id, survivor_id, now() FROM merges
  ON CONFLICT (space, merged_id) DO UPDATE SET survivor_id = EXCLUDED.survivor_id
),
repointed_merges AS (
  UPDATE profile_merges pm SET survivor_id = m.survivor_id
  FROM merges m WHERE pm.space = $2 AND pm.survivor_id = m.merged_id
),
repointed AS (
  UPDATE identity_map im SET profile_id = m.survivor_id
  FROM merges m WHERE im.space = $2 AND im.profile_id = m.merged_id
),
mapped AS (
  INSERT INTO identity_map (space, key, profile_id)
  SELECT $2, l.key, coalesce(pm.survivor_id, l.profile_id)
  FROM jsonb_to_recordset($6::jsonb) AS l(key text, profile_id text)
  LEFT JOIN profile_merges pm ON pm.space = $2 AND pm.merged_id = l.profile_id
  WHERE EXISTS (SELECT 1 FROM done)
  ON CONFLICT (space, key) DO UPDATE SET profile_id = EXCLUDED.profile_id
),
moved_members AS (
  DELETE FROM account_members am USING merges m
  WHERE am.space = $2 AND am.profile_id = m.merged_id
  RETURNING am.group_id, m.survivor_id AS profile_id
),
joined AS (
  SELECT j."groupId" AS group_id, coalesce(m.survivor_id, pm.survivor_id, j."profileId") AS profile_id
  FROM (SELECT value FROM jsonb_array_elements($8::jsonb) WHERE value ->> 'kind' = 'memberships') AS e
  CROSS JOIN LATERAL jsonb_to_recordset(e.value -> 'payload') AS j("groupId" text, "profileId" text)
  LEFT JOIN merges m ON m.merged_id = j."profileId"
  LEFT JOIN profile_merges pm ON pm.space = $2 AND pm.merged_id = j."profileId"
  WHERE EXISTS (SELECT 1 FROM done)
),
members AS (
  INSERT INTO account_members (space, group_id, profile_id)
  SELECT DISTINCT $2, group_id, profile_id FROM (SELECT * FROM moved_members UNION ALL SELECT * FROM joined) a
  ON CONFLICT DO NOTHING
),
logged AS (
  INSERT INTO changes (space, kind, payload)
  SELECT $2, c.kind, c.payload
  FROM jsonb_array_elements($8::jsonb) WITH ORDINALITY AS e(value, ord),
       jsonb_to_record(e.value) AS c(kind text, payload jsonb)
  WHERE EXISTS (SELECT 1 FROM done)
  ORDER BY e.ord
)
SELECT count(*)::int AS finished FROM done
