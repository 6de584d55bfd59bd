// lock-identifiers: creates missing identifiers and write-locks all of them (sorted by key, so that
// concurrent events lock in the same order), then returns the live profile each one identifies.
// params: $space, $identifiers (list of {key, type, value}, sorted by key), $at (event time, ISO-8601)
// returns: key, profileId (null for an identifier that no profile holds yet)
UNWIND $identifiers AS id
MERGE (i:Identifier {space: $space, key: id.key})
ON CREATE SET i.type = id.type, i.value = id.value, i.firstSeen = datetime($at), i.lastSeen = datetime($at)
SET i.lastSeen = CASE WHEN i.lastSeen < datetime($at) THEN datetime($at) ELSE i.lastSeen END
WITH i
OPTIONAL MATCH (i)-[:IDENTIFIES]->(p:Profile)
RETURN i.key AS key, p.id AS profileId
