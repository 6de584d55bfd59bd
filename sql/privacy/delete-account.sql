-- delete-account: removes from the event store an account (docs/adr/0027): its group calls (each with its
-- identifier rows, violations and deduplication claim), its memberships, its account-level computed values,
-- value changes (audience histories), pending recomputations, audience projection, `group` deliveries
-- and the values account-level SQL traits last sent for it.
-- The members' own events and profiles stay: they are people, deleted by their own requests.
-- params: $1 space, $2 group id
-- returns: events, members, values (counts deleted)
WITH mids AS (
  SELECT id AS message_id FROM groups WHERE space = $1 AND group_id = $2
),
d_groups AS (DELETE FROM groups WHERE space = $1 AND id IN (SELECT message_id FROM mids)),
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
d_members AS (DELETE FROM account_members WHERE space = $1 AND group_id = $2 RETURNING profile_id),
d_values AS (
  DELETE FROM computed_values WHERE space = $1 AND level = 'ACCOUNTS' AND subject_id = $2
  RETURNING trait_key
),
d_changes AS (
  DELETE FROM computed_value_changes WHERE space = $1 AND level = 'ACCOUNTS' AND subject_id = $2
),
d_dirty AS (DELETE FROM computed_dirty WHERE space = $1 AND level = 'ACCOUNTS' AND subject_id = $2),
d_projection AS (
  DELETE FROM audience_projection WHERE space = $1 AND level = 'ACCOUNTS' AND subject_id = $2
),
d_deliveries AS (
  DELETE FROM destination_deliveries WHERE space = $1 AND mode = 'group' AND subject_id = $2
),
-- What account-level SQL traits last sent for the account: a later run sends the warehouse's row anew.
d_sql_values AS (
  DELETE FROM sql_trait_values v USING sql_traits t
  WHERE v.space = $1 AND v.id_value = $2 AND t.space = v.space AND t.key = v.key AND t.level = 'ACCOUNTS'
)
SELECT (SELECT count(*) FROM d_claims)::int AS events, (SELECT count(*) FROM d_members)::int AS members,
       (SELECT count(*) FROM d_values)::int AS values
