-- delete-person: removes from the event store everything of a person (docs/adr/0027): the events any of
-- the keys carried (each table of the Segment shapes), their identifier rows and violations, their
-- deduplication claims, the months its identifiers had events in, the identity map and merges of the profiles, their computed values, value changes
-- (audience histories), pending recomputations, audience projection, account memberships, destination
-- deliveries and the values SQL traits last sent for its ids. All statements see the snapshot taken before
-- any delete, so the message ids are the events'.
-- params: $1 space, $2 identifier keys (text[]), $3 profile ids (text[], live and merged-away)
-- returns: events, identifiers, values (counts deleted), only_keys (text[]: other identifier keys those
--          events carried that no other event carries: the person's too, e.g. an anonymous id that an
--          event racing the deletion put on a profile of its own; the caller deletes them in its next pass)
WITH mids AS (
  SELECT DISTINCT message_id FROM event_identifiers WHERE space = $1 AND key = ANY($2::text[])
),
only_keys AS (
  SELECT DISTINCT ei.key FROM event_identifiers ei
  WHERE ei.space = $1 AND ei.message_id IN (SELECT message_id FROM mids) AND ei.key <> ALL($2::text[])
    AND NOT EXISTS (SELECT 1 FROM event_identifiers other
                    WHERE other.space = $1 AND other.key = ei.key
                      AND other.message_id NOT IN (SELECT message_id FROM mids))
),
d_identifies AS (DELETE FROM identifies WHERE space = $1 AND id IN (SELECT message_id FROM mids)),
d_tracks AS (DELETE FROM tracks WHERE space = $1 AND id IN (SELECT message_id FROM mids)),
d_pages AS (DELETE FROM pages WHERE space = $1 AND id IN (SELECT message_id FROM mids)),
d_screens AS (DELETE FROM screens WHERE space = $1 AND id IN (SELECT message_id FROM mids)),
d_groups AS (DELETE FROM groups WHERE space = $1 AND id IN (SELECT message_id FROM mids)),
d_aliases AS (DELETE FROM aliases WHERE space = $1 AND id IN (SELECT message_id FROM mids)),
d_event_ids AS (
  DELETE FROM event_identifiers WHERE space = $1 AND message_id IN (SELECT message_id FROM mids)
),
d_violations AS (
  DELETE FROM event_violations WHERE space = $1 AND message_id IN (SELECT message_id FROM mids)
),
d_claims AS (
  DELETE FROM message_ids WHERE space = $1 AND message_id IN (SELECT message_id FROM mids)
  RETURNING message_id
),
d_map AS (
  DELETE FROM identity_map
  WHERE space = $1 AND (key = ANY($2::text[]) OR profile_id = ANY($3::text[]))
  RETURNING key
),
d_months AS (
  -- The months the person's identifiers had events in (0017-identifier-months.sql) go with them.
  DELETE FROM identifier_months
  WHERE space = $1 AND (key = ANY($2::text[]) OR key IN (SELECT key FROM d_map))
),
d_merges AS (
  DELETE FROM profile_merges
  WHERE space = $1 AND (merged_id = ANY($3::text[]) OR survivor_id = ANY($3::text[]))
),
d_values AS (
  DELETE FROM computed_values
  WHERE space = $1 AND level = 'USERS' AND subject_id = ANY($3::text[])
  RETURNING trait_key
),
d_changes AS (
  DELETE FROM computed_value_changes WHERE space = $1 AND level = 'USERS' AND subject_id = ANY($3::text[])
),
d_dirty AS (
  DELETE FROM computed_dirty WHERE space = $1 AND level = 'USERS' AND subject_id = ANY($3::text[])
),
d_projection AS (
  DELETE FROM audience_projection WHERE space = $1 AND level = 'USERS' AND subject_id = ANY($3::text[])
),
d_members AS (DELETE FROM account_members WHERE space = $1 AND profile_id = ANY($3::text[])),
d_deliveries AS (
  DELETE FROM destination_deliveries
  WHERE space = $1 AND mode <> 'group' AND subject_id = ANY($3::text[])
),
-- The values SQL traits last sent for the person's ids (user_id, anonymous_id, email; emails compared
-- case-blind, as the trait's rows may spell them otherwise): a later run sends the warehouse's row anew.
d_sql_values AS (
  DELETE FROM sql_trait_values v
  USING (SELECT split_part(k, ':', 1) AS type, substr(k, strpos(k, ':') + 1) AS value
         FROM unnest($2::text[]) AS k) AS ids
  WHERE v.space = $1 AND ids.type IN ('user_id', 'anonymous_id', 'email')
    AND (v.id_value = ids.value OR (ids.type = 'email' AND lower(v.id_value) = ids.value))
)
SELECT (SELECT count(*) FROM d_claims)::int AS events, (SELECT count(*) FROM d_map)::int AS identifiers,
       (SELECT count(*) FROM d_values)::int AS values,
       coalesce((SELECT array_agg(key) FROM only_keys), '{}') AS only_keys
