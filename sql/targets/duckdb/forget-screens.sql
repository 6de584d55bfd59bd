-- forget-screens: a deleted profile id's rows of screens (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 profile id (one of segments-of's)
-- returns: nothing
DELETE FROM screens WHERE segment_id = $1
