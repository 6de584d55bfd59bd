// list-identity-links: one page, in key order after a cursor, of a space's identifiers with the profile
// each identifies (IDENTIFIES always points at a live profile: merges move it), to fill PostgreSQL's
// identity_map for identifiers written before the event store (docs/adr/0018-event-store.md).
// params: $space, $afterKey ('' for the first page), $limit
// returns: key, profileId (null for an identifier without a profile), in key order
MATCH (i:Identifier)
WHERE i.space = $space AND i.key > $afterKey
WITH i
ORDER BY i.space, i.key
LIMIT $limit
OPTIONAL MATCH (i)-[:IDENTIFIES]->(p:Profile)
RETURN i.key AS key, p.id AS profileId
ORDER BY key
