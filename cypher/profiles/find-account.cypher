// find-account: an account by group id, with its number of member profiles.
// params: $space, $groupId
// returns: groupId, traits (JSON string), createdAt (epoch ms), memberCount
MATCH (a:Account {space: $space, groupId: $groupId})
RETURN a.groupId AS groupId, a.traits AS traits, a.createdAt.epochMillis AS createdAt,
       COUNT { (:Profile)-[:MEMBER_OF]->(a) } AS memberCount
