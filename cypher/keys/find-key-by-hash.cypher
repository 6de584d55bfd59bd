// find-key-by-hash: the unrevoked key whose secret hashes to $hash.
// params: $hash
// returns: id, space, kind, scopes
MATCH (k:ApiKey {hash: $hash})
WHERE k.revokedAt IS NULL
RETURN k.id AS id, k.space AS space, k.kind AS kind, k.scopes AS scopes
