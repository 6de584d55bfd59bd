// check-identifiers-without-profile: identifiers that no live profile holds (an identifier must have one).
// params: $space (null for every space)
// returns: count, examples (up to 10 keys)
MATCH (i:Identifier)
WHERE ($space IS NULL OR i.space = $space) AND NOT (i)-[:IDENTIFIES]->(:Profile)
WITH i.space + '/' + i.key AS key
RETURN count(key) AS count, collect(key)[0..10] AS examples
