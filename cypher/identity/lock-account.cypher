// lock-account: creates the account when new and write-locks it; returns its traits for last-write-wins.
// params: $space, $groupId, $now (ISO-8601)
// returns: traits, traitsMeta (JSON strings)
MERGE (a:Account {space: $space, groupId: $groupId})
ON CREATE SET a.createdAt = datetime($now), a.traits = '{}', a.traitsMeta = '{}'
SET a.updatedAt = datetime($now)
RETURN a.traits AS traits, a.traitsMeta AS traitsMeta
