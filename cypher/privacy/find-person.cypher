// find-person: the live profiles holding any of the keys, with every identifier key they hold and the ids
// of the profiles merged into them, over any number of MERGED_INTO hops (docs/adr/0027).
// params: $space, $keys (identifier keys)
// returns: profileId, keys (identifier keys of the profile), merged (ids of merged-away profiles)
UNWIND $keys AS wanted
MATCH (:Identifier {space: $space, key: wanted})-[:IDENTIFIES]->(p:Profile)
WITH DISTINCT p
CALL (p) {
  OPTIONAL MATCH (m:Profile)-[:MERGED_INTO*1..]->(p)
  RETURN collect(DISTINCT m.id) AS merged
}
CALL (p) {
  OPTIONAL MATCH (i:Identifier)-[:IDENTIFIES]->(p)
  RETURN collect(i.key) AS keys
}
RETURN p.id AS profileId, keys, merged
