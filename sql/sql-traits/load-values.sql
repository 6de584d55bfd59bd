-- load-values: the traits last sent for each identifier of a SQL trait's results.
-- params: $1 space, $2 key
-- returns: id_value, traits (jsonb)
SELECT id_value, traits FROM sql_trait_values WHERE space = $1 AND key = $2
