// list-legacy-events: the first page, in messageId order, of a space's Event nodes as the version before
// the event store wrote them (identity/write-batch.cypher at 85d8c05), with the keys of the identifiers
// each resolved with (its FROM edges). A page moved to PostgreSQL is deleted, so the first page is always
// the next one and a page left by a crash is read again (docs/adr/0018-event-store.md).
// params: $space, $limit
// returns: messageId, type, event, name, category, userId, anonymousId, previousId, groupId,
//          properties, traits, context, integrations, violations, warnings (JSON text or null),
//          timestamp, receivedAt, sentAt, originalTimestamp (epoch ms or null), keys (identifier keys)
MATCH (e:Event)
WHERE e.space = $space AND e.messageId IS NOT NULL
WITH e
ORDER BY e.space, e.messageId
LIMIT $limit
OPTIONAL MATCH (e)-[:FROM]->(i:Identifier)
WITH e, collect(i.key) AS keys
ORDER BY e.messageId
RETURN e.messageId AS messageId, e.type AS type, e.event AS event, e.name AS name, e.category AS category,
       e.userId AS userId, e.anonymousId AS anonymousId, e.previousId AS previousId, e.groupId AS groupId,
       e.properties AS properties, e.traits AS traits, e.context AS context, e.integrations AS integrations,
       e.violations AS violations, e.warnings AS warnings, e.timestamp.epochMillis AS timestamp,
       e.receivedAt.epochMillis AS receivedAt, e.sentAt.epochMillis AS sentAt,
       e.originalTimestamp.epochMillis AS originalTimestamp, keys
