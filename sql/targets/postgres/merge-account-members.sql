-- merge-account-members: after a merge the survivor is a member of every account the merged profile was
-- (keeping the earlier membership where both were); drop-merged-account-members then removes the merged one's.
-- params: $1 merged canonical id, $2 survivor canonical id, $3 seq
-- returns: nothing
INSERT INTO account_members (group_id, canonical_segment_id, since, seq, uuid_ts)
SELECT group_id, $2, since, $3, now() FROM account_members WHERE canonical_segment_id = $1
ON CONFLICT (group_id, canonical_segment_id) DO NOTHING
