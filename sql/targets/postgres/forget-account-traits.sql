-- forget-account-traits: a deleted account's rows of account_traits (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 group id
-- returns: nothing
DELETE FROM account_traits WHERE group_id = $1
