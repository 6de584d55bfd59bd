-- remove-account-computed-trait: a computed trait back to its empty value on an account (account_computed_traits: no row).
-- params: $1 group_id, $2 trait_key
-- returns: nothing
DELETE FROM account_computed_traits WHERE group_id = $1 AND trait_key = $2
