// search-profiles: live profiles of a space matching every given filter, keyset-paged on (createdAt, id).
// params: $space, $first (page size + 1), $identifierType (or null), $traitProp (`trait.<key>` or null),
//         $traitExists (boolean or null), $traitEquals (scalar or null), $traitPrefix (string or null),
//         $seenAfter, $seenBefore (epoch ms or null: last event at or after / first event before),
//         $afterCreated (epoch ms or null), $afterId (profile id or null): the cursor
// returns: id, createdAt, updatedAt, firstEventAt, lastEventAt, firstSeenAt, lastSeenAt (epoch ms or null),
//          traits, traitsMeta (JSON strings)
MATCH (p:Profile {space: $space})
WHERE p.merged IS NULL
  AND ($identifierType IS NULL
       OR EXISTS { (i:Identifier)-[:IDENTIFIES]->(p) WHERE i.type = $identifierType })
  AND ($traitExists IS NULL OR (p[$traitProp] IS NOT NULL) = $traitExists)
  AND ($traitEquals IS NULL OR p[$traitProp] = $traitEquals)
  AND ($traitPrefix IS NULL OR p[$traitProp] STARTS WITH $traitPrefix)
  AND ($seenAfter IS NULL OR p.lastEventAt.epochMillis >= $seenAfter)
  AND ($seenBefore IS NULL OR p.firstEventAt.epochMillis < $seenBefore)
WITH p, p.createdAt.epochMillis AS c
WHERE $afterCreated IS NULL OR c > $afterCreated OR (c = $afterCreated AND p.id > $afterId)
RETURN p.id AS id, c AS createdAt, p.updatedAt.epochMillis AS updatedAt,
       p.firstEventAt.epochMillis AS firstEventAt, p.lastEventAt.epochMillis AS lastEventAt,
       p.firstSeenAt.epochMillis AS firstSeenAt, p.lastSeenAt.epochMillis AS lastSeenAt,
       p.traits AS traits, p.traitsMeta AS traitsMeta
ORDER BY createdAt, id
LIMIT $first
