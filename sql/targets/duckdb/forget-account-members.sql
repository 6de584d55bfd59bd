-- forget-account-members: a deleted account's rows of account_members (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 group id
-- returns: nothing
DELETE FROM account_members WHERE group_id = $1
