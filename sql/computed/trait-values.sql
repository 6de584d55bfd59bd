-- trait-values: every stored value of a trait (the values a deletion keeps as ordinary traits).
-- params: $1 space, $2 key
-- returns: subject_id, value (jsonb)
SELECT subject_id, value FROM computed_values WHERE space = $1 AND trait_key = $2 ORDER BY subject_id
