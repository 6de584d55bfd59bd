// replace-rules: replaces every rule of a space (the caller holds the space lock and validated them).
// params: $space, $rules (list of {type, priority, limit, window, blockedValues: JSON string})
// returns: count
MATCH (s:Space {id: $space})
OPTIONAL MATCH (s)-[:HAS_RULE]->(old:IdentifierRule)
WHERE NOT old.type IN [rule IN $rules | rule.type]
DETACH DELETE old
WITH DISTINCT s
UNWIND $rules AS rule
MERGE (r:IdentifierRule {space: s.id, type: rule.type})
SET r.priority = rule.priority, r.limit = rule.limit, r.window = rule.window, r.blockedValues = rule.blockedValues
MERGE (s)-[:HAS_RULE]->(r)
RETURN count(r) AS count
