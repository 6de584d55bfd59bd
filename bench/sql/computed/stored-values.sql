-- stored-values (bench W7): the computed values stored for some profiles, with when each ages out of its
-- window (null for a trait without one), for the oracle check; user-level traits only (W7 defines no other).
-- params: $1 space, $2 subject ids (text[])
-- returns: subject_id, trait_key, value (jsonb), expires_at (epoch ms or null)
SELECT subject_id, trait_key, value,
       round(extract(epoch FROM expires_at) * 1000)::float8 AS expires_at
FROM computed_values
WHERE space = $1 AND level = 'USERS' AND subject_id = ANY($2::text[])
