// list-profiles-with-blocked-values: live profiles that hold an identifier whose value the default blocked
// values now block (SEMANTICS.md §8: junk placeholders, zeros and dashes), beside other identifiers: they
// may have glued strangers together before the defaults grew. Listed for review, not an invariant;
// splitting them waits for unmerge (§6).
// params: $space (null for every space), $junk (lower-case placeholders), $pattern (Java regex)
// returns: count, examples (up to 10, "profileId (blocked key)")
MATCH (i:Identifier)-[:IDENTIFIES]->(p:Profile)
WHERE ($space IS NULL OR i.space = $space) AND coalesce(p.merged, false) = false
  AND (toLower(trim(i.value)) IN $junk OR i.value =~ $pattern)
WITH p, collect(i.key) AS blocked
WHERE EXISTS { MATCH (o:Identifier)-[:IDENTIFIES]->(p) WHERE NOT o.key IN blocked }
RETURN count(p) AS count, collect(p.id + ' (' + blocked[0] + ')')[0..10] AS examples
