-- space-trait-values: every stored value of some computations in a space, at one level (a preview reads
-- the live computations its draft refers to; a subject without a row has the computation's empty value).
-- params: $1 space, $2 level (USERS, ACCOUNTS), $3 trait keys (text[])
-- returns: subject_id, trait_key, value (jsonb), updated_at (epoch ms)
SELECT subject_id, trait_key, value, round(extract(epoch FROM updated_at) * 1000)::float8 AS updated_at
FROM computed_values
WHERE space = $1 AND level = $2 AND trait_key = ANY($3::text[])
