// read-rules: the identity rules of a space, most trusted first.
// params: $space
// returns: type, priority, limit, window, blockedValues (JSON string)
MATCH (s:Space {id: $space})-[:HAS_RULE]->(r:IdentifierRule)
RETURN r.type AS type, r.priority AS priority, r.limit AS limit, r.window AS window,
       r.blockedValues AS blockedValues
ORDER BY r.priority
