// attach-event: gives the profile the event's new identifiers, hangs the event off the identifiers that
// carried it, and records the evidence that those identifiers were seen together (a star around the
// most trusted one), so that explain and unmerge need no re-ingestion.
// params: $space, $profileId, $messageId, $add (keys to attach), $kept (keys the event resolved with),
//         $anchor (key), $at (event time ISO-8601), $now (ISO-8601), $traits, $traitsMeta (JSON strings,
//         or null when unchanged), $traitProps (map of `trait.<key>` properties to set, null values
//         remove; empty when unchanged), $receivedAt (ISO-8601), $violations (JSON string)
// returns: added, linked
MATCH (p:Profile {id: $profileId})
MATCH (e:Event {space: $space, messageId: $messageId})
SET p.updatedAt = datetime($now), p.traits = coalesce($traits, p.traits),
    p.traitsMeta = coalesce($traitsMeta, p.traitsMeta), e.violations = $violations, e.resolvedTo = p.id,
    p.firstEventAt = CASE WHEN p.firstEventAt IS NULL OR datetime($at) < p.firstEventAt THEN datetime($at)
                     ELSE p.firstEventAt END,
    p.lastEventAt = CASE WHEN p.lastEventAt IS NULL OR datetime($at) > p.lastEventAt THEN datetime($at)
                    ELSE p.lastEventAt END,
    p.firstSeenAt = CASE WHEN p.firstSeenAt IS NULL OR datetime($receivedAt) < p.firstSeenAt
                    THEN datetime($receivedAt) ELSE p.firstSeenAt END,
    p.lastSeenAt = CASE WHEN p.lastSeenAt IS NULL OR datetime($receivedAt) > p.lastSeenAt
                   THEN datetime($receivedAt) ELSE p.lastSeenAt END
SET p += $traitProps
WITH p, e
CALL (p) {
  UNWIND $add AS key
  MATCH (i:Identifier {space: $space, key: key})
  CREATE (i)-[:IDENTIFIES {since: datetime($at), by: $messageId}]->(p)
  RETURN count(i) AS added
}
CALL (e) {
  UNWIND $kept AS key
  MATCH (i:Identifier {space: $space, key: key})
  CREATE (e)-[:FROM]->(i)
  RETURN count(i) AS linked
}
CALL () {
  MATCH (a:Identifier {space: $space, key: $anchor})
  UNWIND [k IN $kept WHERE k <> $anchor] AS key
  MATCH (b:Identifier {space: $space, key: key})
  MERGE (a)-[w:SEEN_WITH]->(b)
  ON CREATE SET w.firstMessageId = $messageId, w.firstAt = datetime($at), w.lastAt = datetime($at), w.count = 0
  SET w.count = w.count + 1, w.lastAt = CASE WHEN w.lastAt < datetime($at) THEN datetime($at) ELSE w.lastAt END
  RETURN count(w) AS seen
}
RETURN added, linked
