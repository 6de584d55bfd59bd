-- write-values: the outcome of recomputing some subjects, in one statement: values set (upserted) or
-- cleared (deleted: the empty value), a change row for each that moved, the values of merged-away
-- subjects removed (each recorded as a change to the empty value, cause merge), and the subjects' dirty
-- rows removed.
-- params: $1 space,
--   $2 set (jsonb array of {subject_id, trait_key, value, expires_at (epoch ms or null)}),
--   $3 cleared (jsonb array of {subject_id, trait_key}),
--   $4 changes (jsonb array of {subject_id, trait_key, old_value, new_value, cause, message_id}),
--   $5 done (text[]: subject ids whose dirty rows go), $6 gone (text[]: merged-away subjects), $7 now,
--   $8 level (USERS: the subjects are profiles; ACCOUNTS: group ids),
--   $9 empty (jsonb object: each computation's empty value by key)
-- returns: written (values set)
WITH set_values AS (
  INSERT INTO computed_values (space, level, subject_id, trait_key, value, updated_at, expires_at)
  -- An empty value kept for its instant may be JSON null, which jsonb_to_recordset reads as SQL NULL.
  SELECT $1, $8, s.subject_id, s.trait_key, coalesce(s.value, 'null'::jsonb), $7::timestamptz,
         CASE WHEN s.expires_at IS NULL THEN NULL ELSE to_timestamp(s.expires_at / 1000) END
  FROM jsonb_to_recordset($2::jsonb) AS s(subject_id text, trait_key text, value jsonb, expires_at float8)
  -- A trait deleted since the worker read it keeps no new values (its deletion is taking them away).
  WHERE NOT EXISTS (SELECT 1 FROM computed_traits t
                    WHERE t.space = $1 AND t.key = s.trait_key AND t.status = 'DELETED')
  ON CONFLICT (space, level, subject_id, trait_key) DO UPDATE
    SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at,
        updated_at = CASE WHEN computed_values.value = EXCLUDED.value THEN computed_values.updated_at
                          ELSE EXCLUDED.updated_at END
  RETURNING 1
),
cleared AS (
  DELETE FROM computed_values v
  USING jsonb_to_recordset($3::jsonb) AS c(subject_id text, trait_key text)
  WHERE v.space = $1 AND v.level = $8 AND v.subject_id = c.subject_id AND v.trait_key = c.trait_key
),
gone AS (
  DELETE FROM computed_values WHERE space = $1 AND level = $8 AND subject_id = ANY($6::text[])
  RETURNING subject_id, trait_key, value
),
gone_logged AS (
  -- A merged-away profile's values go with it: each is recorded as a change to the empty value. An empty
  -- value kept only for its instant (a non-member's `false`, docs/adr/0022 "Ageing") held nothing: its
  -- going is no change, and for an audience no exit.
  INSERT INTO computed_value_changes (space, level, subject_id, trait_key, old_value, new_value, at, cause, message_id)
  SELECT $1, $8, g.subject_id, g.trait_key, g.value, NULL, $7::timestamptz, 'merge', NULL FROM gone g
  WHERE g.value <> coalesce($9::jsonb -> g.trait_key, 'null'::jsonb)
),
logged AS (
  INSERT INTO computed_value_changes (space, level, subject_id, trait_key, old_value, new_value, at, cause, message_id)
  SELECT $1, $8, c.subject_id, c.trait_key, c.old_value, c.new_value, $7::timestamptz, c.cause, c.message_id
  FROM jsonb_to_recordset($4::jsonb) AS c(subject_id text, trait_key text, old_value jsonb, new_value jsonb,
                                          cause text, message_id text)
),
projected AS (
  -- Subjects whose audience memberships changed, or that were merged away: the graph's IN_AUDIENCE edges
  -- follow (audience_projection, docs/adr/0022).
  INSERT INTO audience_projection (space, level, subject_id)
  SELECT DISTINCT $1, $8, p.subject_id
  FROM (SELECT c.subject_id
        FROM jsonb_to_recordset($4::jsonb) AS c(subject_id text, trait_key text)
        JOIN computed_traits t ON t.space = $1 AND t.key = c.trait_key AND t.kind = 'audience'
        UNION ALL
        SELECT unnest($6::text[])) AS p(subject_id)
  -- An update, not DO NOTHING: a row the projector holds (FOR UPDATE) is waited for, so that a change
  -- committed after it read the memberships is projected again rather than dropped with its row.
  ON CONFLICT (space, level, subject_id) DO UPDATE SET since = EXCLUDED.since
),
done AS (
  DELETE FROM computed_dirty WHERE space = $1 AND level = $8 AND subject_id = ANY($5::text[])
)
SELECT count(*)::int AS written FROM set_values
