// write-batch: writes what the in-memory resolution of a batch decided (src/identity/batch.ts), after any
// merges: new profiles, identifiers they gained, the final state of every touched live profile, the
// events with their FROM edges, and the evidence of identifiers seen together. One statement per batch.
// The uniqueness constraint on (space, messageId) turns a duplicate that a concurrent writer stored first
// into a constraint failure; the caller then re-runs the batch.
// params: $space, $now (ISO-8601),
//   $profiles (new: list of {id, createdAt}),
//   $links (list of {key, profileId, since (event time), by (messageId)}),
//   $updates (list of {id, traits, traitsMeta (JSON strings), traitProps (map; null values remove),
//            mergeCount, firstEventAt, lastEventAt, firstSeenAt, lastSeenAt (ISO-8601 or null)}),
//   $events (list of {messageId, type, event, name, category, userId, anonymousId, previousId, groupId,
//            properties, traits, context, integrations (JSON strings or null), timestamp, receivedAt,
//            sentAt, originalTimestamp (ISO-8601 or null), violations, warnings (JSON strings), resolvedTo,
//            keys}),
//   $pairs (list of {from, to (keys), messageId, firstAt, lastAt (ISO-8601), count})
// returns: profiles, links, updates, events, pairs (counts written)
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
  UNWIND $events AS ev
  CREATE (e:Event {space: $space, messageId: ev.messageId})
  SET e.type = ev.type, e.event = ev.event, e.name = ev.name, e.category = ev.category,
      e.userId = ev.userId, e.anonymousId = ev.anonymousId, e.previousId = ev.previousId,
      e.groupId = ev.groupId, e.properties = ev.properties, e.traits = ev.traits,
      e.context = ev.context, e.integrations = ev.integrations,
      e.timestamp = datetime(ev.timestamp), e.receivedAt = datetime(ev.receivedAt),
      e.sentAt = CASE WHEN ev.sentAt IS NULL THEN null ELSE datetime(ev.sentAt) END,
      e.originalTimestamp = CASE WHEN ev.originalTimestamp IS NULL THEN null
                            ELSE datetime(ev.originalTimestamp) END,
      e.violations = ev.violations, e.warnings = ev.warnings, e.resolvedTo = ev.resolvedTo
  WITH e, ev
  CALL (e, ev) {
    UNWIND ev.keys AS carried
    MATCH (i:Identifier {space: $space, key: carried})
    CREATE (e)-[:FROM]->(i)
    RETURN count(i) AS linked
  }
  RETURN count(e) AS events
}
CALL () {
  UNWIND $pairs AS pair
  MATCH (a:Identifier {space: $space, key: pair.from})
  MATCH (b:Identifier {space: $space, key: pair.to})
  MERGE (a)-[w:SEEN_WITH]->(b)
  ON CREATE SET w.firstMessageId = pair.messageId, w.firstAt = datetime(pair.firstAt),
                w.lastAt = datetime(pair.lastAt), w.count = 0
  SET w.count = w.count + pair.count,
      w.firstAt = CASE WHEN datetime(pair.firstAt) < w.firstAt THEN datetime(pair.firstAt) ELSE w.firstAt END,
      w.lastAt = CASE WHEN datetime(pair.lastAt) > w.lastAt THEN datetime(pair.lastAt) ELSE w.lastAt END
  RETURN count(w) AS pairs
}
RETURN profiles, links, updates, events, pairs
