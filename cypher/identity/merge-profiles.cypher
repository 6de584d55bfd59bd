// merge-profiles: merges one profile into the survivor as a graph rewrite (ARCHITECTURE.md). Only
// IDENTIFIES, MEMBER_OF and older tombstone edges are re-pointed; events stay on their identifiers, so the
// cost does not grow with history. The merged-away profile stays as a tombstone one MERGED_INTO hop from
// the survivor, and the edge records what moved, so the state before can be reconstructed. The survivor's
// counters and traits are written afterwards by update-profiles.
// params: $survivorId, $mergedId, $messageId, $now (ISO-8601), $reason, $identifiers (keys that moved)
// returns: mergedId, accounts (group ids whose membership moved)
MATCH (s:Profile {id: $survivorId})
MATCH (m:Profile {id: $mergedId})
WHERE m.merged IS NULL
CALL (m, s) {
  OPTIONAL MATCH (i:Identifier)-[r:IDENTIFIES]->(m)
  WITH i, r
  WHERE r IS NOT NULL
  CREATE (i)-[:IDENTIFIES {since: r.since, by: r.by, movedFrom: m.id, movedAt: datetime($now)}]->(s)
  DELETE r
  RETURN count(i) AS moved
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
CREATE (m)-[:MERGED_INTO {at: datetime($now), by: $messageId, reason: $reason, identifiers: $identifiers,
                          accounts: accounts}]->(s)
SET m.merged = true, m.mergedAt = datetime($now)
RETURN m.id AS mergedId, accounts
