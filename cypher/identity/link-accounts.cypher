// link-accounts: writes accounts' traits and makes profiles members (SEMANTICS.md §5).
// params: $space, $accounts (list of {groupId, traits, traitsMeta}), $members (list of {groupId,
//         profileId, since (event time, ISO-8601)})
// returns: linked
UNWIND $accounts AS row
MATCH (a:Account {space: $space, groupId: row.groupId})
SET a.traits = row.traits, a.traitsMeta = row.traitsMeta
WITH count(a) AS written
UNWIND $members AS member
MATCH (a:Account {space: $space, groupId: member.groupId})
MATCH (p:Profile {id: member.profileId})
MERGE (p)-[m:MEMBER_OF]->(a)
ON CREATE SET m.since = datetime(member.since)
RETURN count(m) AS linked
