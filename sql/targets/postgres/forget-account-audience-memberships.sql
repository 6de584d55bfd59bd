-- forget-account-audience-memberships: a deleted account's rows of account_audience_memberships (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 group id
-- returns: nothing
DELETE FROM account_audience_memberships WHERE group_id = $1
