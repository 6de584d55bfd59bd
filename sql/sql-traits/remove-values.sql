-- remove-values: forgets identifiers whose traits were removed (after their calls were applied).
-- params: $1 space, $2 key, $3 identifiers (text[])
-- returns: nothing
DELETE FROM sql_trait_values WHERE space = $1 AND key = $2 AND id_value = ANY($3::text[])
