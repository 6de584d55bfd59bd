// lock-identifiers: creates missing identifiers and write-locks all of them (sorted by key, so that
// concurrent batches lock in the same order), then returns the live profile each one identifies.
// `firstSeen` is the earliest event time seen; when it was last seen is the event store's to answer
// (docs/adr/0019-graph-takes-identity-changes.md).
// params: $space, $identifiers (list of {key, type, value, first (event time, ISO-8601)}, sorted by key)
// returns: key, profileId (null for an identifier that no profile holds yet)
UNWIND $identifiers AS id
MERGE (i:Identifier {space: $space, key: id.key})
ON CREATE SET i.type = id.type, i.value = id.value, i.firstSeen = datetime(id.first)
SET i.firstSeen = CASE WHEN datetime(id.first) < i.firstSeen THEN datetime(id.first) ELSE i.firstSeen END
WITH i
OPTIONAL MATCH (i)-[:IDENTIFIES]->(p:Profile)
RETURN i.key AS key, p.id AS profileId
