// lock-accounts: creates missing accounts and write-locks them (group ids sorted); returns their traits.
// params: $space, $groupIds (list, sorted), $now (ISO-8601)
// returns: groupId, traits, traitsMeta (JSON strings)
UNWIND $groupIds AS wanted
MERGE (a:Account {space: $space, groupId: wanted})
ON CREATE SET a.createdAt = datetime($now), a.traits = '{}', a.traitsMeta = '{}'
SET a.updatedAt = datetime($now)
RETURN a.groupId AS groupId, a.traits AS traits, a.traitsMeta AS traitsMeta
