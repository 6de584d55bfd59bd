// load-profiles: profiles by id; a merged-away id answers with its survivor (one MERGED_INTO hop).
// params: $space, $ids (list of profile ids)
// returns: requestedId, then the live profile's id, createdAt, updatedAt, firstEventAt, lastEventAt,
//          firstSeenAt, lastSeenAt (epoch ms or null), traits, traitsMeta (JSON strings)
UNWIND $ids AS requestedId
MATCH (asked:Profile {id: requestedId})
WHERE asked.space = $space
OPTIONAL MATCH (asked)-[:MERGED_INTO]->(survivor:Profile)
WITH requestedId, coalesce(survivor, asked) AS p
RETURN requestedId, p.id AS id, p.createdAt.epochMillis AS createdAt, p.updatedAt.epochMillis AS updatedAt,
       p.firstEventAt.epochMillis AS firstEventAt, p.lastEventAt.epochMillis AS lastEventAt,
       p.firstSeenAt.epochMillis AS firstSeenAt, p.lastSeenAt.epochMillis AS lastSeenAt,
       p.traits AS traits, p.traitsMeta AS traitsMeta
