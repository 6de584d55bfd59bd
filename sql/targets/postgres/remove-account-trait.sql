-- remove-account-trait: a trait removed from an account (account_traits).
-- params: $1 group_id, $2 name
-- returns: nothing
DELETE FROM account_traits WHERE group_id = $1 AND name = $2
