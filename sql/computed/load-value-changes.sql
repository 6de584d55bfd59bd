-- load-value-changes: a subject's latest computed-value changes, newest first.
-- params: $1 space, $2 subject id, $3 limit, $4 level (USERS or ACCOUNTS)
-- returns: trait_key, old_value, new_value (jsonb or null), at (epoch ms), cause, message_id
SELECT trait_key, old_value, new_value, round(extract(epoch FROM at) * 1000)::float8 AS at, cause, message_id
FROM computed_value_changes
WHERE space = $1 AND level = $4 AND subject_id = $2
ORDER BY id DESC
LIMIT $3
