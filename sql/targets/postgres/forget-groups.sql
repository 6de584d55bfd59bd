-- forget-groups: a deleted profile id's rows of groups (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 profile id (one of segments-of's)
-- returns: gone, one row per row deleted (an append table: the rows the target holds count them off)
DELETE FROM groups WHERE segment_id = $1
RETURNING 1 AS gone
