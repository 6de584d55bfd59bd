// next-legacy-event-space: the first space after a space id that still holds Event nodes of the version
// before the event store, read from the (space, messageId) index of the old event_message_id constraint
// while it exists.
// params: $after (a space id; '' for the first)
// returns: space (no row when no later space holds any)
MATCH (e:Event)
WHERE e.space > $after AND e.messageId IS NOT NULL
WITH e
ORDER BY e.space, e.messageId
LIMIT 1
RETURN e.space AS space
