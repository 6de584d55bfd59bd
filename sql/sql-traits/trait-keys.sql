-- trait-keys: the trait keys the space's live SQL traits of one level write (their result's trait
-- columns), for the Profile API's class=sql_trait.
-- params: $1 space, $2 level (USERS | ACCOUNTS)
-- returns: key
SELECT DISTINCT unnest(columns) AS key
FROM sql_traits
WHERE space = $1 AND level = $2 AND deleted_at IS NULL
ORDER BY key
