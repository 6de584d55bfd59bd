// find-account-state: an account by group id as the Profile API shows it: traits with their provenance,
// when it was created and last written, and its number of member profiles.
// params: $space, $groupId
// returns: groupId, traits, traitsMeta (JSON strings), createdAt, updatedAt (epoch ms), memberCount
MATCH (a:Account {space: $space, groupId: $groupId})
RETURN a.groupId AS groupId, a.traits AS traits, a.traitsMeta AS traitsMeta,
       a.createdAt.epochMillis AS createdAt, a.updatedAt.epochMillis AS updatedAt,
       COUNT { (:Profile)-[:MEMBER_OF]->(a) } AS memberCount
