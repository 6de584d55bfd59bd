-- forget-account-groups: a deleted account's rows of groups (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 group id
-- returns: gone, one row per row deleted (an append table: the rows the target holds count them off)
DELETE FROM groups WHERE group_id = $1
RETURNING 1 AS gone
