// find-profile-by-identifier: the live profile holding an identifier.
// params: $space, $key (normalised "type:value")
// returns: id, createdAt, updatedAt, firstEventAt, lastEventAt, firstSeenAt, lastSeenAt (epoch ms or null),
//          traits, traitsMeta (JSON strings)
MATCH (:Identifier {space: $space, key: $key})-[:IDENTIFIES]->(p:Profile)
RETURN p.id AS id, p.createdAt.epochMillis AS createdAt, p.updatedAt.epochMillis AS updatedAt,
       p.firstEventAt.epochMillis AS firstEventAt, p.lastEventAt.epochMillis AS lastEventAt,
       p.firstSeenAt.epochMillis AS firstSeenAt, p.lastSeenAt.epochMillis AS lastSeenAt,
       p.traits AS traits, p.traitsMeta AS traitsMeta
