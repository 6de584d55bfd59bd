-- load-value-changes: a subject's latest computed-trait value changes, newest first (audience entries and
-- exits, kept in the same table, are read per audience by audience-changes.sql).
-- params: $1 space, $2 subject id, $3 limit, $4 level (USERS or ACCOUNTS)
-- returns: trait_key, old_value, new_value (jsonb or null), at (epoch ms), cause, message_id
SELECT c.trait_key, c.old_value, c.new_value, round(extract(epoch FROM c.at) * 1000)::float8 AS at, c.cause,
       c.message_id
FROM computed_value_changes c
JOIN computed_traits t ON t.space = c.space AND t.key = c.trait_key AND t.kind = 'computed_trait'
WHERE c.space = $1 AND c.level = $4 AND c.subject_id = $2
ORDER BY c.id DESC
LIMIT $3
