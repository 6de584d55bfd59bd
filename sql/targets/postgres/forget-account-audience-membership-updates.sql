-- forget-account-audience-membership-updates: a deleted account's rows of audience_membership_updates (docs/adr/0027-deletion-and-suppression.md).
-- params: $1 group id
-- returns: gone, one row per row deleted (an append table: the rows the target holds count them off)
DELETE FROM audience_membership_updates WHERE level = 'ACCOUNTS' AND group_id = $1
RETURNING 1 AS gone
