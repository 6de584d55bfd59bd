-- forget-groups: a deleted profile id's rows of groups (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 profile id (one of segments-of's)
-- returns: nothing
DELETE FROM groups WHERE segment_id = $1
