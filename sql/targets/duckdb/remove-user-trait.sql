-- remove-user-trait: a trait removed from a profile (set to null).
-- params: $1 canonical_segment_id, $2 name
-- returns: nothing
DELETE FROM user_traits WHERE canonical_segment_id = $1 AND name = $2
