// link-account: writes the account's traits and makes the profile a member (SEMANTICS.md §5).
// params: $space, $groupId, $profileId, $traits, $traitsMeta (JSON strings), $at (event time ISO-8601)
// returns: groupId
MATCH (a:Account {space: $space, groupId: $groupId})
MATCH (p:Profile {id: $profileId})
SET a.traits = $traits, a.traitsMeta = $traitsMeta
MERGE (p)-[m:MEMBER_OF]->(a)
ON CREATE SET m.since = datetime($at)
RETURN a.groupId AS groupId
