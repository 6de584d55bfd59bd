-- load-values: the stored computed values of some subjects.
-- params: $1 space, $2 subject ids (text[]), $3 level (USERS: profile ids; ACCOUNTS: group ids)
-- returns: subject_id, trait_key, value (jsonb), updated_at (epoch ms)
SELECT subject_id, trait_key, value, round(extract(epoch FROM updated_at) * 1000)::float8 AS updated_at
FROM computed_values
WHERE space = $1 AND level = $3 AND subject_id = ANY($2::text[])
ORDER BY subject_id, trait_key
