// add-rules: registers rules for identifier types seen for the first time (SEMANTICS.md §2).
// params: $space, $rules (list of {type, priority, limit, window, blockedValues: JSON string})
// returns: count
MATCH (s:Space {id: $space})
UNWIND $rules AS rule
MERGE (r:IdentifierRule {space: s.id, type: rule.type})
ON CREATE SET r.priority = rule.priority, r.limit = rule.limit, r.window = rule.window,
              r.blockedValues = rule.blockedValues
MERGE (s)-[:HAS_RULE]->(r)
RETURN count(r) AS count
