-- load-trait-values: the stored values of some computations for some subjects (a preview reads the live
-- computations its draft refers to; a missing row is the computation's empty value).
-- params: $1 space, $2 subject ids (text[]), $3 level (USERS: profile ids; ACCOUNTS: group ids),
--         $4 trait keys (text[])
-- returns: subject_id, trait_key, value (jsonb), updated_at (epoch ms)
SELECT subject_id, trait_key, value, round(extract(epoch FROM updated_at) * 1000)::float8 AS updated_at
FROM computed_values
WHERE space = $1 AND level = $3 AND subject_id = ANY($2::text[]) AND trait_key = ANY($4::text[])
