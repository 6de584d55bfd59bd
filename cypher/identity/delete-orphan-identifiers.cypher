// delete-orphan-identifiers: removes identifiers this transaction created for values that were then
// demoted, so that no identifier is left without a profile. Only identifiers with no IDENTIFIES edge go.
// params: $space, $keys
// returns: deleted
UNWIND $keys AS wantedKey
MATCH (i:Identifier {space: $space, key: wantedKey})
WHERE NOT (i)-[:IDENTIFIES]->()
DETACH DELETE i
RETURN count(*) AS deleted
