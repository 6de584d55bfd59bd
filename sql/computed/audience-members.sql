-- audience-members: a page of an audience's members (subjects whose value is true), by subject id, and
-- how many there are.
-- params: $1 space, $2 audience key, $3 after subject id ('' from the start), $4 limit
-- returns: subject_id, since (epoch ms), size (on every row)
SELECT subject_id, round(extract(epoch FROM updated_at) * 1000)::float8 AS since,
       (SELECT count(*) FROM computed_values
        WHERE space = $1 AND trait_key = $2 AND value = 'true'::jsonb)::int AS size
FROM computed_values
WHERE space = $1 AND trait_key = $2 AND value = 'true'::jsonb AND subject_id > $3
ORDER BY subject_id
LIMIT $4
