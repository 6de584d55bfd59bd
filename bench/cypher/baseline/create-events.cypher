// create-events (graph-events raw baseline): events as Neo4j nodes with FROM edges to the identifiers they
// carried, as cypher/identity/write-batch wrote them before events moved to PostgreSQL (issue 12), kept as
// the old design's reference. Needs create-event-constraint and create-event-timestamp-index.
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
