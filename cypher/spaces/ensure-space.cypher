// ensure-space: creates the space with its default rules when it does not exist yet; idempotent.
// params: $space (string), $rules (list of {type, priority, limit, window, blockedValues: JSON string})
// returns: created (boolean)
MERGE (s:Space {id: $space})
ON CREATE SET s.createdAt = datetime(), s.rulesVersion = 0, s.created = true
WITH s, coalesce(s.created, false) AS created
REMOVE s.created
WITH s, created
CALL (s, created) {
  WITH s WHERE created
  UNWIND $rules AS rule
  MERGE (r:IdentifierRule {space: s.id, type: rule.type})
  ON CREATE SET r.priority = rule.priority, r.limit = rule.limit, r.window = rule.window,
                r.blockedValues = rule.blockedValues
  MERGE (s)-[:HAS_RULE]->(r)
  RETURN count(r) AS n
}
RETURN created
