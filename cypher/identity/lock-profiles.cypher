// lock-profiles: write-locks live profiles (ids sorted) and reads what the resolution algorithm needs.
// params: $ids (list of profile ids, sorted)
// returns: id, createdAt, firstEventAt, lastEventAt, firstSeenAt, lastSeenAt (epoch ms or null),
//          mergeCount, traits, traitsMeta (JSON strings), identifiers (list of {key, type, value, addedAt})
UNWIND $ids AS pid
MATCH (p:Profile {id: pid})
SET p._lock = true
REMOVE p._lock
WITH p
CALL (p) {
  MATCH (i:Identifier)-[r:IDENTIFIES]->(p)
  RETURN collect({key: i.key, type: i.type, value: i.value, addedAt: r.since.epochMillis}) AS identifiers
}
RETURN p.id AS id, p.createdAt.epochMillis AS createdAt, p.mergeCount AS mergeCount,
       p.firstEventAt.epochMillis AS firstEventAt, p.lastEventAt.epochMillis AS lastEventAt,
       p.firstSeenAt.epochMillis AS firstSeenAt, p.lastSeenAt.epochMillis AS lastSeenAt,
       p.traits AS traits, p.traitsMeta AS traitsMeta, identifiers
