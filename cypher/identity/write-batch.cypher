// write-batch: writes what the in-memory resolution of a batch decided (src/identity/batch.ts), after any
// merges: new profiles, identifiers they gained, the final state of every touched live profile, and the
// evidence of identifiers seen together. One statement per batch. The events themselves are stored in
// PostgreSQL (docs/adr/0018-event-store.md).
// params: $space, $now (ISO-8601),
//   $profiles (new: list of {id, createdAt}),
//   $links (list of {key, profileId, since (event time), by (messageId)}),
//   $updates (list of {id, traits, traitsMeta (JSON strings), traitProps (map; null values remove),
//            mergeCount, firstEventAt, lastEventAt, firstSeenAt, lastSeenAt (ISO-8601 or null)}),
//   $pairs (list of {from, to (keys), messageId, firstAt (ISO-8601)}: the earliest event carrying both;
//          how often and how lately they were seen together is counted in the event store, ADR 0019)
// returns: profiles, links, updates, pairs (counts written)
CALL () {
  UNWIND $profiles AS row
  CREATE (p:Profile {id: row.id, space: $space, createdAt: datetime(row.createdAt),
                     updatedAt: datetime(row.createdAt), mergeCount: 0, traits: '{}', traitsMeta: '{}'})
  RETURN count(p) AS profiles
}
CALL () {
  UNWIND $links AS link
  MATCH (i:Identifier {space: $space, key: link.key})
  MATCH (p:Profile {id: link.profileId})
  CREATE (i)-[:IDENTIFIES {since: datetime(link.since), by: link.by}]->(p)
  RETURN count(*) AS links
}
CALL () {
  UNWIND $updates AS row
  MATCH (p:Profile {id: row.id})
  SET p.traits = row.traits, p.traitsMeta = row.traitsMeta, p.mergeCount = row.mergeCount,
      p.updatedAt = datetime($now),
      p.firstEventAt = CASE WHEN row.firstEventAt IS NULL THEN null ELSE datetime(row.firstEventAt) END,
      p.lastEventAt = CASE WHEN row.lastEventAt IS NULL THEN null ELSE datetime(row.lastEventAt) END,
      p.firstSeenAt = CASE WHEN row.firstSeenAt IS NULL THEN null ELSE datetime(row.firstSeenAt) END,
      p.lastSeenAt = CASE WHEN row.lastSeenAt IS NULL THEN null ELSE datetime(row.lastSeenAt) END
  SET p += row.traitProps
  RETURN count(p) AS updates
}
CALL () {
  UNWIND $pairs AS pair
  MATCH (a:Identifier {space: $space, key: pair.from})
  MATCH (b:Identifier {space: $space, key: pair.to})
  MERGE (a)-[w:SEEN_WITH]->(b)
  ON CREATE SET w.firstMessageId = pair.messageId, w.firstAt = datetime(pair.firstAt)
  WITH w, pair
  // An edge already there is written only by an earlier event (one sent late).
  CALL (w, pair) {
    WITH w, pair WHERE datetime(pair.firstAt) < w.firstAt
    SET w.firstMessageId = pair.messageId, w.firstAt = datetime(pair.firstAt)
  }
  RETURN count(w) AS pairs
}
RETURN profiles, links, updates, pairs
