// revoke-key: marks a key revoked (it is kept, for the record).
// params: $id, $now (ISO-8601)
// returns: id (no row when no unrevoked key has this id)
MATCH (k:ApiKey {id: $id})
WHERE k.revokedAt IS NULL
SET k.revokedAt = datetime($now)
RETURN k.id AS id
