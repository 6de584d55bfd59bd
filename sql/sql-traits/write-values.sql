-- write-values: records the traits sent for identifiers (after their calls were applied).
-- params: $1 space, $2 key, $3 run, $4 identifiers (text[]), $5 traits (text[] of JSON objects, in step)
-- returns: nothing
INSERT INTO sql_trait_values (space, key, id_value, traits, run)
SELECT $1, $2, v.id, v.traits::jsonb, $3
FROM unnest($4::text[], $5::text[]) AS v (id, traits)
ON CONFLICT (space, key, id_value) DO UPDATE SET traits = EXCLUDED.traits, run = EXCLUDED.run
