-- mark-accounts: the accounts of some profiles, due for recomputation of their account-level traits (an
-- account's events are its members', SEMANTICS.md §9). A profile merged away since is followed to its
-- survivor, which holds its memberships now. When several of an account's members are given, the cause
-- of one of them is recorded. An account's mark covers every computation (streams null).
-- params: $1 profiles (jsonb array of {space, profile_id, cause, message_id (or null)})
-- returns: marked (rows)
WITH marked AS (
  INSERT INTO computed_dirty (space, level, subject_id, cause, message_id)
  SELECT DISTINCT ON (am.space, am.group_id) am.space, 'ACCOUNTS', am.group_id, p.cause, p.message_id
  FROM jsonb_to_recordset($1::jsonb) AS p(space text, profile_id text, cause text, message_id text)
  LEFT JOIN profile_merges pm ON pm.space = p.space AND pm.merged_id = p.profile_id
  JOIN account_members am ON am.space = p.space AND am.profile_id = coalesce(pm.survivor_id, p.profile_id)
  ORDER BY am.space, am.group_id
  ON CONFLICT (space, level, subject_id) DO UPDATE SET cause = EXCLUDED.cause, message_id = EXCLUDED.message_id, streams = NULL
  RETURNING 1
)
SELECT count(*)::int AS marked FROM marked
