// create-profiles (bench seeding): live profiles with their identifiers, in the shape that ingestion leaves
// (cypher/identity/lock-identifiers, then the profiles, links and updates parts of write-batch together).
// params: $space, $profiles (list of {id, createdAt, updatedAt, firstEventAt, lastEventAt, firstSeenAt,
//         lastSeenAt (ISO-8601), traits, traitsMeta (JSON strings), traitProps (map of `trait.<key>`),
//         identifiers (list of {key, type, value, firstSeen, since (ISO-8601), by (messageId)})})
// returns: created
UNWIND $profiles AS row
CREATE (p:Profile {id: row.id, space: $space, createdAt: datetime(row.createdAt),
                   updatedAt: datetime(row.updatedAt), mergeCount: 0, traits: row.traits,
                   traitsMeta: row.traitsMeta, firstEventAt: datetime(row.firstEventAt),
                   lastEventAt: datetime(row.lastEventAt), firstSeenAt: datetime(row.firstSeenAt),
                   lastSeenAt: datetime(row.lastSeenAt)})
SET p += row.traitProps
WITH p, row
CALL (p, row) {
  UNWIND row.identifiers AS id
  CREATE (i:Identifier {space: $space, key: id.key, type: id.type, value: id.value,
                        firstSeen: datetime(id.firstSeen)})
  CREATE (i)-[:IDENTIFIES {since: datetime(id.since), by: id.by}]->(p)
  RETURN count(i) AS identifiers
}
RETURN count(p) AS created
