// create-key: stores a write key or access token of a space. Only the SHA-256 of the secret is kept.
// params: $space, $id, $kind ('write' | 'token'), $scopes (list), $name, $hash, $prefix, $now (ISO-8601)
// returns: id (no row when the space does not exist)
MATCH (s:Space {id: $space})
CREATE (k:ApiKey {id: $id, space: $space, kind: $kind, scopes: $scopes, name: $name, hash: $hash,
                  prefix: $prefix, createdAt: datetime($now)})
CREATE (s)-[:HAS_KEY]->(k)
RETURN k.id AS id
