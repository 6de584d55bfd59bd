// find-account: an account by group id.
// params: $space, $groupId
// returns: groupId, traits (JSON string), createdAt (epoch ms)
MATCH (a:Account {space: $space, groupId: $groupId})
RETURN a.groupId AS groupId, a.traits AS traits, a.createdAt.epochMillis AS createdAt
