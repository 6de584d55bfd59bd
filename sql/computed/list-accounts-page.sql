-- list-accounts-page: accounts of a space that have a member, keyset-paged by group id (the backfill of an
-- account-level trait), and how many there are in all.
-- params: $1 space, $2 after group id ('' from the start), $3 limit
-- returns: group_id, total (the space's count, on every row of the first page only, as list-profiles-page)
SELECT DISTINCT group_id,
       CASE WHEN $2 = '' THEN (SELECT count(DISTINCT group_id) FROM account_members WHERE space = $1)::int END
         AS total
FROM account_members
WHERE space = $1 AND group_id > $2
ORDER BY group_id
LIMIT $3
