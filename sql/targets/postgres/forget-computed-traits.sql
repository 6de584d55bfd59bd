-- forget-computed-traits: a deleted profile id's rows of computed_traits (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 profile id (one of segments-of's)
-- returns: nothing
DELETE FROM computed_traits WHERE canonical_segment_id = $1
