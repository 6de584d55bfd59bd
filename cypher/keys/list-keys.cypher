// list-keys: the keys of a space, newest first, without their hashes.
// params: $space
// returns: id, space, kind, scopes, name, prefix, createdAt, revokedAt (epoch ms or null)
MATCH (k:ApiKey {space: $space})
RETURN k.id AS id, k.space AS space, k.kind AS kind, k.scopes AS scopes, k.name AS name, k.prefix AS prefix,
       k.createdAt.epochMillis AS createdAt, k.revokedAt.epochMillis AS revokedAt
ORDER BY k.createdAt DESC, k.id
