// fold-identifier: makes one identifier of two that name the same value, deleting `from` with its
// IDENTIFIES edge. The events that carried `from`, and its evidence edges (kept as they were where the
// receiver has none to the same identifier), move to `$eventsTo`: `to` itself when both identify the same
// profile (or `from` none); otherwise, with $acrossProfiles (ordinary resolution was asked to join the
// two profiles and refused), another identifier of `from`'s own profile, so no event changes profile.
// params: $space, $from (key), $to (key), $acrossProfiles (boolean), $eventsTo (key)
// returns: folded (0 or 1), events (FROM edges moved)
MATCH (n:Identifier {space: $space, key: $from})
MATCH (t:Identifier {space: $space, key: $to})
MATCH (m:Identifier {space: $space, key: $eventsTo})
OPTIONAL MATCH (n)-[:IDENTIFIES]->(p:Profile)
OPTIONAL MATCH (t)-[:IDENTIFIES]->(q:Profile)
WITH n, m, p, q
WHERE p IS NULL OR p = q OR $acrossProfiles
CALL (n, m) {
  OPTIONAL MATCH (e:Event)-[r:FROM]->(n)
  WITH e, r
  WHERE r IS NOT NULL
  MERGE (e)-[:FROM]->(m)
  DELETE r
  RETURN count(e) AS events
}
CALL (n, m) {
  OPTIONAL MATCH (n)-[w:SEEN_WITH]->(o:Identifier)
  WITH w, o
  WHERE w IS NOT NULL AND o <> m
  MERGE (m)-[x:SEEN_WITH]->(o)
  ON CREATE SET x += properties(w)
  RETURN count(w) AS outgoing
}
CALL (n, m) {
  OPTIONAL MATCH (o:Identifier)-[w:SEEN_WITH]->(n)
  WITH w, o
  WHERE w IS NOT NULL AND o <> m
  MERGE (o)-[x:SEEN_WITH]->(m)
  ON CREATE SET x += properties(w)
  RETURN count(w) AS incoming
}
DETACH DELETE n
RETURN 1 AS folded, events
