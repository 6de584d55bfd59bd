// link-members (bench seeding): MEMBER_OF edges as cypher/identity/link-accounts leaves them.
// params: $space, $members (list of {profileId, groupId, since (ISO-8601)})
// returns: linked
UNWIND $members AS m
MATCH (p:Profile {id: m.profileId})
MATCH (a:Account {space: $space, groupId: m.groupId})
CREATE (p)-[:MEMBER_OF {since: datetime(m.since)}]->(a)
RETURN count(*) AS linked
