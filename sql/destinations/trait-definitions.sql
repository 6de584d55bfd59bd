-- trait-definitions: the definitions of some computed traits (for their empty values).
-- params: $1 space, $2 keys (text[])
-- returns: key, definition
SELECT key, definition FROM computed_traits WHERE space = $1 AND key = ANY($2::text[]) AND kind = 'computed_trait'
