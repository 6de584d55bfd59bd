-- forget-computed-trait-updates: a deleted profile id's rows of computed_trait_updates (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 profile id (one of segments-of's)
-- returns: gone, one row per row deleted (an append table: the rows the target holds count them off)
DELETE FROM computed_trait_updates WHERE canonical_segment_id = $1
RETURNING 1 AS gone
