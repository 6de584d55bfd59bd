// check-profiles-over-caps: live profiles over the system caps (SEMANTICS.md §4).
// params: $space (null for every space), $maxMerges, $maxIdentifiers
// returns: count, examples (up to 10 profile ids)
MATCH (p:Profile)
WHERE ($space IS NULL OR p.space = $space) AND coalesce(p.merged, false) = false
WITH p, COUNT { (:Identifier)-[:IDENTIFIES]->(p) } AS identifiers
WHERE p.mergeCount > $maxMerges OR identifiers > $maxIdentifiers
RETURN count(p) AS count, collect(p.id)[0..10] AS examples
