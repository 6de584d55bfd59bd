// attach-identifiers (raw ingest baseline): IDENTIFIES edges for identifiers new to a profile that the
// generator already knows (no resolution).
// params: $space, $links (list of {key, profileId, since (ISO-8601), by (messageId)})
// returns: attached
UNWIND $links AS link
MATCH (i:Identifier {space: $space, key: link.key})
MATCH (p:Profile {id: link.profileId})
CREATE (i)-[:IDENTIFIES {since: datetime(link.since), by: link.by}]->(p)
RETURN count(*) AS attached
