-- forget-computed-trait-updates: a deleted profile id's rows of computed_trait_updates (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 profile id (one of segments-of's)
-- returns: nothing
DELETE FROM computed_trait_updates WHERE canonical_segment_id = $1
