-- account-member-ids: the member profiles of some accounts (account_members), for account audiences'
-- ANY / ALL over the account's users (SEMANTICS.md §10).
-- params: $1 space, $2 group ids (text[])
-- returns: group_id, profile_id
SELECT group_id, profile_id FROM account_members WHERE space = $1 AND group_id = ANY($2::text[])
ORDER BY group_id, profile_id
