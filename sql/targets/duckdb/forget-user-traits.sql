-- forget-user-traits: a deleted profile id's rows of user_traits (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 profile id (one of segments-of's)
-- returns: nothing
DELETE FROM user_traits WHERE canonical_segment_id = $1
