// find-owners: the space's rules version, the live profile holding each of some identifiers with the
// identifier's firstSeen, and which of some evidence pairs already have their SEEN_WITH edge; read without
// locks: the fast path's one graph read per batch (docs/adr/0018-event-store.md, ADR 0019).
// params: $space, $keys (identifier keys), $pairs (list of {from, to} keys)
// returns: rulesVersion (null when the space does not exist),
//          owners (list of {key, profileId, firstSeen (epoch ms)}),
//          seen (list of {from, to, firstAt (epoch ms)}: the edges found)
OPTIONAL MATCH (s:Space {id: $space})
CALL () {
  UNWIND $keys AS wanted
  MATCH (i:Identifier {space: $space, key: wanted})-[:IDENTIFIES]->(p:Profile)
  RETURN collect({key: wanted, profileId: p.id, firstSeen: i.firstSeen.epochMillis}) AS owners
}
CALL () {
  UNWIND $pairs AS pair
  MATCH (:Identifier {space: $space, key: pair.from})-[w:SEEN_WITH]->(:Identifier {space: $space, key: pair.to})
  RETURN collect(DISTINCT {from: pair.from, to: pair.to, firstAt: w.firstAt.epochMillis}) AS seen
}
RETURN CASE WHEN s IS NULL THEN null ELSE coalesce(s.rulesVersion, 0) END AS rulesVersion, owners, seen
