// create-event: stores an event unless its messageId is already known in the space (deduplication,
// SEMANTICS.md §1). The uniqueness constraint on (space, messageId) settles concurrent duplicates.
// params: $space, $event {messageId, type, event, name, category, userId, anonymousId, previousId, groupId,
//         properties, traits, context, integrations (JSON strings or null),
//         timestamp, receivedAt, sentAt, originalTimestamp (ISO-8601 strings or null)}
// returns: created (boolean)
OPTIONAL MATCH (existing:Event {space: $space, messageId: $event.messageId})
WITH existing
WHERE existing IS NULL
CREATE (e:Event {space: $space, messageId: $event.messageId})
SET e.type = $event.type, e.event = $event.event, e.name = $event.name, e.category = $event.category,
    e.userId = $event.userId, e.anonymousId = $event.anonymousId, e.previousId = $event.previousId,
    e.groupId = $event.groupId, e.properties = $event.properties, e.traits = $event.traits,
    e.context = $event.context, e.integrations = $event.integrations,
    e.timestamp = datetime($event.timestamp), e.receivedAt = datetime($event.receivedAt),
    e.sentAt = CASE WHEN $event.sentAt IS NULL THEN null ELSE datetime($event.sentAt) END,
    e.originalTimestamp = CASE WHEN $event.originalTimestamp IS NULL THEN null
                          ELSE datetime($event.originalTimestamp) END
RETURN true AS created
