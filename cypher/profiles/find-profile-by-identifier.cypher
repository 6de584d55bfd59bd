// find-profile-by-identifier: the live profile holding an identifier, with its identifiers and accounts.
// params: $space, $key (normalised "type:value")
// returns: id, createdAt, updatedAt (epoch ms), traits (JSON string), identifiers (list of {type, value}),
//          accounts (list of {groupId, traits, createdAt})
MATCH (:Identifier {space: $space, key: $key})-[:IDENTIFIES]->(p:Profile)
CALL (p) {
  MATCH (i:Identifier)-[:IDENTIFIES]->(p)
  WITH i ORDER BY i.type, i.value
  RETURN collect({type: i.type, value: i.value}) AS identifiers
}
CALL (p) {
  OPTIONAL MATCH (p)-[:MEMBER_OF]->(a:Account)
  WITH a ORDER BY a.groupId
  RETURN collect({groupId: a.groupId, traits: a.traits, createdAt: a.createdAt.epochMillis}) AS accounts
}
RETURN p.id AS id, p.createdAt.epochMillis AS createdAt, p.updatedAt.epochMillis AS updatedAt,
       p.traits AS traits, identifiers, accounts
