// check-long-tombstone-chains: merged-away profiles more than one MERGED_INTO hop from a live profile,
// or with no MERGED_INTO edge at all, or with several.
// params: $space (null for every space)
// returns: count, examples (up to 10 profile ids)
MATCH (m:Profile {merged: true})
WHERE $space IS NULL OR m.space = $space
OPTIONAL MATCH (m)-[:MERGED_INTO]->(s:Profile)
WITH m, collect(s) AS targets
WHERE size(targets) <> 1 OR targets[0].merged = true
RETURN count(m) AS count, collect(m.id)[0..10] AS examples
