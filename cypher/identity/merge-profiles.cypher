// merge-profiles: merges profiles into the survivor as a graph rewrite (ARCHITECTURE.md). Only IDENTIFIES,
// MEMBER_OF and older tombstone edges are re-pointed; events stay on their identifiers, so the cost does
// not grow with history. The merged-away profile stays as a tombstone one MERGED_INTO hop from the survivor,
// and the edge records what moved, so the state before can be reconstructed.
// params: $survivorId, $mergedIds (list), $messageId, $now (ISO-8601), $reason
// returns: mergedId, moved (identifier keys), accounts (group ids)
MATCH (s:Profile {id: $survivorId})
UNWIND $mergedIds AS mid
MATCH (m:Profile {id: mid})
WHERE coalesce(m.merged, false) = false
CALL (m, s) {
  MATCH (i:Identifier)-[r:IDENTIFIES]->(m)
  CREATE (i)-[:IDENTIFIES {since: r.since, by: r.by, movedFrom: m.id, movedAt: datetime($now)}]->(s)
  DELETE r
  RETURN collect(i.key) AS moved
}
CALL (m, s) {
  OPTIONAL MATCH (m)-[ms:MEMBER_OF]->(a:Account)
  WITH ms, a
  WHERE a IS NOT NULL
  MERGE (s)-[n:MEMBER_OF]->(a)
  ON CREATE SET n.since = ms.since
  DELETE ms
  RETURN collect(a.groupId) AS accounts
}
CALL (m, s) {
  OPTIONAL MATCH (old:Profile)-[t:MERGED_INTO]->(m)
  WITH old, t
  WHERE old IS NOT NULL
  CREATE (old)-[:MERGED_INTO {at: t.at, by: t.by, reason: t.reason, identifiers: t.identifiers,
                              accounts: t.accounts, via: m.id}]->(s)
  DELETE t
  RETURN count(old) AS repointed
}
CREATE (m)-[:MERGED_INTO {at: datetime($now), by: $messageId, reason: $reason, identifiers: moved,
                          accounts: accounts}]->(s)
SET m.merged = true, m.mergedAt = datetime($now),
    s.mergeCount = s.mergeCount + coalesce(m.mergeCount, 0) + 1, s.updatedAt = datetime($now),
    s.firstEventAt = CASE WHEN s.firstEventAt IS NULL OR m.firstEventAt < s.firstEventAt THEN m.firstEventAt
                     ELSE s.firstEventAt END,
    s.lastEventAt = CASE WHEN s.lastEventAt IS NULL OR m.lastEventAt > s.lastEventAt THEN m.lastEventAt
                    ELSE s.lastEventAt END,
    s.firstSeenAt = CASE WHEN s.firstSeenAt IS NULL OR m.firstSeenAt < s.firstSeenAt THEN m.firstSeenAt
                    ELSE s.firstSeenAt END,
    s.lastSeenAt = CASE WHEN s.lastSeenAt IS NULL OR m.lastSeenAt > s.lastSeenAt THEN m.lastSeenAt
                   ELSE s.lastSeenAt END
RETURN m.id AS mergedId, moved, accounts
