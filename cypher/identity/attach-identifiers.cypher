// attach-identifiers: gives profiles the identifiers a batch added to them.
// params: $space, $links (list of {key, profileId, since (event time, ISO-8601), by (messageId)})
// returns: attached
UNWIND $links AS link
MATCH (i:Identifier {space: $space, key: link.key})
MATCH (p:Profile {id: link.profileId})
CREATE (i)-[:IDENTIFIES {since: datetime(link.since), by: link.by}]->(p)
RETURN count(*) AS attached
