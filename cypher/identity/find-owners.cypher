// find-owners: the space's rules version and the live profile holding each of some identifiers, read
// without locks: the fast path's one graph read per batch (docs/adr/0018-event-store.md).
// params: $space, $keys (identifier keys)
// returns: rulesVersion (null when the space does not exist), owners (list of {key, profileId})
OPTIONAL MATCH (s:Space {id: $space})
CALL () {
  UNWIND $keys AS wanted
  MATCH (:Identifier {space: $space, key: wanted})-[:IDENTIFIES]->(p:Profile)
  RETURN collect({key: wanted, profileId: p.id}) AS owners
}
RETURN CASE WHEN s IS NULL THEN null ELSE coalesce(s.rulesVersion, 0) END AS rulesVersion, owners
