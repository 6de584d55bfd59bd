-- remove-account-membership: an account out of an audience (account_audience_memberships).
-- params: $1 group_id, $2 audience_key
-- returns: nothing
DELETE FROM account_audience_memberships WHERE group_id = $1 AND audience_key = $2
