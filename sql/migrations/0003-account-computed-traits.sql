-- 0003-account-computed-traits: account-level computed traits (SEMANTICS.md §9, docs/adr/0021-computed-traits.md).
-- An account's events are those of its member profiles, so the event store keeps the memberships in step
-- with the graph (finish-batch.sql writes them with the batch's identity effect, merges move them to the
-- survivor), and the computed tables tell a profile's values from an account's by their level.

-- Which profiles belong to which account (the graph's MEMBER_OF edges): live profile ids, as identity_map.
CREATE TABLE account_members (
  space      text NOT NULL,
  group_id   text COLLATE "C" NOT NULL,
  profile_id text NOT NULL,
  PRIMARY KEY (space, group_id, profile_id)
);
CREATE INDEX ON account_members (space, profile_id);

-- The memberships recorded so far: every group call's since the event store began is in the change log.
INSERT INTO account_members (space, group_id, profile_id)
SELECT DISTINCT c.space, m."groupId", coalesce(pm.survivor_id, m."profileId")
FROM changes c
CROSS JOIN LATERAL jsonb_to_recordset(c.payload) AS m("groupId" text, "profileId" text)
LEFT JOIN profile_merges pm ON pm.space = c.space AND pm.merged_id = m."profileId"
WHERE c.kind = 'memberships' AND m."groupId" IS NOT NULL AND m."profileId" IS NOT NULL
ON CONFLICT DO NOTHING;

-- A subject is a profile (USERS) or an account (ACCOUNTS, its group id): the same id may be both.
ALTER TABLE computed_values
  ADD COLUMN level text NOT NULL DEFAULT 'USERS' CHECK (level IN ('USERS', 'ACCOUNTS'));
ALTER TABLE computed_values DROP CONSTRAINT computed_values_pkey;
ALTER TABLE computed_values ADD PRIMARY KEY (space, level, subject_id, trait_key);

ALTER TABLE computed_dirty
  ADD COLUMN level text NOT NULL DEFAULT 'USERS' CHECK (level IN ('USERS', 'ACCOUNTS'));
ALTER TABLE computed_dirty DROP CONSTRAINT computed_dirty_pkey;
ALTER TABLE computed_dirty ADD PRIMARY KEY (space, level, subject_id);

ALTER TABLE computed_value_changes
  ADD COLUMN level text NOT NULL DEFAULT 'USERS' CHECK (level IN ('USERS', 'ACCOUNTS'));
DROP INDEX computed_value_changes_space_subject_id_id_idx;
CREATE INDEX ON computed_value_changes (space, level, subject_id, id);
