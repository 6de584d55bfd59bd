-- load-values: the stored computed values of some subjects, for the computations a recomputation evaluates.
-- params: $1 space, $2 subject ids (text[]), $3 level (USERS: profile ids; ACCOUNTS: group ids),
--         $4 trait keys (text[])
-- returns: subject_id, trait_key, value (jsonb), updated_at (epoch ms), expires_at (epoch ms or null)
SELECT subject_id, trait_key, value, round(extract(epoch FROM updated_at) * 1000)::float8 AS updated_at,
       round(extract(epoch FROM expires_at) * 1000)::float8 AS expires_at
FROM computed_values
WHERE space = $1 AND level = $3 AND subject_id = ANY($2::text[]) AND trait_key = ANY($4::text[])
ORDER BY subject_id, trait_key
