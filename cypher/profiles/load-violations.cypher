// load-violations: the newest events in several profiles' histories whose identifiers were blocked or
// demoted, with the violations they recorded.
// params: $ids (list of profile ids), $first (limit per profile)
// returns: profileId, events (list of {messageId, timestamp (epoch ms), violations (JSON string)})
UNWIND $ids AS profileId
MATCH (p:Profile {id: profileId})
CALL (p) {
  MATCH (e:Event)-[:FROM]->(i:Identifier)-[:IDENTIFIES]->(p)
  WHERE e.violations IS NOT NULL AND e.violations <> '[]'
  WITH DISTINCT e ORDER BY e.timestamp DESC, e.messageId DESC
  LIMIT $first
  RETURN collect({messageId: e.messageId, timestamp: e.timestamp.epochMillis, violations: e.violations})
         AS events
}
RETURN profileId, events
