// check-empty-profiles: live profiles that hold no identifier (every live profile holds at least one).
// params: $space (null for every space)
// returns: count, examples (up to 10 profile ids)
MATCH (p:Profile)
WHERE ($space IS NULL OR p.space = $space) AND coalesce(p.merged, false) = false
  AND NOT (:Identifier)-[:IDENTIFIES]->(p)
RETURN count(p) AS count, collect(p.id)[0..10] AS examples
