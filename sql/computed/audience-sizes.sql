-- audience-sizes: how many members each of some audiences has.
-- params: $1 space, $2 audience keys (text[])
-- returns: key, size
SELECT k AS key,
       (SELECT count(*) FROM computed_values
        WHERE space = $1 AND trait_key = k AND value = 'true'::jsonb)::int AS size
FROM unnest($2::text[]) AS k
