// list-pattern-rules: every rule of every space that has a REGEX blocked value, for the start-up report
// of patterns that cannot be used (docs/adr/0014-input-hygiene.md).
// params: none
// returns: space, type, blockedValues (JSON string)
MATCH (s:Space)-[:HAS_RULE]->(r:IdentifierRule)
WHERE r.blockedValues CONTAINS '"REGEX"'
RETURN s.id AS space, r.type AS type, r.blockedValues AS blockedValues
ORDER BY space, type
