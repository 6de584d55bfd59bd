// check-identifiers-on-several-profiles: identifiers held by more than one profile.
// params: $space (null for every space)
// returns: count, examples (up to 10 keys)
MATCH (i:Identifier)-[:IDENTIFIES]->(p:Profile)
WHERE $space IS NULL OR i.space = $space
WITH i, count(p) AS holders
WHERE holders > 1
WITH i.space + '/' + i.key AS key
RETURN count(key) AS count, collect(key)[0..10] AS examples
