// link-accounts (raw ingest baseline): group calls write the account's traits and the membership.
// params: $space, $members (list of {groupId, profileId, traits (JSON), since (ISO-8601)}, sorted by
//         groupId), $now (ISO-8601)
// returns: linked
UNWIND $members AS m
MERGE (a:Account {space: $space, groupId: m.groupId})
ON CREATE SET a.createdAt = datetime($now), a.traitsMeta = '{}'
SET a.traits = m.traits, a.updatedAt = datetime($now)
WITH a, m
MATCH (p:Profile {id: m.profileId})
MERGE (p)-[r:MEMBER_OF]->(a)
ON CREATE SET r.since = datetime(m.since)
RETURN count(r) AS linked
