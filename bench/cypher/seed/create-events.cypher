// create-events (bench seeding): the events part of cypher/identity/write-batch (Event nodes and their FROM
// edges), kept here so that seeding and the raw baselines do not change when the engine's write path does.
// params: $space, $events (list of {messageId, type, event, name, category, userId, anonymousId, previousId,
//         groupId, properties, traits, context, integrations (JSON strings or null), timestamp, receivedAt,
//         sentAt, originalTimestamp (ISO-8601 strings or null), violations (JSON string), resolvedTo, keys})
// returns: created
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
    e.violations = ev.violations, e.resolvedTo = ev.resolvedTo
WITH e, ev
CALL (e, ev) {
  UNWIND ev.keys AS key
  MATCH (i:Identifier {space: $space, key: key})
  CREATE (e)-[:FROM]->(i)
  RETURN count(i) AS linked
}
RETURN count(e) AS created
