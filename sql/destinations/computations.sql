-- computations: which of some keys are live audiences or computed traits of a space, with their kind and
-- level (a destination receives live user-level ones).
-- params: $1 space, $2 keys (text[])
-- returns: key, kind, level
SELECT key, kind, level FROM computed_traits
WHERE space = $1 AND key = ANY($2::text[]) AND status <> 'DELETED'
