// load-accounts: the accounts several profiles belong to.
// params: $ids (list of profile ids)
// returns: profileId, accounts (list of {groupId, traits, createdAt (epoch ms), memberCount})
UNWIND $ids AS profileId
MATCH (p:Profile {id: profileId})
CALL (p) {
  OPTIONAL MATCH (p)-[:MEMBER_OF]->(a:Account)
  WITH a ORDER BY a.groupId
  WHERE a IS NOT NULL
  RETURN collect({groupId: a.groupId, traits: a.traits, createdAt: a.createdAt.epochMillis,
                  memberCount: COUNT { (:Profile)-[:MEMBER_OF]->(a) }}) AS accounts
}
RETURN profileId, accounts
