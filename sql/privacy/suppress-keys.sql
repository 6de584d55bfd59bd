-- suppress-keys: records identifier keys a request suppresses; keys already suppressed by it stay once.
-- params: $1 space, $2 keys (text[]), $3 regulation id
-- returns: key (one row per key newly recorded)
INSERT INTO suppressed_identifiers (space, key, regulation_id)
SELECT $1, k, $3 FROM unnest($2::text[]) AS k
ON CONFLICT DO NOTHING
RETURNING key
