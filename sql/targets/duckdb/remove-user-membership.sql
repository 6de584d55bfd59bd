-- remove-user-membership: a user out of an audience (audience_memberships).
-- params: $1 canonical_segment_id, $2 audience_key
-- returns: nothing
DELETE FROM audience_memberships WHERE canonical_segment_id = $1 AND audience_key = $2
