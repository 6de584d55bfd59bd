-- space-profiles: every live profile of a space that holds an identifier, by id (a preview's subjects,
-- docs/adr/0022-audiences.md "Preview").
-- params: $1 space
-- returns: profile_id
SELECT DISTINCT profile_id FROM identity_map WHERE space = $1 ORDER BY profile_id
