-- remove-user-computed-trait: a computed trait back to its empty value on a user (computed_traits: no row).
-- params: $1 canonical_segment_id, $2 trait_key
-- returns: nothing
DELETE FROM computed_traits WHERE canonical_segment_id = $1 AND trait_key = $2
