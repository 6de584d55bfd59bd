// check-identifiers-on-merged-profiles: identifiers still pointing at a merged-away (tombstone) profile.
// params: $space (null for every space)
// returns: count, examples (up to 10 keys)
MATCH (i:Identifier)-[:IDENTIFIES]->(p:Profile {merged: true})
WHERE $space IS NULL OR i.space = $space
WITH i.space + '/' + i.key AS key
RETURN count(key) AS count, collect(key)[0..10] AS examples
