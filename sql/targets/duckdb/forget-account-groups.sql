-- forget-account-groups: a deleted account's rows of groups (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 group id
-- returns: nothing
DELETE FROM groups WHERE group_id = $1
