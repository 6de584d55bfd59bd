-- stored-values (bench W7, W8): the computed values and audience memberships (true, or false kept for the
-- instant a date may bring the profile in) stored for some profiles, with when each may change with the
-- clock alone (null for none), for the oracle checks; user level only (W7 and W8 define no other).
-- params: $1 space, $2 subject ids (text[])
-- returns: subject_id, trait_key, value (jsonb), expires_at (epoch ms or null)
SELECT subject_id, trait_key, value,
       round(extract(epoch FROM expires_at) * 1000)::float8 AS expires_at
FROM computed_values
WHERE space = $1 AND level = 'USERS' AND subject_id = ANY($2::text[])
