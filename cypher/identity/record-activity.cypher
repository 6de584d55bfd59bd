// record-activity: the bookkeeping of fast-path events, batched (docs/adr/0018-event-store.md): when
// profiles saw events (first and last event time and receipt), identifiers' firstSeen where an event was
// older, and evidence edges for pairs seen together for the first time (ADR 0019: nothing else of a
// fast-path event reaches the graph). Every write is a min or a max, so the order of flushes does not
// matter. A profile merged away since is followed to its survivor (one MERGED_INTO hop).
// params: $space,
//   $profiles (list of {id, firstEventAt, lastEventAt, firstSeenAt, lastSeenAt (ISO-8601)}, sorted by id),
//   $identifiers (list of {key, first (ISO-8601)}, sorted by key),
//   $pairs (list of {from, to (keys), messageId, firstAt (ISO-8601)})
// returns: profiles, identifiers, pairs (counts written)
CALL () {
  UNWIND $profiles AS row
  MATCH (asked:Profile {id: row.id})
  OPTIONAL MATCH (asked)-[:MERGED_INTO]->(survivor:Profile)
  WITH row, coalesce(survivor, asked) AS p
  SET p.firstEventAt = CASE WHEN p.firstEventAt IS NULL OR datetime(row.firstEventAt) < p.firstEventAt
                            THEN datetime(row.firstEventAt) ELSE p.firstEventAt END,
      p.lastEventAt = CASE WHEN p.lastEventAt IS NULL OR datetime(row.lastEventAt) > p.lastEventAt
                           THEN datetime(row.lastEventAt) ELSE p.lastEventAt END,
      p.firstSeenAt = CASE WHEN p.firstSeenAt IS NULL OR datetime(row.firstSeenAt) < p.firstSeenAt
                           THEN datetime(row.firstSeenAt) ELSE p.firstSeenAt END,
      p.lastSeenAt = CASE WHEN p.lastSeenAt IS NULL OR datetime(row.lastSeenAt) > p.lastSeenAt
                          THEN datetime(row.lastSeenAt) ELSE p.lastSeenAt END
  RETURN count(p) AS profiles
}
CALL () {
  UNWIND $identifiers AS row
  MATCH (i:Identifier {space: $space, key: row.key})
  WHERE datetime(row.first) < i.firstSeen
  SET i.firstSeen = datetime(row.first)
  RETURN count(i) AS identifiers
}
CALL () {
  UNWIND $pairs AS pair
  MATCH (a:Identifier {space: $space, key: pair.from})
  MATCH (b:Identifier {space: $space, key: pair.to})
  MERGE (a)-[w:SEEN_WITH]->(b)
  ON CREATE SET w.firstMessageId = pair.messageId, w.firstAt = datetime(pair.firstAt)
  WITH w, pair
  CALL (w, pair) {
    WITH w, pair WHERE datetime(pair.firstAt) < w.firstAt
    SET w.firstMessageId = pair.messageId, w.firstAt = datetime(pair.firstAt)
  }
  RETURN count(w) AS pairs
}
RETURN profiles, identifiers, pairs
