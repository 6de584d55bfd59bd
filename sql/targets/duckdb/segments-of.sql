-- segments-of: the profile ids a target maps to a profile (itself and every id merged into it), for a
-- deletion (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 profile id
-- returns: segment_id
SELECT segment_id FROM profile_merges WHERE canonical_segment_id = CAST($1 AS VARCHAR)
UNION
SELECT CAST($1 AS VARCHAR) AS segment_id
