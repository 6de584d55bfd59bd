// find-events: which of these messageIds the space already stores (deduplication, SEMANTICS.md §1).
// params: $space, $messageIds (list)
// returns: messageId (one row per stored event)
UNWIND $messageIds AS messageId
MATCH (e:Event {space: $space, messageId: messageId})
RETURN e.messageId AS messageId
