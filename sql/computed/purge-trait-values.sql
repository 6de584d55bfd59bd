-- purge-trait-values: removes a deleted trait's values once they are kept as ordinary traits.
-- params: $1 space, $2 key
-- returns: purged (rows)
WITH purged AS (
  DELETE FROM computed_values v
  USING computed_traits t
  WHERE t.space = $1 AND t.key = $2 AND t.status = 'DELETED' AND v.space = $1 AND v.trait_key = $2
  RETURNING 1
)
SELECT count(*)::int AS purged FROM purged
