-- set-account-member: a profile is a member of an account (account_members), since the group call that
-- made it one.
-- params: $1 group_id, $2 canonical_segment_id, $3 since (ms), $4 seq
-- returns: nothing
INSERT INTO account_members (group_id, canonical_segment_id, since, seq, uuid_ts)
VALUES ($1, $2, to_timestamp($3::DOUBLE / 1000), $4, now())
ON CONFLICT (group_id, canonical_segment_id) DO NOTHING
