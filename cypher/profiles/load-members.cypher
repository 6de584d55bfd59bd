// load-members: one page of the member profiles of several accounts, keyset-paged on (createdAt, id).
// params: $space, $groupIds (list), $first (page size + 1), $afterCreated (epoch ms or null), $afterId
// returns: groupId, members (list of {id, createdAt, updatedAt, firstEventAt, lastEventAt, firstSeenAt,
//          lastSeenAt (epoch ms or null), traits, traitsMeta})
UNWIND $groupIds AS wanted
MATCH (a:Account {space: $space, groupId: wanted})
CALL (a) {
  MATCH (p:Profile)-[:MEMBER_OF]->(a)
  WITH p, p.createdAt.epochMillis AS c
  WHERE $afterCreated IS NULL OR c > $afterCreated OR (c = $afterCreated AND p.id > $afterId)
  WITH p, c ORDER BY c, p.id
  LIMIT $first
  RETURN collect({id: p.id, createdAt: c, updatedAt: p.updatedAt.epochMillis,
                  firstEventAt: p.firstEventAt.epochMillis, lastEventAt: p.lastEventAt.epochMillis,
                  firstSeenAt: p.firstSeenAt.epochMillis, lastSeenAt: p.lastSeenAt.epochMillis,
                  traits: p.traits, traitsMeta: p.traitsMeta}) AS members
}
RETURN wanted AS groupId, members
