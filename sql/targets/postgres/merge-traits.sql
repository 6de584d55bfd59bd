-- merge-traits: user_traits after a merge: the merged profile's rows go; the survivor's traits as the
-- merge left them arrive as its traits change, which the change log records in the same commit.
-- params: $1 merged canonical id
-- returns: nothing
DELETE FROM user_traits WHERE canonical_segment_id = $1
